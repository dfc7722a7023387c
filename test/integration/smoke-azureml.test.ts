/**
 * `smoke-test` of an Azure Machine Learning workspace against the local Azure: its workspace
 * resource and its AML-style MLflow endpoint (a real `mlflow server` behind AML's prefix, AML's
 * artifact service on Azurite). The real `azureml-mlflow` plugin runs in its own venv, signed in
 * with the action's token. By name and by `azureml://` URI the test passes with the demo reported as
 * skipped; a refused token, a workspace that does not exist, a missing role and a private-link
 * workspace each fail naming the step and the likely cause.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { errorsOf, runAction, type ActionRun } from '../helpers/action.js'
import { createAmlWorkspace, mlflowBase, viaProxy } from '../helpers/amlWorkspace.js'
import { startEmulator, type Emulator } from '../helpers/emulator.js'

const RG = 'rg-aml-smoke'
const SKIPPED_DEMO =
  /\| mlflow demo \| ⏭️ skipped \| 0\.0 s \| skipped: Azure Machine Learning does not support MLflow tracing/

function expectPassed(r: ActionRun): void {
  if (r.exitCode !== 0) throw new Error(`${errorsOf(r)}\n${r.stdout.slice(-4000)}`)
  expect(r.outputs['smoke-result']).toBe('passed')
  for (const step of [
    'workspace',
    'sign-in',
    'azureml-mlflow client',
    'experiment',
    'run and parameter',
    'metric history',
    'tags',
    'artifact',
    'clean-up'
  ])
    expect(r.summary).toContain(`| ${step} | ✅ passed |`)
  expect(r.summary).toMatch(SKIPPED_DEMO)
  expect(r.summary).toMatch(
    /\| artifact \| ✅ passed \| [\d.]+ s \| a 4096-byte artifact written and read back byte-identical \|/
  )
}

function expectFailedAt(r: ActionRun, step: string, ...details: RegExp[]): void {
  if (r.exitCode === 0) throw new Error(`the smoke test passed:\n${r.stdout.slice(-3000)}`)
  expect(r.outputs['smoke-result']).toBe('failed')
  const error = errorsOf(r)
  expect(error).toContain(`Smoke test failed at step '${step}'`)
  for (const d of details) expect(error).toMatch(d)
  // The demo is never reported as passed, even when the checks stop early.
  expect(r.summary).toMatch(SKIPPED_DEMO)
}

describe('smoke-test of an Azure Machine Learning workspace', () => {
  let emulator: Emulator
  let trackingUri: string
  let privateUri: string
  beforeAll(async () => {
    emulator = await startEmulator({ timeScale: 0.002 })
    ;({ trackingUri } = await createAmlWorkspace(emulator, {
      resourceGroup: RG,
      name: 'ws-smoke',
      location: 'westeurope'
    }))
    ;({ trackingUri: privateUri } = await createAmlWorkspace(emulator, {
      resourceGroup: RG,
      name: 'ws-private',
      location: 'westeurope',
      publicNetworkAccess: 'Disabled'
    }))
  }, 300_000)
  afterAll(async () => {
    await emulator?.stop()
  })

  it('passes by workspace name: the tracking URI read from ARM, the checks AML supports, the demo skipped', async () => {
    const r = await runAction(
      {
        command: 'smoke-test',
        'aml-workspace': 'ws-smoke',
        'resource-group': RG,
        'subscription-id': emulator.subscriptionId
      },
      emulator.env
    )
    expectPassed(r)
    expect(r.outputs['tracking-uri']).toBe(trackingUri)
    expect(trackingUri).toMatch(
      /^azureml:\/\/westeurope\.api\.azureml\.ms\/mlflow\/v1\.0\/subscriptions\/[0-9a-f-]{36}\/resourceGroups\/rg-aml-smoke\/providers\/Microsoft\.MachineLearningServices\/workspaces\/ws-smoke$/
    )
    // Clean-up left no active experiment of the smoke test in the workspace.
    const search = await viaProxy(
      emulator,
      `${mlflowBase(trackingUri)}/api/2.0/mlflow/experiments/search?max_results=1000&view_type=ACTIVE_ONLY`,
      { headers: { authorization: `Bearer ${emulator.token}` } }
    )
    expect(search.status).toBe(200)
    const names = ((search.json as { experiments?: { name: string }[] }).experiments ?? []).map((e) => e.name)
    expect(names.filter((n) => n.startsWith('mlflow-azure-action-smoke-'))).toEqual([])
    // The sign-in token reached the plugin on stdin only: it is masked and shown nowhere.
    expect(r.masked).toContain(emulator.token)
    expect(r.everything).not.toContain(emulator.token)
  }, 900_000)

  it('passes by its azureml:// tracking URI', async () => {
    const r = await runAction({ command: 'smoke-test', 'tracking-uri': trackingUri }, emulator.env)
    expectPassed(r)
    expect(r.summary).toContain('| workspace | ✅ passed |')
  }, 600_000)

  it('fails at the first check when the workspace refuses the token (401), naming the sign-in as the cause', async () => {
    const r = await runAction(
      { command: 'smoke-test', 'tracking-uri': trackingUri },
      { ...emulator.env, AZURE_ACCESS_TOKEN: 'not-a-token-the-workspace-takes' }
    )
    expectFailedAt(r, 'experiment', /401/, /likely cause: the workspace refused the sign-in token/)
  }, 600_000)

  it('fails at the sign-in when there is no token to be had (no id-token permission), before any check', async () => {
    const r = await runAction(
      {
        command: 'smoke-test',
        'tracking-uri': trackingUri,
        'client-id': '00000000-0000-4000-8000-0000000000c1',
        'tenant-id': '00000000-0000-4000-8000-0000000000d1'
      },
      {
        ...emulator.env,
        AZURE_ACCESS_TOKEN: '',
        ACTIONS_ID_TOKEN_REQUEST_URL: '',
        ACTIONS_ID_TOKEN_REQUEST_TOKEN: ''
      }
    )
    expectFailedAt(r, 'sign-in', /the Azure sign-in gave no token: .*id-token: write/s)
    expect(r.summary).toContain('| experiment | ⏭️ skipped |')
  }, 300_000)

  it('fails at the workspace step for a workspace that does not exist, before any check', async () => {
    const r = await runAction(
      {
        command: 'smoke-test',
        'aml-workspace': 'ws-missing',
        'resource-group': RG,
        'subscription-id': emulator.subscriptionId
      },
      emulator.env
    )
    expectFailedAt(
      r,
      'workspace',
      /workspace 'ws-missing' in resource group 'rg-aml-smoke' of subscription [0-9a-f-]{36} does not exist/
    )
    expect(r.summary).toContain('| experiment | ⏭️ skipped |')
  }, 300_000)

  it('fails naming a missing workspace when an azureml:// URI names one', async () => {
    const r = await runAction(
      { command: 'smoke-test', 'tracking-uri': trackingUri.replace('ws-smoke', 'ws-gone') },
      emulator.env
    )
    expectFailedAt(r, 'experiment', /404/, /likely cause: the workspace in the tracking URI does not exist/)
  }, 600_000)

  it('fails naming the private link for a workspace without public network access', async () => {
    const r = await runAction({ command: 'smoke-test', 'tracking-uri': privateUri }, emulator.env)
    expectFailedAt(
      r,
      'experiment',
      /likely cause: the workspace is reachable only through its private endpoint/
    )
  }, 600_000)
})

describe('smoke-test of an Azure Machine Learning workspace without a role on it', () => {
  let emulator: Emulator
  beforeAll(async () => {
    emulator = await startEmulator({
      timeScale: 0.002,
      denyActions: ['Microsoft.MachineLearningServices/workspaces/experiments/write']
    })
    await createAmlWorkspace(emulator, { resourceGroup: RG, name: 'ws-norole', location: 'westeurope' })
  }, 300_000)
  afterAll(async () => {
    await emulator?.stop()
  })

  it('fails at the first write, naming the missing role', async () => {
    const r = await runAction(
      {
        command: 'smoke-test',
        'aml-workspace': 'ws-norole',
        'resource-group': RG,
        'subscription-id': emulator.subscriptionId
      },
      emulator.env
    )
    expectFailedAt(
      r,
      'experiment',
      /403/,
      /likely cause: the signed-in identity lacks a role on the workspace/
    )
  }, 600_000)
})
