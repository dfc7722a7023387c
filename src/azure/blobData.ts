/**
 * The stack storage account's data plane, through `@azure/storage-blob`: whether a key is accepted
 * yet (a regenerated key can be refused for a while), and the lock blob whose lease serializes the
 * runs that change a stack. The account's blob endpoint comes from ARM (`primaryEndpoints.blob`),
 * so sovereign clouds and the local Azure work alike; HTTPS_PROXY and the CA come from the
 * environment, as for every other client.
 */
import {
  BlobServiceClient,
  RestError,
  StorageSharedKeyCredential,
  type BlockBlobClient,
  type ContainerClient
} from '@azure/storage-blob'
import type { TokenCredential } from '@azure/identity'
import type { StorageKeys } from './port.js'

/** The container and blob that hold the stack's lock (never touched by MLflow). */
export const LOCK_CONTAINER = 'mlflow-azure-action'
export const LOCK_BLOB = 'stack.lock'

export interface LockHolder {
  /** The workflow run (URL) or the machine that holds the lock. */
  holder: string
  command: string
  since: string
}

export type AcquireResult = { acquired: true } | { acquired: false; heldBy?: LockHolder }

/** The lock blob as the port exposes it: the lease operations the stack lock needs. */
export interface LockBlob {
  /** Creates the container and the empty blob when they do not exist yet. */
  ensure(): Promise<void>
  tryAcquire(leaseId: string, seconds: number, holder: LockHolder): Promise<AcquireResult>
  renew(leaseId: string): Promise<void>
  release(leaseId: string): Promise<void>
}

function service(
  endpoint: string,
  credential: StorageSharedKeyCredential | TokenCredential
): BlobServiceClient {
  // Data-plane calls are few and cheap; a refusal (403, 409) is an answer, not a fault.
  return new BlobServiceClient(endpoint, credential, { retryOptions: { maxTries: 4 } })
}

function code(error: unknown): string | undefined {
  return error instanceof RestError ? (error.code ?? String(error.statusCode)) : undefined
}

/** `accepted`, or why not (a refusal, which is worth waiting on after a regenerate). */
export async function probeKey(endpoint: string, account: string, key: string): Promise<string> {
  try {
    await service(endpoint, new StorageSharedKeyCredential(account, key)).getProperties()
    return 'accepted'
  } catch (error) {
    if (error instanceof RestError && error.statusCode === 403)
      return `refused (403 ${error.code ?? 'AuthenticationFailed'})`
    throw error
  }
}

/**
 * The lock blob, reached with whichever of the account's keys works: a rotation regenerates both
 * keys while it holds the lock, and a just-regenerated key may be refused for a while, so on a 403
 * the keys are read again and each is tried.
 */
export function lockBlob(
  endpoint: string,
  account: string,
  readKeys: () => Promise<StorageKeys>,
  initial: StorageKeys,
  token?: TokenCredential
): LockBlob {
  let keys = initial
  let preferred: keyof StorageKeys = 'key1'
  // A keyless account refuses every key (403 KeyBasedAuthenticationNotPermitted); from the first
  // such answer on, the lock is reached with an Entra ID token (and the deployer's data role).
  let keyless = false
  const clients = (credential: StorageSharedKeyCredential | TokenCredential) => {
    const container = service(endpoint, credential).getContainerClient(LOCK_CONTAINER)
    return { container, blob: container.getBlockBlobClient(LOCK_BLOB) }
  }
  const clientsFor = (k: string) => clients(new StorageSharedKeyCredential(account, k))
  async function withKey<T>(
    op: (c: { container: ContainerClient; blob: BlockBlobClient }) => Promise<T>
  ): Promise<T> {
    if (keyless && token) return op(clients(token))
    try {
      return await op(clientsFor(keys[preferred]))
    } catch (error) {
      if (token && error instanceof RestError && error.code === 'KeyBasedAuthenticationNotPermitted') {
        keyless = true
        return op(clients(token))
      }
      if (!(error instanceof RestError && error.statusCode === 403)) throw error
      keys = await readKeys()
      let last: unknown = error
      for (const name of ['key1', 'key2'] as const) {
        try {
          const answer = await op(clientsFor(keys[name]))
          preferred = name
          return answer
        } catch (again) {
          if (!(again instanceof RestError && again.statusCode === 403)) throw again
          last = again
        }
      }
      throw last
    }
  }
  return {
    ensure: () =>
      withKey(async ({ container, blob }) => {
        await container.createIfNotExists()
        try {
          // Only when absent: a leased blob refuses writes without its lease id (412).
          await blob.upload('', 0, { conditions: { ifNoneMatch: '*' } })
        } catch (error) {
          if (!['BlobAlreadyExists', 'LeaseIdMissing', 'ConditionNotMet'].includes(code(error) ?? ''))
            throw error
        }
      }),
    tryAcquire: (leaseId, seconds, holder) =>
      withKey(async ({ blob }): Promise<AcquireResult> => {
        try {
          await blob.getBlobLeaseClient(leaseId).acquireLease(seconds)
        } catch (error) {
          if (code(error) !== 'LeaseAlreadyPresent') throw error
          const props = await blob.getProperties().catch(() => undefined)
          const m = props?.metadata ?? {}
          const heldBy = m['holder']
            ? { holder: m['holder'], command: m['command'] ?? '?', since: m['since'] ?? '?' }
            : undefined
          return { acquired: false, ...(heldBy ? { heldBy } : {}) }
        }
        await blob.setMetadata({ ...holder }, { conditions: { leaseId } })
        return { acquired: true }
      }),
    renew: (leaseId) =>
      withKey(async ({ blob }) => {
        await blob.getBlobLeaseClient(leaseId).renewLease()
      }),
    release: (leaseId) =>
      withKey(async ({ blob }) => {
        await blob.getBlobLeaseClient(leaseId).releaseLease()
      })
  }
}
