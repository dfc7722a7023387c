/**
 * The reusable workflows and the example callers fit together: what an example passes is what the
 * workflow it calls declares, what a workflow passes to the action is what action.yml declares, and
 * the workflows keep the safety rules (explicit permissions, deploys never cancelled half-way, no
 * pull_request_target). actionlint checks each file alone; this checks them against each other.
 */
import { describe, expect, it } from '@jest/globals'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parse } from 'yaml'

const ROOT = resolve(import.meta.dirname, '..', '..')
const WORKFLOWS = join(ROOT, '.github', 'workflows')
const EXAMPLES = join(ROOT, 'examples')

type YamlMap = Record<string, unknown>

function isMap(value: unknown): value is YamlMap {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function map(value: unknown): YamlMap {
  return isMap(value) ? value : {}
}

function load(path: string): YamlMap {
  const doc: unknown = parse(readFileSync(path, 'utf8'))
  if (!isMap(doc)) throw new Error(`${path} is not a YAML mapping`)
  return doc
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
}

const workflowFiles = yamlFiles(WORKFLOWS)
const exampleFiles = yamlFiles(EXAMPLES)
const workflows = new Map<string, YamlMap>(workflowFiles.map((f) => [f, load(join(WORKFLOWS, f))]))
const examples = new Map<string, YamlMap>(exampleFiles.map((f) => [f, load(join(EXAMPLES, f))]))
const actionInputs = Object.keys(map(load(join(ROOT, 'action.yml')).inputs))

/** The `on:` of a workflow as a map of event → settings, whatever form it was written in. */
function events(workflow: YamlMap): YamlMap {
  const on = workflow.on
  if (typeof on === 'string') return { [on]: null }
  if (Array.isArray(on)) return Object.fromEntries(on.map((e) => [String(e), null]))
  return map(on)
}

function workflowCall(workflow: YamlMap): YamlMap | undefined {
  const on = events(workflow)
  return 'workflow_call' in on ? map(on.workflow_call) : undefined
}

const reusable = [...workflows].filter(([, w]) => workflowCall(w) !== undefined)

type Declared = { type?: unknown; required?: unknown; default?: unknown }

function declared(workflow: YamlMap, kind: 'inputs' | 'secrets'): Record<string, Declared> {
  const section = map(map(workflowCall(workflow))[kind])
  return Object.fromEntries(Object.entries(section).map(([k, v]) => [k, map(v) as Declared]))
}

function isRequired(d: Declared): boolean {
  return d.required === true && d.default === undefined
}

/** `owner/mlflow-azure-action/.github/workflows/X.yml@ref` or `./.github/workflows/X.yml`. */
const REMOTE_CALL = /^([A-Za-z0-9-]+)\/mlflow-azure-action\/\.github\/workflows\/([^/@]+\.ya?ml)@(.+)$/
const LOCAL_CALL = /^\.\/\.github\/workflows\/([^/@]+\.ya?ml)$/

type Call = { job: string; file: string; owner?: string; ref?: string; body: YamlMap }

function calls(workflow: YamlMap): Call[] {
  return Object.entries(map(workflow.jobs)).flatMap(([job, raw]) => {
    const body = map(raw)
    if (typeof body.uses !== 'string') return []
    const remote = REMOTE_CALL.exec(body.uses)
    if (remote) return [{ job, file: remote[2]!, owner: remote[1]!, ref: remote[3]!, body }]
    const local = LOCAL_CALL.exec(body.uses)
    if (local) return [{ job, file: local[1]!, body }]
    throw new Error(`job '${job}' calls '${body.uses}', which is not a workflow of mlflow-azure-action`)
  })
}

const EXPRESSION = /^\s*\$\{\{[\s\S]*\}\}\s*$/

function typeMismatch(value: unknown, type: unknown): boolean {
  if (typeof value === 'string' && EXPRESSION.test(value)) return false
  if (type === 'boolean') return typeof value !== 'boolean'
  if (type === 'number') return typeof value !== 'number'
  return typeof value !== 'string'
}

// ---- permissions: a called workflow can only narrow what its caller grants ----

const LEVEL: Record<string, number> = { none: 0, read: 1, write: 2 }

function granted(permissions: unknown): (scope: string) => number {
  if (permissions === 'write-all') return () => 2
  if (permissions === 'read-all') return () => 1
  const m = map(permissions)
  return (scope) => LEVEL[String(m[scope] ?? 'none')] ?? 0
}

function requested(workflow: YamlMap): Record<string, number> {
  const need: Record<string, number> = {}
  for (const raw of Object.values(map(workflow.jobs))) {
    const perms = map(raw).permissions ?? workflow.permissions
    for (const [scope, level] of Object.entries(map(perms))) {
      need[scope] = Math.max(need[scope] ?? 0, LEVEL[String(level)] ?? 0)
    }
  }
  return need
}

// ---- the action's steps ----

const ACTION_PATHS = new Set(['./', './.mlflow-azure-action'])
const READ_ONLY_COMMANDS = new Set(['plan', 'smoke-test'])

type ActionStep = { job: string; index: number; step: YamlMap; with: YamlMap }

function actionSteps(workflow: YamlMap): ActionStep[] {
  return Object.entries(map(workflow.jobs)).flatMap(([job, raw]) => {
    const steps = map(raw).steps
    if (!Array.isArray(steps)) return []
    return steps.flatMap((s: unknown, index) => {
      const step = map(s)
      return typeof step.uses === 'string' && ACTION_PATHS.has(step.uses)
        ? [{ job, index, step, with: map(step.with) }]
        : []
    })
  })
}

/** A command the test cannot read (an expression) counts as writing; no command is `deploy`. */
function writes(step: ActionStep): boolean {
  const command = step.with.command ?? 'deploy'
  return !(typeof command === 'string' && READ_ONLY_COMMANDS.has(command))
}

function neverCancelled(concurrency: unknown): boolean {
  return isMap(concurrency) && concurrency['cancel-in-progress'] === false
}

// ---------------------------------------------------------------------------------------------

describe('the files under test', () => {
  it('exist: reusable workflows and example callers', () => {
    expect(reusable.map(([f]) => f)).toEqual(
      expect.arrayContaining(['deploy.yml', 'janitor.yml', 'pr-environment.yml', 'rotate-keys.yml'])
    )
    expect(exampleFiles).toEqual(
      expect.arrayContaining(['deploy.yml', 'janitor.yml', 'pr-environment.yml', 'rotate-keys-monthly.yml'])
    )
    expect(actionInputs).toContain('command')
  })
})

describe.each(exampleFiles)('example %s', (file) => {
  const example = examples.get(file)!
  const exampleCalls = calls(example)

  it('calls a reusable workflow of this repository that exists', () => {
    expect(exampleCalls.length).toBeGreaterThan(0)
    for (const call of exampleCalls) {
      expect({ job: call.job, exists: existsSync(join(WORKFLOWS, call.file)) }).toEqual({
        job: call.job,
        exists: true
      })
      expect({ job: call.job, reusable: workflowCall(workflows.get(call.file) ?? {}) !== undefined }).toEqual(
        {
          job: call.job,
          reusable: true
        }
      )
    }
  })

  it('passes only declared inputs, every required one, each of the declared type', () => {
    for (const call of exampleCalls) {
      const inputs = declared(workflows.get(call.file) ?? {}, 'inputs')
      const given = map(call.body.with)
      const where = `${file} job '${call.job}' → ${call.file}`
      expect({ where, undeclared: Object.keys(given).filter((k) => !(k in inputs)) }).toEqual({
        where,
        undeclared: []
      })
      const missing = Object.entries(inputs)
        .filter(([k, d]) => isRequired(d) && !(k in given))
        .map(([k]) => k)
      expect({ where, missing }).toEqual({ where, missing: [] })
      const badType = Object.entries(given)
        .filter(([k, v]) => k in inputs && typeMismatch(v, inputs[k]!.type ?? 'string'))
        .map(([k, v]) => `${k}: ${JSON.stringify(v)} is not a ${String(inputs[k]!.type)}`)
      expect({ where, badType }).toEqual({ where, badType: [] })
    }
  })

  it('passes secrets by name (never `secrets: inherit`): only declared ones, every required one', () => {
    for (const call of exampleCalls) {
      const where = `${file} job '${call.job}' → ${call.file}`
      expect({ where, secrets: call.body.secrets }).not.toEqual({ where, secrets: 'inherit' })
      const secrets = declared(workflows.get(call.file) ?? {}, 'secrets')
      const given = map(call.body.secrets)
      expect({ where, undeclared: Object.keys(given).filter((k) => !(k in secrets)) }).toEqual({
        where,
        undeclared: []
      })
      const missing = Object.entries(secrets)
        .filter(([k, d]) => d.required === true && !(k in given))
        .map(([k]) => k)
      expect({ where, missing }).toEqual({ where, missing: [] })
    }
  })

  it('checks out the action from the repository and ref it calls the workflow from', () => {
    for (const call of exampleCalls.filter((c) => c.owner !== undefined)) {
      const given = map(call.body.with)
      expect({
        job: call.job,
        repository: given['action-repository'],
        ref: given['action-ref'] ?? 'v1'
      }).toEqual({
        job: call.job,
        repository: `${call.owner}/mlflow-azure-action`,
        ref: call.ref
      })
    }
  })

  it('grants the permissions the called workflow asks for (a called workflow can only narrow them)', () => {
    for (const call of exampleCalls) {
      const grant = granted(call.body.permissions ?? example.permissions)
      const need = requested(workflows.get(call.file) ?? {})
      const short = Object.entries(need)
        .filter(([scope, level]) => grant(scope) < level)
        .map(([scope, level]) => `${scope}: ${Object.keys(LEVEL)[level]}`)
      expect({ job: call.job, short }).toEqual({ job: call.job, short: [] })
    }
  })
})

describe.each(reusable.map(([f]) => f))('reusable workflow %s', (file) => {
  const workflow = workflows.get(file)!

  it('declares its top-level permissions', () => {
    expect(workflow.permissions).toBeDefined()
  })

  it('checks the action out into .mlflow-azure-action before it runs it', () => {
    const steps = actionSteps(workflow)
    expect(steps.length).toBeGreaterThan(0)
    for (const s of steps) {
      expect(s.step.uses).toBe('./.mlflow-azure-action')
      const before = (map(map(workflow.jobs)[s.job]).steps as unknown[]).slice(0, s.index).map(map)
      const checkout = before.find((b) => String(b.uses).startsWith('actions/checkout@'))
      expect({ job: s.job, path: map(checkout?.with).path }).toEqual({
        job: s.job,
        path: '.mlflow-azure-action'
      })
    }
  })
})

describe.each(workflowFiles)('workflow %s', (file) => {
  const workflow = workflows.get(file)!

  it('never runs on pull_request_target', () => {
    expect(Object.keys(events(workflow))).not.toContain('pull_request_target')
  })

  it('queues a job that changes Azure instead of cancelling it half-way', () => {
    for (const s of actionSteps(workflow).filter(writes)) {
      const job = map(map(workflow.jobs)[s.job])
      const safe = neverCancelled(job.concurrency ?? workflow.concurrency)
      expect({ job: s.job, command: s.with.command ?? 'deploy', concurrencyNeverCancelled: safe }).toEqual({
        job: s.job,
        command: s.with.command ?? 'deploy',
        concurrencyNeverCancelled: true
      })
    }
  })

  // For the reusable workflows (`uses: ./.mlflow-azure-action`) and this repository's own (`uses: ./`).
  it('passes the action only inputs that action.yml declares', () => {
    for (const s of actionSteps(workflow)) {
      const where = `job '${s.job}' step ${s.index + 1} (${String(s.step.name ?? s.step.id ?? '')})`
      expect({ where, notInActionYml: Object.keys(s.with).filter((k) => !actionInputs.includes(k)) }).toEqual(
        {
          where,
          notInActionYml: []
        }
      )
    }
  })
})

describe.each(exampleFiles)('example %s, as a workflow', (file) => {
  it('never runs on pull_request_target', () => {
    expect(Object.keys(events(examples.get(file)!))).not.toContain('pull_request_target')
  })
})
