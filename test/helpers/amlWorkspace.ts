/**
 * Azure Machine Learning workspaces in a local Azure: one made through ARM the way a person would
 * (resource group, a storage account for its artifacts, the workspace PUT with the emulator's
 * token, polled until it has been created), and HTTPS requests to its data plane
 * (`https://<region>.api.azureml.ms`) and to SAS URLs of its storage through the ready line's
 * CONNECT proxy, trusting the emulator's CA — the way the `azureml-mlflow` plugin reaches them.
 */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { connect as tlsConnect } from 'node:tls'
import type { Emulator } from './emulator.js'
import { fastLro, sdkClients, until } from './sdk.js'

export const ML_API_VERSION = '2024-10-01'

export interface AmlWorkspaceOptions {
  resourceGroup: string
  name: string
  location: string
  publicNetworkAccess?: 'Enabled' | 'Disabled'
}

export interface AmlWorkspace {
  id: string
  trackingUri: string
  /** The storage account made for it (where its artifacts go). */
  storageAccount: string
  storageAccountId: string
}

export interface RawAnswer {
  status: number
  headers: IncomingHttpHeaders
  body: Buffer
  /** The body as JSON, when it is JSON. */
  json?: unknown
}

function answerOf(status: number, headers: IncomingHttpHeaders, body: Buffer): RawAnswer {
  let json: unknown
  try {
    json = body.length > 0 ? JSON.parse(body.toString('utf8')) : undefined
  } catch {
    json = undefined
  }
  return { status, headers, body, json }
}

/** One request to the ARM front door with the emulator's token. */
export function arm(emulator: Emulator, method: string, path: string, body?: unknown): Promise<RawAnswer> {
  const url = new URL(path, emulator.endpoint)
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body))
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      {
        method,
        ca: readFileSync(emulator.caCertPath, 'utf8'),
        headers: {
          authorization: `Bearer ${emulator.token}`,
          ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {})
        }
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve(answerOf(res.statusCode ?? 0, res.headers, Buffer.concat(chunks))))
        res.on('error', reject)
      }
    )
    req.on('error', reject)
    req.end(payload)
  })
}

export const workspacePath = (sub: string, rg: string, name: string): string =>
  `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.MachineLearningServices/workspaces/${name}`

/**
 * PUTs a workspace body and, for a create (202 + Location), polls the Location until the operation
 * has ended; answers the PUT's answer and the final one.
 */
export async function putWorkspace(
  emulator: Emulator,
  rg: string,
  name: string,
  body: unknown
): Promise<{ put: RawAnswer; final: RawAnswer }> {
  const path = `${workspacePath(emulator.subscriptionId, rg, name)}?api-version=${ML_API_VERSION}`
  const put = await arm(emulator, 'PUT', path, body)
  if (put.status !== 202) return { put, final: put }
  const location = String(put.headers['location'] ?? '')
  const final = await until(
    `workspace ${name} to be created`,
    () => arm(emulator, 'GET', location),
    (poll) => poll.status !== 202,
    30_000
  )
  return { put, final }
}

/**
 * A resource group (made if needed), a Standard_LRS StorageV2 account for the workspace, and the
 * workspace itself, created and `Succeeded`.
 */
