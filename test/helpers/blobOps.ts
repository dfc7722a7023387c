/**
 * Runs `blob-ops.mjs` (a real `@azure/storage-blob` client in its own process) with the local Azure's
 * ready-line environment, so it reaches `https://<account>.blob.core.windows.net` the way a client
 * on Azure would: through DNS (here the proxy) and a certificate it trusts (here the CA).
 */
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { ROOT } from './root.js'

const SCRIPT = join(ROOT, 'test', 'helpers', 'blob-ops.mjs')

export type BlobCredential =
  | { kind: 'key'; key: string }
  | { kind: 'sas'; key: string }
  | { kind: 'token'; token: string }
  | { kind: 'identity'; clientId?: string }

export interface BlobOp {
  op:
    | 'createContainer'
    | 'containerExists'
    | 'upload'
    | 'download'
    | 'delete'
    | 'list'
    | 'properties'
    | 'acquireLease'
    | 'renewLease'
    | 'releaseLease'
    | 'breakLease'
  container: string
  blob?: string
  text?: string
  leaseId?: string
  proposedLeaseId?: string
  duration?: number
  breakPeriod?: number
}

export type BlobResult =
  { ok: true; value: unknown } | { ok: false; status: number; code: string; message: string }

export function blobOps(
  env: Record<string, string>,
  account: string,
  credential: BlobCredential,
  ops: BlobOp[],
  extraEnv: Record<string, string> = {}
): Promise<BlobResult[]> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [SCRIPT, JSON.stringify({ account, credential, ops })],
      { env: { ...process.env, ...env, ...extraEnv }, timeout: 60_000 },
      (err, stdout, stderr) => {
        const line = stdout.trim().split('\n').pop() ?? ''
        try {
          resolve(JSON.parse(line) as BlobResult[])
        } catch {
          reject(new Error(`blob-ops failed: ${err?.message ?? ''}\n${stderr}\n${stdout}`))
        }
      }
    )
  })
}
