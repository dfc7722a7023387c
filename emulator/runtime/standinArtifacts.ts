/**
 * The stand-in server's artifact store: MLflow's proxied artifact routes
 * (`mlflow/server/handlers.py`: `_upload_artifact`, `_download_artifact`,
 * `_list_artifacts_mlflow_artifacts`, `_delete_artifact_mlflow_artifacts`) over the blob container
 * of `--artifacts-destination wasbs://<container>@<account>.blob.core.windows.net/<prefix>`, reached
 * at the account's real endpoint (through the proxy and front door the process env names).
 *
 * Credentials as `AzureBlobArtifactRepository.__init__` picks them (reference/mlflow-server.md §3,
 * next-capabilities §4.1), by presence in the env: `AZURE_STORAGE_CONNECTION_STRING`, else
 * `AZURE_STORAGE_ACCESS_KEY` (SharedKey for `https://<account>.blob.core.windows.net`), else
 * DefaultAzureCredential (managed identity: `IDENTITY_ENDPOINT`/`IDENTITY_HEADER`, `AZURE_CLIENT_ID`).
 * The client is made on the first artifact request and kept for the process's life, as MLflow keeps
 * its repo per worker: a changed secret is seen only by a new revision or a restart.
 *
 * Answers as MLflow's: upload and delete `{}`; download the bytes; list `{"files":[{path, is_dir,
 * file_size}]}` (`{}` when empty); a missing blob on download 404 `RESOURCE_DOES_NOT_EXIST`; any
 * storage failure (a wrong or rotated key, a missing role, a missing container) 500 with Flask's
 * "Internal Server Error" page and the exception in the log ("Exception on <path> [<METHOD>]").
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ContainerClient } from '@azure/storage-blob'
import { readBody } from '../requestBody.js'

const PREFIX = '/api/2.0/mlflow-artifacts/artifacts'
const WASBS = /^wasbs:\/\/([^@/]+)@([a-z0-9]{3,24})\.blob\.core\.windows\.net(?:\/(.*))?$/i

const FLASK_500 =
  '<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n<h1>Internal Server Error</h1>\n' +
  '<p>The server encountered an internal error and was unable to complete your request. Either the server is overloaded or there is an error in the application.</p>\n'

export interface ArtifactStore {
  /** True when the request was an artifact route (and has been answered). */
  handle(req: IncomingMessage, res: ServerResponse, log: (line: string) => void): boolean
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text))
  })
  res.end(text)
}

/** MLflow refuses paths that climb out of the root (`validate_path_is_safe`). */
function safePath(path: string): string | undefined {
  const clean = path.replace(/^\/+/, '')
  if (clean.split('/').some((p) => p === '..') || clean.includes('\\')) return undefined
  return clean
}

export function artifactStore(destination: string, env: NodeJS.ProcessEnv): ArtifactStore {
  const m = WASBS.exec(destination)
  if (!m)
    throw new Error(
      `WASBS URI must be of the form <container>@<account>.blob.core.windows.net: ${destination}`
    )
  const [, containerName = '', account = '', rawPrefix = ''] = m
  const prefix = rawPrefix.replace(/\/+$/, '')
  const key = (path: string): string => (prefix ? `${prefix}/${path}` : path)
  let client: Promise<ContainerClient> | undefined

  const containerClient = (): Promise<ContainerClient> => {
    client ??= (async () => {
      const blob = await import('@azure/storage-blob')
      const url = `https://${account}.blob.core.windows.net`
      let service
      if ('AZURE_STORAGE_CONNECTION_STRING' in env) {
        service = blob.BlobServiceClient.fromConnectionString(env['AZURE_STORAGE_CONNECTION_STRING'] ?? '')
      } else if ('AZURE_STORAGE_ACCESS_KEY' in env) {
        service = new blob.BlobServiceClient(
          url,
          new blob.StorageSharedKeyCredential(account, env['AZURE_STORAGE_ACCESS_KEY'] ?? '')
        )
      } else {
        const identity = await import('@azure/identity')
        service = new blob.BlobServiceClient(url, new identity.DefaultAzureCredential())
      }
      return service.getContainerClient(containerName)
    })()
    return client
  }

  const fail = (req: IncomingMessage, res: ServerResponse, log: (l: string) => void, err: unknown): void => {
    const e = err as { name?: string; statusCode?: number; code?: string; message?: string }
    log(`ERROR mlflow.server: Exception on ${(req.url ?? '').split('?')[0]} [${req.method}]`)
    log(`${e.name ?? 'Error'}: ${e.message?.split('\n')[0] ?? String(err)}`)
    if (e.code) log(`ErrorCode:${e.code}`)
    res.writeHead(500, { 'content-type': 'text/html; charset=utf-8' })
    res.end(FLASK_500)
  }

  const route = async (
    req: IncomingMessage,
    res: ServerResponse,
    log: (l: string) => void
  ): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const method = req.method ?? 'GET'
    const sub = decodeURIComponent(url.pathname.slice(PREFIX.length))
    if (sub === '' || sub === '/') {
      if (method !== 'GET')
        return json(res, 405, { error_code: 'BAD_REQUEST', message: 'Method not allowed' })
      const path = safePath(url.searchParams.get('path') ?? '')
      if (path === undefined)
        return json(res, 400, { error_code: 'INVALID_PARAMETER_VALUE', message: 'Invalid path' })
      const container = await containerClient()
      const base = path ? `${key(path)}/` : prefix ? `${prefix}/` : ''
      const files: { path: string; is_dir: boolean; file_size?: number }[] = []
      for await (const item of container.listBlobsByHierarchy('/', { prefix: base })) {
        const rel = item.name.slice(base.length).replace(/\/$/, '')
        const shown = path ? `${path}/${rel}` : rel
        if (item.kind === 'prefix') files.push({ path: shown, is_dir: true })
        else files.push({ path: shown, is_dir: false, file_size: item.properties.contentLength ?? 0 })
      }
      return json(res, 200, files.length > 0 ? { files } : {})
    }
    const path = safePath(sub)
    if (!path) return json(res, 400, { error_code: 'INVALID_PARAMETER_VALUE', message: 'Invalid path' })
    const container = await containerClient()
    if (method === 'PUT') {
      const body = await readBody(req)
      await container.getBlockBlobClient(key(path)).uploadData(body)
      log(`PUT ${PREFIX}/${path} 200`)
      return json(res, 200, {})
    }
    if (method === 'GET') {
      const blobClient = container.getBlobClient(key(path))
      let data: Buffer
      try {
        data = await blobClient.downloadToBuffer()
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode === 404) {
          return json(res, 404, {
            error_code: 'RESOURCE_DOES_NOT_EXIST',
            message: `Artifact '${path}' does not exist`
          })
        }
        throw err
      }
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-disposition': `attachment; filename=${path.split('/').pop() ?? path}`,
        'content-length': String(data.length)
      })
      res.end(data)
      return
    }
    if (method === 'DELETE') {
      for await (const item of container.listBlobsFlat({ prefix: key(path) })) {
        if (item.name === key(path) || item.name.startsWith(`${key(path)}/`))
          await container.deleteBlob(item.name)
      }
      return json(res, 200, {})
    }
    return json(res, 405, { error_code: 'BAD_REQUEST', message: 'Method not allowed' })
  }

  return {
    handle(req, res, log) {
      const path = (req.url ?? '/').split('?')[0] ?? '/'
      if (path !== PREFIX && !path.startsWith(`${PREFIX}/`)) return false
      route(req, res, log).catch((err: unknown) => fail(req, res, log, err))
      return true
    }
  }
}
