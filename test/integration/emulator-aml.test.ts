/**
 * Azure Machine Learning workspaces in the local Azure: the ARM resource
 * (`Microsoft.MachineLearningServices/workspaces`, 2024-10-01) and its MLflow endpoint
 * (`https://<region>.api.azureml.ms`, `emulator/amlEndpoint.ts`) reached through the ready line's
 * proxy with the emulator's CA, over real HTTP. One workspace is shared by the tests: its
 * `mlflow server` (started on first use) is the slow part.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  arm,
  createAmlWorkspace,
  historyBase,
  ML_API_VERSION,
  mlflowBase,
  putWorkspace,
  viaProxy,
  workspacePath,
  type AmlWorkspace
} from '../helpers/amlWorkspace.js'
import { startEmulator, type Emulator } from '../helpers/emulator.js'
import { sdkClients, until } from '../helpers/sdk.js'

const TIME_SCALE = 0.002
const LOCATION = 'westeurope'
const RG = 'rg-aml'
const WS = 'mlw-smoke'
const PLUGIN_PYTHON = '/tmp/aml/venv/bin/python'
/** The first request starts the workspace's MLflow server (and may install its venv once). */
const FIRST_MLFLOW_MS = 600_000

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

describe('Azure Machine Learning workspaces as MLflow tracking servers', () => {
  let emu: Emulator
  let ws: AmlWorkspace
  let bearer: Record<string, string>

  beforeAll(async () => {
    emu = await startEmulator({ timeScale: TIME_SCALE, propagation: { storageKey: 0 } })
    ws = await createAmlWorkspace(emu, { resourceGroup: RG, name: WS, location: LOCATION })
    bearer = { authorization: `Bearer ${emu.token}` }
  }, 60_000)

  afterAll(async () => {
    await emu?.stop()
  })

  const mlflow = (
    path: string,
    opts: { method?: string; body?: unknown; headers?: Record<string, string> } = {}
  ) =>
    viaProxy(emu, `${mlflowBase(ws.trackingUri)}${path}`, {
      method: opts.method ?? 'GET',
      headers: {
        ...bearer,
        ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...opts.headers
      },
      ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {})
    })

  it('answers the workspace as the action reads it (resources.get, 2024-10-01)', async () => {
    const { rm } = sdkClients(emu)
    const got = await rm.resources.get(
      RG,
      'Microsoft.MachineLearningServices',
      '',
      'workspaces',
      WS,
      ML_API_VERSION
    )
    const props = got.properties as Record<string, unknown>
    const sub = emu.subscriptionId
    expect(got.id).toBe(workspacePath(sub, RG, WS))
    expect(got.type).toBe('Microsoft.MachineLearningServices/workspaces')
    expect(got.location).toBe(LOCATION)
    expect(props['workspaceId']).toMatch(GUID)
    expect(props['provisioningState']).toBe('Succeeded')
    expect(props['publicNetworkAccess']).toBe('Enabled')
    expect(props['discoveryUrl']).toBe(`https://${LOCATION}.api.azureml.ms/discovery`)
    expect(props['mlFlowTrackingUri']).toBe(
      `azureml://${LOCATION}.api.azureml.ms/mlflow/v1.0/subscriptions/${sub}/resourceGroups/${RG}/providers/Microsoft.MachineLearningServices/workspaces/${WS}`
    )
    expect(props['storageAccount']).toBe(ws.storageAccountId)
    // The id stays what it was: a second read answers the same workspace.
    const again = await rm.resources.get(
      RG,
      'Microsoft.MachineLearningServices',
      '',
      'workspaces',
      WS,
      ML_API_VERSION
    )
    expect((again.properties as Record<string, unknown>)['workspaceId']).toBe(props['workspaceId'])
    const provider = await rm.providers.get('Microsoft.MachineLearningServices')
    expect(provider.registrationState).toBe('Registered')
  })

  // Microsoft's Workspace/create.json, get.json and delete.json examples are replayed by
  // arm-examples.test.ts (test/fixtures/arm-examples).
  it('answers a second PUT of a workspace as an update: 200 at once, the same workspaceId', async () => {
    const sub = emu.subscriptionId
    const body = {
      location: LOCATION,
      properties: {
        storageAccount: ws.storageAccountId,
        keyVault: `/subscriptions/${sub}/resourceGroups/${RG}/providers/Microsoft.KeyVault/vaults/kv-update`,
        friendlyName: 'first'
      }
    }
    const { put, final } = await putWorkspace(emu, RG, 'mlw-update', body)
    expect(put.status).toBe(202)
    expect(put.headers['location']).toMatch(/^https:\/\/127\.0\.0\.1:\d+\//)
    expect(final.status).toBe(200)
    const created = (final.json as { properties: { workspaceId: string } }).properties.workspaceId
    const { put: update } = await putWorkspace(emu, RG, 'mlw-update', {
      ...body,
      properties: { ...body.properties, friendlyName: 'second' }
    })
    expect(update.status).toBe(200)
    expect(update.json).toMatchObject({
      properties: { workspaceId: created, friendlyName: 'second', provisioningState: 'Succeeded' }
    })
  })

  it('refuses what Azure refuses on PUT: the name rule, a missing or unknown storage account, its change', async () => {
    const sub = emu.subscriptionId
    const rgPath = `/subscriptions/${sub}/resourceGroups/${RG}`
    const good = {
      location: LOCATION,
      properties: {
        storageAccount: ws.storageAccountId,
        keyVault: `${rgPath}/providers/Microsoft.KeyVault/vaults/kv1`
      }
    }
    for (const name of ['ab', '-lead', 'has.dot', 'a'.repeat(34)]) {
      const { put } = await putWorkspace(emu, RG, name, good)
      expect({
        name,
        status: put.status,
        code: (put.json as { error: { code: string } }).error.code
      }).toEqual({
        name,
        status: 400,
        code: 'InvalidResourceName'
      })
    }
    const missing = await putWorkspace(emu, RG, 'mlw-nostorage', {
      ...good,
      properties: { keyVault: good.properties.keyVault }
    })
    expect(missing.put.status).toBe(400)
    expect(JSON.stringify(missing.put.json)).toMatch(/storageAccount/)
    const unknown = await putWorkspace(emu, RG, 'mlw-unknown', {
      ...good,
      properties: {
        ...good.properties,
        storageAccount: `${rgPath}/providers/Microsoft.Storage/storageAccounts/nosuchaccount1`
      }
    })
    expect(unknown.put.status).toBe(400)
    expect(JSON.stringify(unknown.put.json)).toMatch(/nosuchaccount1/)
    const notAccount = await putWorkspace(emu, RG, 'mlw-notaccount', {
      ...good,
      properties: { ...good.properties, storageAccount: good.properties.keyVault }
    })
    expect(notAccount.put.status).toBe(400)
    const noVault = await putWorkspace(emu, RG, 'mlw-novault', {
      ...good,
      properties: { storageAccount: ws.storageAccountId }
    })
    expect(noVault.put.status).toBe(400)
    const badAccess = await putWorkspace(emu, RG, 'mlw-access', {
      ...good,
      properties: { ...good.properties, publicNetworkAccess: 'Sometimes' }
    })
    expect(badAccess.put.status).toBe(400)
    const region = await putWorkspace(emu, RG, 'mlw-region', { ...good, location: 'atlantis' })
    expect((region.put.json as { error: { code: string } }).error.code).toBe(
      'LocationNotAvailableForResourceType'
    )
    const other = await createAmlWorkspace(emu, { resourceGroup: RG, name: 'mlw-other', location: LOCATION })
    const moved = await putWorkspace(emu, RG, WS, {
      ...good,
      properties: { ...good.properties, storageAccount: other.storageAccountId }
    })
    expect(moved.put.status).toBe(400)
    expect(JSON.stringify(moved.put.json)).toMatch(/cannot be changed/)
    const gone = await arm(
      emu,
      'GET',
      `${workspacePath(sub, RG, 'mlw-nostorage')}?api-version=${ML_API_VERSION}`
    )
    expect(gone.status).toBe(404)
    expect((gone.json as { error: { code: string } }).error.code).toBe('ResourceNotFound')
    // DELETE: 202 + Location, then the workspace is gone; a second DELETE is 204.
    const del = await arm(
      emu,
      'DELETE',
      `${workspacePath(sub, RG, 'mlw-other')}?api-version=${ML_API_VERSION}`
    )
    expect(del.status).toBe(202)
    const after = await until(
      'the deleted workspace to be gone',
      () => arm(emu, 'GET', `${workspacePath(sub, RG, 'mlw-other')}?api-version=${ML_API_VERSION}`),
      (a) => a.status === 404,
      10_000
    )
    expect(after.status).toBe(404)
    expect(
      (await arm(emu, 'DELETE', `${workspacePath(sub, RG, 'mlw-other')}?api-version=${ML_API_VERSION}`))
        .status
    ).toBe(204)
  })

  it('refuses requests without a token, with a wrong one, and for trace endpoints', async () => {
    const none = await mlflow('/api/2.0/mlflow/experiments/search?max_results=1', {
      headers: { authorization: '' }
    })
    expect(none.status).toBe(401)
    expect(String(none.headers['www-authenticate'])).toMatch(/^Bearer /)
    expect(none.json).toMatchObject({ error_code: 'UNAUTHENTICATED' })
    const storageToken = await mlflow('/api/2.0/mlflow/experiments/search?max_results=1', {
      headers: { authorization: `Bearer ${emu.env['AZURE_STORAGE_ACCESS_TOKEN']}` }
    })
    expect(storageToken.status).toBe(401)
    const forged = await mlflow('/api/2.0/mlflow/experiments/search?max_results=1', {
      headers: { authorization: 'Bearer not.a.token' }
    })
    expect(forged.status).toBe(401)
    const history = await viaProxy(emu, `${historyBase(ws.trackingUri)}/experiments/x/runs/y/artifacts`)
    expect(history.status).toBe(401)
    expect(history.json).toMatchObject({ error: { code: 'UserError' } })

    for (const path of [
      '/api/2.0/mlflow/traces',
      '/api/3.0/mlflow/traces/search',
      '/api/2.0/mlflow/traces/tr-1/info'
    ]) {
      const r = await mlflow(path, { method: 'POST', body: {} })
      expect({ path, status: r.status }).toEqual({ path, status: 403 })
      expect(JSON.stringify(r.json)).toMatch(/[Tt]racing is not supported/)
    }
  })

  it('answers 404 for a workspace that does not exist or another region, and no name for an unknown region', async () => {
    const unknown = await viaProxy(
      emu,
      mlflowBase(ws.trackingUri).replace(`/workspaces/${WS}`, '/workspaces/nope') +
        '/api/2.0/mlflow/experiments/search',
      {
        headers: bearer
      }
    )
    expect(unknown.status).toBe(404)
    expect(JSON.stringify(unknown.json)).toMatch(/'nope'/)
    const otherRegion = await viaProxy(
      emu,
      mlflowBase(ws.trackingUri).replace(LOCATION, 'eastus') + '/api/2.0/mlflow/experiments/search',
      {
        headers: bearer
      }
    )
    expect(otherRegion.status).toBe(404)
    const noRegion = await viaProxy(
      emu,
      mlflowBase(ws.trackingUri).replace(LOCATION, 'atlantis') + '/api/2.0/mlflow/experiments/search',
      {
        headers: bearer
      }
    )
    expect(noRegion).toMatchObject({ refused: true, status: 502 })
  })

  it('refuses a workspace with public network access disabled, from outside', async () => {
    const closed = await createAmlWorkspace(emu, {
      resourceGroup: RG,
      name: 'mlw-private',
      location: LOCATION,
      publicNetworkAccess: 'Disabled'
    })
    const r = await viaProxy(emu, `${mlflowBase(closed.trackingUri)}/api/2.0/mlflow/experiments/search`, {
      headers: bearer
    })
    expect(r.status).toBe(403)
    expect(JSON.stringify(r.json)).toMatch(/private link/)
  })

  it(
    'creates and reads an experiment and a run through the workspace prefix (v2.0 and v1.0)',
    async () => {
      const created = await mlflow('/api/2.0/mlflow/experiments/create', {
        method: 'POST',
        body: { name: 'smoke-exp' }
      })
      expect(created.status).toBe(200)
      const experimentId = (created.json as { experiment_id: string }).experiment_id
      const got = await mlflow(`/api/2.0/mlflow/experiments/get?experiment_id=${experimentId}`)
      expect(got.status).toBe(200)
      expect(got.json).toMatchObject({ experiment: { name: 'smoke-exp', experiment_id: experimentId } })
      const v1 = await viaProxy(
        emu,
        `${mlflowBase(ws.trackingUri, 'v1.0')}/api/2.0/mlflow/experiments/get-by-name?experiment_name=smoke-exp`,
        {
          headers: bearer
        }
      )
      expect(v1.json).toMatchObject({ experiment: { experiment_id: experimentId } })
      const duplicate = await mlflow('/api/2.0/mlflow/experiments/create', {
        method: 'POST',
        body: { name: 'smoke-exp' }
      })
      expect(duplicate.status).toBe(400)
      expect(duplicate.json).toMatchObject({ error_code: 'RESOURCE_ALREADY_EXISTS' })

      const run = await mlflow('/api/2.0/mlflow/runs/create', {
        method: 'POST',
        body: { experiment_id: experimentId, start_time: Date.now() }
      })
      expect(run.status).toBe(200)
      const info = (run.json as { run: { info: { run_id: string; artifact_uri: string } } }).run.info
      const aml = `azureml://experiments/${experimentId}/runs/${info.run_id}/artifacts`
      expect(info.artifact_uri).toBe(aml)
      const read = await mlflow(`/api/2.0/mlflow/runs/get?run_id=${info.run_id}`)
      expect((read.json as { run: { info: { artifact_uri: string } } }).run.info.artifact_uri).toBe(aml)
      const search = await mlflow('/api/2.0/mlflow/runs/search', {
        method: 'POST',
        body: { experiment_ids: [experimentId] }
      })
      expect(
        (search.json as { runs: { info: { artifact_uri: string } }[] }).runs.map((r) => r.info.artifact_uri)
      ).toEqual([aml])
      const update = await mlflow('/api/2.0/mlflow/runs/update', {
        method: 'POST',
        body: { run_id: info.run_id, status: 'FINISHED', end_time: Date.now() }
      })
      expect((update.json as { run_info: { artifact_uri: string } }).run_info.artifact_uri).toBe(aml)
    },
    FIRST_MLFLOW_MS
  )

  it(
    'stores run artifacts: batch/metadata → SAS upload → contentinfo → the same bytes',
    async () => {
      const exp = await mlflow('/api/2.0/mlflow/experiments/create', {
        method: 'POST',
        body: { name: 'artifacts-exp' }
      })
      const experimentId = (exp.json as { experiment_id: string }).experiment_id
      const run = await mlflow('/api/2.0/mlflow/runs/create', {
        method: 'POST',
        body: { experiment_id: experimentId }
      })
      const runId = (run.json as { run: { info: { run_id: string } } }).run.info.run_id
      const base = `${historyBase(ws.trackingUri)}/experiments/${experimentId}/runs/${runId}/artifacts`
      const hist = (path: string, opts: { method?: string; body?: unknown } = {}) =>
        viaProxy(emu, `${base}${path}`, {
          method: opts.method ?? 'GET',
          headers: { ...bearer, ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}) },
          ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {})
        })

      const batch = await hist('/batch/metadata', {
        method: 'POST',
        body: { paths: [{ path: 'outputs/model.txt' }] }
      })
      expect(batch.status).toBe(200)
      const result = batch.json as {
        artifacts: Record<string, { path: string; origin: string; container: string }>
        artifactContentInformation: Record<
          string,
          { contentUri: string; origin: string; container: string; path: string }
        >
        errors: Record<string, unknown>
      }
      expect(result.errors).toEqual({})
      expect(result.artifacts['outputs/model.txt']).toMatchObject({
        path: 'outputs/model.txt',
        origin: 'ExperimentRun',
        container: `dcid.${runId}`
      })
      const info = result.artifactContentInformation['outputs/model.txt']!
      expect(info).toMatchObject({
        origin: 'ExperimentRun',
        container: `dcid.${runId}`,
        path: 'outputs/model.txt'
      })
      expect(info.contentUri).toMatch(
        new RegExp(
          `^https://${ws.storageAccount}\\.blob\\.core\\.windows\\.net/azureml/ExperimentRun/dcid\\.${runId}/outputs/model\\.txt\\?.*sig=`
        )
      )

      const bytes = Buffer.from([0, 1, 2, 250, 251, 252, ...Buffer.from('model bytes\n')])
      const upload = await viaProxy(emu, info.contentUri, {
        method: 'PUT',
        headers: { 'x-ms-blob-type': 'BlockBlob', 'content-type': 'application/octet-stream' },
        body: bytes
      })
      expect(upload.status).toBe(201)

      const content = await hist(`/contentinfo?path=${encodeURIComponent('outputs/model.txt')}`)
      expect(content.status).toBe(200)
      const download = await viaProxy(emu, (content.json as { contentUri: string }).contentUri)
      expect(download.status).toBe(200)
      expect(Buffer.compare(download.body, bytes)).toBe(0)

      const list = await hist('')
      expect(list.json).toMatchObject({ value: [{ path: 'outputs/model.txt' }], nextLink: null })
      const byId = await viaProxy(
        emu,
        `${historyBase(ws.trackingUri)}/experimentids/${experimentId}/runs/${runId}/artifacts/path?path=outputs`,
        { headers: bearer }
      )
      expect(byId.json).toMatchObject({ value: [{ path: 'outputs/model.txt' }] })
      const byName = await viaProxy(
        emu,
        `${historyBase(ws.trackingUri)}/experiments/artifacts-exp/runs/${runId}/artifacts`,
        {
          headers: bearer
        }
      )
      expect(byName.status).toBe(200)

      const missing = await hist(`/contentinfo?path=${encodeURIComponent('outputs/none.txt')}`)
      expect(missing.status).toBe(404)
      const wrongRun = await viaProxy(
        emu,
        `${historyBase(ws.trackingUri)}/experiments/${experimentId}/runs/nosuchrun/artifacts`,
        {
          headers: bearer
        }
      )
      expect(wrongRun.status).toBe(404)
      const wrongExperiment = await viaProxy(
        emu,
        `${historyBase(ws.trackingUri)}/experimentids/999/runs/${runId}/artifacts`,
        {
          headers: bearer
        }
      )
      expect(wrongExperiment.status).toBe(404)
    },
    FIRST_MLFLOW_MS
  )

  it(
    'keeps experiments and artifacts across an emulator restart (sqlite in the state dir)',
    async () => {
      await emu.restart()
      bearer = { authorization: `Bearer ${emu.token}` }
      const got = await mlflow('/api/2.0/mlflow/experiments/get-by-name?experiment_name=artifacts-exp')
      expect(got.status).toBe(200)
      const experimentId = (got.json as { experiment: { experiment_id: string } }).experiment.experiment_id
      const runs = await mlflow('/api/2.0/mlflow/runs/search', {
        method: 'POST',
        body: { experiment_ids: [experimentId] }
      })
      const runId = (runs.json as { runs: { info: { run_id: string } }[] }).runs[0]!.info.run_id
      const content = await viaProxy(
        emu,
        `${historyBase(ws.trackingUri)}/experiments/${experimentId}/runs/${runId}/artifacts/contentinfo?path=outputs%2Fmodel.txt`,
        { headers: bearer }
      )
      expect(content.status).toBe(200)
      const download = await viaProxy(emu, (content.json as { contentUri: string }).contentUri)
      expect(download.body.toString('utf8')).toContain('model bytes')
    },
    FIRST_MLFLOW_MS
  )

  const pluginIt = existsSync(PLUGIN_PYTHON) ? it : it.skip
  pluginIt(
    'serves the real azureml-mlflow plugin: experiment, run, param, metric, artifact up and down',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'aml-plugin-'))
      try {
        const script = join(dir, 'smoke.py')
        writeFileSync(
          script,
          [
            'import json, os, sys, time',
            'from urllib.parse import urlparse',
            'import mlflow',
            'from azure.core.credentials import AccessToken',
            'from azureml.mlflow._internal.service_context_loader import _AzureMLServiceContextLoader',
            'from azureml.mlflow._internal.utils import ServiceContext',
            'from azureml.mlflow._common._cloud.cloud import _get_cloud_or_default',
            'uri, token, out = sys.argv[1], sys.argv[2], sys.argv[3]',
            'class Static:',
            '    def get_token(self, *scopes, **kw):',
            '        return AccessToken(token, int(time.time()) + 3600)',
            'p = urlparse(uri)',
            'parts = p.path.split("/")',
            '_AzureMLServiceContextLoader.add_service_context(uri, ServiceContext(host_url="https://" + p.netloc,',
            '    subscription_id=parts[parts.index("subscriptions") + 1], workspace_name=parts[parts.index("workspaces") + 1],',
            '    resource_group_name=parts[parts.index("resourceGroups") + 1], auth=Static(), cloud=_get_cloud_or_default()))',
            'mlflow.set_tracking_uri(uri)',
            'exp = mlflow.create_experiment("plugin-exp")',
            'with mlflow.start_run(experiment_id=exp) as run:',
            '    mlflow.log_param("alpha", "0.5")',
            '    mlflow.log_metric("loss", 0.25)',
            '    src = os.path.join(out, "hello.txt")',
            '    open(src, "w").write("hello from the plugin\\n")',
            '    mlflow.log_artifact(src, artifact_path="outputs")',
            'client = mlflow.MlflowClient()',
            'got = client.get_run(run.info.run_id)',
            'listed = [f.path for f in client.list_artifacts(run.info.run_id, "outputs")]',
            'local = client.download_artifacts(run.info.run_id, "outputs/hello.txt", os.path.join(out, "dl"))',
            'print(json.dumps({"params": got.data.params, "metrics": got.data.metrics, "artifact_uri": got.info.artifact_uri,',
            '    "listed": listed, "downloaded": open(local).read()}))'
          ].join('\n')
        )
        const env = { ...process.env, ...emu.env, AZUREML_LOG_NETWORK_TRACES: '' }
        const stdout = await new Promise<string>((resolve, reject) =>
          execFile(
            PLUGIN_PYTHON,
            [script, ws.trackingUri, emu.token, dir],
            { env, timeout: 300_000 },
            (err, out, errOut) =>
              err ? reject(new Error(`${err.message}\n${errOut}\n${out}`)) : resolve(out)
          )
        )
        const result = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as Record<string, unknown>
        expect(result).toMatchObject({
          params: { alpha: '0.5' },
          metrics: { loss: 0.25 },
          listed: ['outputs/hello.txt'],
          downloaded: 'hello from the plugin\n'
        })
        expect(String(result['artifact_uri'])).toMatch(
          /^azureml:\/\/experiments\/\d+\/runs\/[0-9a-f]+\/artifacts$/
        )
        expect(readFileSync(join(dir, 'hello.txt'), 'utf8')).toBe('hello from the plugin\n')
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    },
    FIRST_MLFLOW_MS
  )
})

describe('Azure Machine Learning workspaces: missing permissions', () => {
  let emu: Emulator

  beforeAll(async () => {
    emu = await startEmulator({
      timeScale: TIME_SCALE,
      denyActions: ['Microsoft.MachineLearningServices/workspaces/experiments/write']
    })
  }, 60_000)

  afterAll(async () => {
    await emu?.stop()
  })

  it('refuses a write the deploying principal may not do, naming the action', async () => {
    const ws = await createAmlWorkspace(emu, { resourceGroup: RG, name: 'mlw-denied', location: LOCATION })
    const r = await viaProxy(emu, `${mlflowBase(ws.trackingUri)}/api/2.0/mlflow/experiments/create`, {
      method: 'POST',
      headers: { authorization: `Bearer ${emu.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'x' })
    })
    expect(r.status).toBe(403)
    expect(JSON.stringify(r.json)).toContain(
      "does not have authorization to perform action 'Microsoft.MachineLearningServices/workspaces/experiments/write'"
    )
  })
})
