/**
 * `smoke-test` against any MLflow server given by URL: a real `mlflow server` from PyPI passes, and
 * one whose artifact store cannot be written fails at the artifact step, saying so.
 */
import { afterAll, describe, expect, it } from '@jest/globals'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { errorsOf, runAction } from '../helpers/action.js'
import { startLocalMlflow, type LocalMlflow } from '../helpers/mlflow.js'

const servers: LocalMlflow[] = []
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()))
})

describe('smoke-test of a server given by URL', () => {
  it('passes against a healthy server, running mlflow demo and the REST round trip', async () => {
    const server = await startLocalMlflow()
    servers.push(server)
    const r = await runAction({ command: 'smoke-test', 'tracking-uri': server.url })
    if (r.exitCode !== 0) throw new Error(`${errorsOf(r)}\n${r.stdout.slice(-3000)}`)
    expect(r.outputs['smoke-result']).toBe('passed')
    expect(r.summary).toMatch(/\| mlflow demo \| ✅ passed \| [\d.]+ s \| 'MLflow Demo' is experiment \d+ \|/)
    expect(r.summary).toMatch(/\| REST round trip \| ✅ passed/)
    const exp = await fetch(
      `${server.url}/api/2.0/mlflow/experiments/get-by-name?experiment_name=MLflow%20Demo`
    )
    expect(exp.status).toBe(200)
  }, 900_000)

  it('fails at the artifact step when the server cannot store artifacts', async () => {
    const blocker = join(mkdtempSync(join(tmpdir(), 'blocked-')), 'not-a-directory')
    writeFileSync(blocker, 'a file where the artifact root should be')
    const server = await startLocalMlflow({ artifactsDestination: join(blocker, 'artifacts') })
    servers.push(server)
    const r = await runAction({ command: 'smoke-test', 'tracking-uri': server.url, 'mlflow-demo': 'false' })
    expect(r.exitCode).not.toBe(0)
    expect(r.outputs['smoke-result']).toBe('failed')
    expect(errorsOf(r)).toMatch(/Smoke test failed at step 'REST round trip': artifact upload returned 500/)
    expect(errorsOf(r)).toContain('check the storage key')
  }, 600_000)

  it('refuses a bad tracking URI before doing anything', async () => {
    const r = await runAction({ command: 'smoke-test', 'tracking-uri': 'ftp://x' })
    expect(r.exitCode).not.toBe(0)
    expect(errorsOf(r)).toMatch(/Input 'tracking-uri' has value 'ftp:\/\/x': must be the http\(s\) URL/)
  }, 60_000)

  it('takes user:password@ out of a tracking URI: the password never reaches an output, the summary or the log', async () => {
    const password = 'Pw-in-the-URI-73519'
    const r = await runAction({
      command: 'smoke-test',
      'tracking-uri': `https://ops:${password}@127.0.0.1:9`,
      'mlflow-demo': 'false',
      'wait-timeout': '10'
    })
    expect(r.exitCode).not.toBe(0)
    expect(r.outputs['tracking-uri']).toBe('https://127.0.0.1:9')
    expect(r.everything).not.toContain(password)
    expect(r.masked).toContain(password)

    const bad = await runAction({ command: 'smoke-test', 'tracking-uri': `https://ops:${password}@host/x?y` })
    expect(bad.exitCode).not.toBe(0)
    expect(errorsOf(bad)).toMatch(/Input 'tracking-uri' has value 'https:\/\/ops:\*\*\*@host\/x\?y'/)
    expect(bad.everything).not.toContain(password)
  }, 120_000)
})