export async function createAmlWorkspace(emulator: Emulator, o: AmlWorkspaceOptions): Promise<AmlWorkspace> {
  const c = sdkClients(emulator)
  const sub = emulator.subscriptionId
  if (!(await c.rm.resourceGroups.checkExistence(o.resourceGroup)).body)
    await c.rm.resourceGroups.createOrUpdate(o.resourceGroup, { location: o.location })
  const base = `st${o.name.toLowerCase().replace(/[^a-z0-9]/g, '')}`.slice(0, 18)
  const storageAccount = `${base}${randomBytes(3).toString('hex')}`
  const account = await c.st.storageAccounts.create(
    o.resourceGroup,
    storageAccount,
    { sku: { name: 'Standard_LRS' }, kind: 'StorageV2', location: o.location },
    fastLro
  )
  const rgPath = `/subscriptions/${sub}/resourceGroups/${o.resourceGroup}`
  const { final } = await putWorkspace(emulator, o.resourceGroup, o.name, {
    location: o.location,
    properties: {
      storageAccount: account.id,
      keyVault: `${rgPath}/providers/Microsoft.KeyVault/vaults/kv-${o.name}`.slice(0, 200),
      applicationInsights: `${rgPath}/providers/Microsoft.Insights/components/ai-${o.name}`,
      ...(o.publicNetworkAccess ? { publicNetworkAccess: o.publicNetworkAccess } : {})
    }
  })
  const view = final.json as {
    id?: string
    properties?: { mlFlowTrackingUri?: string; provisioningState?: string }
  }
  if (final.status !== 200 || view.properties?.provisioningState !== 'Succeeded' || !view.id)
    throw new Error(`workspace ${o.name} was not created: ${final.status} ${final.body.toString('utf8')}`)
  return {
    id: view.id,
    trackingUri: view.properties.mlFlowTrackingUri ?? '',
    storageAccount,
    storageAccountId: account.id ?? ''
  }
}

/**
 * One HTTPS request to an absolute URL (`https://<region>.api.azureml.ms/…`, a blob SAS URL)
 * through the emulator's CONNECT proxy. A proxy that will not open the tunnel is answered as
 * `{status, refused: true}` with its status line's code.
 */
export function viaProxy(
  emulator: Emulator,
  target: string,
  opts: { method?: string; headers?: Record<string, string>; body?: Buffer | string } = {}
): Promise<RawAnswer & { refused?: boolean }> {
  const url = new URL(target)
  const proxy = new URL(emulator.env['HTTPS_PROXY'] ?? '')
  const ca = readFileSync(emulator.caCertPath, 'utf8')
  const body = opts.body === undefined ? undefined : Buffer.from(opts.body)
  const authority = `${url.hostname}:${url.port || 443}`
  return new Promise((resolve, reject) => {
    const connect = httpRequest({
      host: proxy.hostname,
      port: proxy.port,
      method: 'CONNECT',
      path: authority,
      headers: { host: authority }
    })
    connect.on('connect', (res, socket) => {
      if (res.statusCode !== 200) {
        socket.destroy()
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.alloc(0), refused: true })
        return
      }
      const req = httpsRequest(
        {
          host: url.hostname,
          path: `${url.pathname}${url.search}`,
          method: opts.method ?? 'GET',
          headers: {
            host: url.hostname,
            ...(body ? { 'content-length': String(body.length) } : {}),
            ...opts.headers
          },
          createConnection: () => tlsConnect({ socket, servername: url.hostname, ca })
        },
        (r) => {
          const chunks: Buffer[] = []
          r.on('data', (c: Buffer) => chunks.push(c))
          r.on('end', () => {
            socket.destroy()
            resolve(answerOf(r.statusCode ?? 0, r.headers, Buffer.concat(chunks)))
          })
          r.on('error', reject)
        }
      )
      req.on('error', reject)
      req.end(body)
    })
    connect.on('error', reject)
    connect.end()
  })
}

/** `https://<host>/mlflow/v2.0/…/workspaces/<ws>` of an `azureml://…/mlflow/v1.0/…` tracking URI. */
export function mlflowBase(trackingUri: string, version: 'v1.0' | 'v2.0' = 'v2.0'): string {
  return trackingUri.replace(/^azureml:\/\//, 'https://').replace('/mlflow/v1.0/', `/mlflow/${version}/`)
}

/** `https://<host>/history/v1.0/…/workspaces/<ws>` of a tracking URI. */
export function historyBase(trackingUri: string): string {
  return trackingUri.replace(/^azureml:\/\//, 'https://').replace('/mlflow/v1.0/', '/history/v1.0/')
}
