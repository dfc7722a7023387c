/** The PR comments as markdown, and which pull request (and whether a fork's) an event is about. */
import { afterAll, describe, expect, it } from '@jest/globals'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { forkRefusal, readPullRequestEvent } from '../../src/github/event.js'
import { gitHubTarget } from '../../src/github/client.js'
import {
  planComment,
  planMarker,
  prEnvironmentComment,
  prEnvironmentMarker,
  type PrEnvironmentComment
} from '../../src/report/prComment.js'

const dir = mkdtempSync(join(tmpdir(), 'pr-event-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

let files = 0
function eventFile(payload: unknown): string {
  const path = join(dir, `event-${++files}.json`)
  writeFileSync(path, JSON.stringify(payload))
  return path
}

function prPayload(head: string | null, base = 'octo/mlflow', extra: Record<string, unknown> = {}): unknown {
  return {
    action: 'synchronize',
    number: 7,
    pull_request: {
      number: 7,
      state: 'open',
      head: { ref: 'feature', repo: head === null ? null : { full_name: head } },
      base: { ref: 'main', repo: { full_name: base } },
      ...extra
    },
    repository: { full_name: base }
  }
}

const ready: PrEnvironmentComment = {
  stackName: 'pr-7',
  prNumber: 7,
  state: 'ready',
  trackingUri: 'https://pr-7-mlflow.example.azurecontainerapps.io',
  appName: 'pr-7-mlflow',
  revision: 'pr-7-mlflow--r3',
  smoke: { passed: true, steps: [{ name: 'log a run', status: 'passed' }] },
  expiresAt: '2026-12-08T14:05:59.123Z',
  runUrl: 'https://github.com/octo/mlflow/actions/runs/42'
}

describe('readPullRequestEvent', () => {
  it('reads a pull_request from the same repository', () => {
    const e = readPullRequestEvent({
      GITHUB_EVENT_NAME: 'pull_request',
      GITHUB_EVENT_PATH: eventFile(prPayload('octo/mlflow'))
    })
    expect(e).toEqual({
      number: 7,
      baseRepository: 'octo/mlflow',
      headRepository: 'octo/mlflow',
      fromFork: false,
      state: 'open',
      action: 'synchronize'
    })
  })

  it('compares repositories case-insensitively', () => {
    const e = readPullRequestEvent({
      GITHUB_EVENT_NAME: 'pull_request',
      GITHUB_EVENT_PATH: eventFile(prPayload('Octo/MLflow'))
    })
    expect(e?.fromFork).toBe(false)
  })

  it('flags a fork, and a deleted fork (head.repo null)', () => {
    const fork = readPullRequestEvent({
      GITHUB_EVENT_NAME: 'pull_request',
      GITHUB_EVENT_PATH: eventFile(prPayload('mallory/mlflow'))
    })
    expect(fork).toMatchObject({
      fromFork: true,
      headRepository: 'mallory/mlflow',
      baseRepository: 'octo/mlflow'
    })
    const gone = readPullRequestEvent({
      GITHUB_EVENT_NAME: 'pull_request',
      GITHUB_EVENT_PATH: eventFile(prPayload(null))
    })
    expect(gone?.fromFork).toBe(true)
    expect(gone?.headRepository).toBeUndefined()
  })

  it('reads pull_request_target the same way (a fork is still a fork)', () => {
    const closed = prPayload('mallory/mlflow', 'octo/mlflow', { state: 'closed' }) as Record<string, unknown>
    closed['action'] = 'closed'
    const e = readPullRequestEvent({
      GITHUB_EVENT_NAME: 'pull_request_target',
      GITHUB_EVENT_PATH: eventFile(closed)
    })
    expect(e).toMatchObject({ number: 7, fromFork: true, state: 'closed', action: 'closed' })
  })

  it('reads an issue_comment on a PR, not one on a plain issue', () => {
    const onPr = {
      action: 'created',
      issue: {
        number: 9,
        state: 'open',
        pull_request: { url: 'https://api.github.com/repos/octo/mlflow/pulls/9' }
      },
      comment: { body: '/mlflow up' },
      repository: { full_name: 'octo/mlflow' }
    }
    expect(
      readPullRequestEvent({ GITHUB_EVENT_NAME: 'issue_comment', GITHUB_EVENT_PATH: eventFile(onPr) })
    ).toEqual({
      number: 9,
      baseRepository: 'octo/mlflow',
      fromFork: false,
      state: 'open',
      action: 'created'
    })
    const onIssue = { ...onPr, issue: { number: 10, state: 'open' } }
    expect(
      readPullRequestEvent({ GITHUB_EVENT_NAME: 'issue_comment', GITHUB_EVENT_PATH: eventFile(onIssue) })
    ).toBeUndefined()
  })

  it('is undefined for other events, a missing file or no path', () => {
    expect(
      readPullRequestEvent({
        GITHUB_EVENT_NAME: 'push',
        GITHUB_EVENT_PATH: eventFile({ ref: 'refs/heads/main' })
      })
    ).toBeUndefined()
    expect(
      readPullRequestEvent({
        GITHUB_EVENT_NAME: 'pull_request',
        GITHUB_EVENT_PATH: join(dir, 'missing.json')
      })
    ).toBeUndefined()
    expect(readPullRequestEvent({ GITHUB_EVENT_NAME: 'pull_request' })).toBeUndefined()
    expect(readPullRequestEvent({})).toBeUndefined()
  })

  it('refuses an event file that is not JSON, naming the path', () => {
    const path = join(dir, 'broken.json')
    writeFileSync(path, '{"pull_request": ')
    expect(() =>
      readPullRequestEvent({ GITHUB_EVENT_NAME: 'pull_request', GITHUB_EVENT_PATH: path })
    ).toThrow(path)
  })
})

describe('forkRefusal', () => {
  it('names the PR, the fork, the reason and the guard', () => {
    const m = forkRefusal({
      number: 7,
      baseRepository: 'octo/mlflow',
      headRepository: 'mallory/mlflow',
      fromFork: true
    })
    expect(m).toContain('PR #7')
    expect(m).toContain('mallory/mlflow')
    expect(m).toContain('id-token: none')
    expect(m).toContain('read-only GITHUB_TOKEN')
    expect(m).toContain('if: github.event.pull_request.head.repo.full_name == github.repository')
    expect(forkRefusal({ number: 8, baseRepository: 'octo/mlflow', fromFork: true })).toContain(
      'a fork that no longer exists'
    )
  })
})

describe('gitHubTarget', () => {
  it('needs a token and owner/repo; defaults the API URL', () => {
    expect(gitHubTarget({ GITHUB_REPOSITORY: 'octo/mlflow' }, 't')).toEqual({
      apiUrl: 'https://api.github.com',
      token: 't',
      owner: 'octo',
      repo: 'mlflow'
    })
    expect(
      gitHubTarget({ GITHUB_REPOSITORY: 'octo/mlflow', GITHUB_API_URL: 'https://ghe.example/api/v3/' }, 't')
        ?.apiUrl
    ).toBe('https://ghe.example/api/v3')
    expect(gitHubTarget({ GITHUB_REPOSITORY: 'octo/mlflow' }, undefined)).toBeUndefined()
    expect(gitHubTarget({ GITHUB_REPOSITORY: 'octo/mlflow' }, '')).toBeUndefined()
    expect(gitHubTarget({}, 't')).toBeUndefined()
    expect(gitHubTarget({ GITHUB_REPOSITORY: 'octo' }, 't')).toBeUndefined()
  })
})

describe('prEnvironmentComment', () => {
  it('starts with the marker and shows the table', () => {
    const body = prEnvironmentComment(ready)
    expect(body.startsWith(prEnvironmentMarker('pr-7'))).toBe(true)
    expect(prEnvironmentMarker('pr-7')).toBe('<!-- mlflow-azure-action:pr-env:pr-7 -->')
    expect(body).toContain('### MLflow for PR #7')
    expect(body).toContain(
      '| MLflow URL | [https://pr-7-mlflow.example.azurecontainerapps.io](https://pr-7-mlflow.example.azurecontainerapps.io) |'
    )
    expect(body).toContain('| Revision | `pr-7-mlflow--r3` |')
    expect(body).toContain('| Smoke test | ✅ passed |')
    expect(body).toContain('| Expires | 2026-12-08 14:05 UTC |')
    expect(body).toContain('[Workflow run](https://github.com/octo/mlflow/actions/runs/42)')
  })

  it('names the failing smoke step', () => {
    const body = prEnvironmentComment({
      ...ready,
      smoke: {
        passed: false,
        steps: [
          { name: 'health', status: 'passed' },
          { name: 'log an artifact', status: 'failed', detail: 'HTTP 403 from blob' },
          { name: 'read it back', status: 'skipped' }
        ]
      }
    })
    expect(body).toContain('| Smoke test | ❌ failed at log an artifact: HTTP 403 from blob |')
  })

  it('says when and why a removed environment went away', () => {
    const body = prEnvironmentComment({
      ...ready,
      state: 'removed',
      removedAt: '2026-12-09T08:00:00Z',
      reason: 'PR closed'
    })
    expect(body.startsWith(prEnvironmentMarker('pr-7'))).toBe(true)
    expect(body).toContain('was removed on 2026-12-09 08:00 UTC: PR closed')
    expect(body).not.toContain('| MLflow URL |')
  })

  it('gives the reason of a failure', () => {
    const body = prEnvironmentComment({
      ...ready,
      state: 'failed',
      trackingUri: undefined,
      smoke: undefined,
      reason: 'quota exceeded'
    })
    expect(body).toContain('could not be brought up: quota exceeded')
  })

  it('neutralises @mentions and HTML in free text', () => {
    const body = prEnvironmentComment({
      ...ready,
      state: 'failed',
      reason:
        'ask @octocat or @octo/admins <img src=x onerror=alert(1)> <!-- mlflow-azure-action:pr-env:pr-7 --> [x](https://evil.example)',
      smoke: {
        passed: false,
        steps: [{ name: 'ping @root', status: 'failed', detail: '<script>alert(1)</script> | @here' }]
      }
    })
    expect(body).not.toMatch(/@[A-Za-z0-9]/)
    expect(body).toContain('@\u200boctocat')
    expect(body).toContain('@\u200bocto/admins')
    expect(body).not.toContain('<img')
    expect(body).not.toContain('<script')
    expect(body).toContain('&lt;img src=x onerror=alert(1)&gt;')
    expect(body).not.toContain('[x](')
    // The marker appears once, at the start: a reason cannot plant a second one.
    expect(body.split('mlflow-azure-action:pr-env:pr-7 -->').length).toBe(2)
    // A pipe in a detail cannot break the table row.
    expect(body).toMatch(
      /\| Smoke test \| ❌ failed at ping @\u200broot: &lt;script&gt;.*\\\| @\u200bhere \|/
    )
  })

  it('refuses a stack name that could break out of the marker', () => {
    expect(() => prEnvironmentMarker('x -->')).toThrow('comment marker')
  })
})

describe('planComment', () => {
  it('starts with the marker and counts changes', () => {
    const body = planComment({ stackName: 'pr-7', planMarkdown: '| a | b |\n|---|---|', changes: 1 })
    expect(body.startsWith(planMarker('pr-7'))).toBe(true)
    expect(planMarker('pr-7')).toBe('<!-- mlflow-azure-action:plan:pr-7 -->')
    expect(body).toContain('### Plan for MLflow stack `pr-7`: 1 change')
    expect(body).not.toContain('<details>')
    expect(planComment({ stackName: 'pr-7', planMarkdown: '', changes: 0 })).toContain(': no changes')
  })

  it('folds a long plan into <details> and cuts one too long for a comment', () => {
    const long = Array.from({ length: 40 }, (_, i) => `| r${i} | create |`).join('\n')
    const body = planComment({
      stackName: 'pr-7',
      planMarkdown: long,
      changes: 40,
      runUrl: 'https://github.com/o/r/actions/runs/1'
    })
    expect(body).toContain('<details><summary>Show the plan</summary>\n\n| r0 | create |')
    expect(body).toContain('</details>')
    expect(body).toContain(': 40 changes')

    const huge = '```mermaid\n' + 'x'.repeat(100).concat('\n').repeat(2000)
    const cut = planComment({ stackName: 'pr-7', planMarkdown: huge, changes: 3 })
    expect(cut.length).toBeLessThan(65_536)
    expect(cut).toContain('cut to fit a comment')
    expect(cut.match(/```/g)?.length).toBe(2)
  })
})
