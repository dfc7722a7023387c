/**
 * The stack's lock: a lease on a blob in the stack's own storage account, so a deploy, a bump, a
 * rollback and a key rotation of one stack never interleave, whichever workflow runs them. The
 * lease is renewed while held, released on success and on failure, and expires by itself when the
 * holder dies (Azure ends an unrenewed lease after its duration: 15–60 s, "Lease Blob" REST docs).
 * A second run waits, bounded by `lock-timeout`, then fails naming the holder.
 */
import { randomUUID } from 'node:crypto'
import type { LockBlob, LockHolder } from '../azure/blobData.js'
import type { AzurePort, ResourceAddress, StorageKeys } from '../azure/port.js'
import type { CommonConfig } from '../config/inputs.js'
import { stackAddresses } from '../stack/graph.js'
import { pollUntil, PollTimeoutError } from '../util/poll.js'
import { formatSeconds, type Log } from './log.js'

/** Lease length: an abandoned lock frees itself within this; renewed at a third of it. */
export const LEASE_SECONDS = 30

const NO_ROLE =
  'the deploying identity has no data role on the storage account yet (keyless mode needs Storage Blob Data Contributor; a new assignment takes minutes to apply)'

/** Keyless mode: the deployer's data role may not have reached the data plane yet. */
function noDataRoleYet(error: unknown): boolean {
  const e = error as { statusCode?: number; code?: string }
  return e.statusCode === 403 && e.code === 'AuthorizationPermissionMismatch'
}

export class LockTimeoutError extends Error {
  constructor(
    readonly stackName: string,
    readonly heldBy: LockHolder | undefined,
    waitedMs: number
  ) {
    super(
      `Stack ${stackName} is locked by ${heldBy ? `${heldBy.holder} (command ${heldBy.command}, since ${heldBy.since})` : 'another run'}; ` +
        `waited ${formatSeconds(waitedMs)} (lock-timeout). Runs that change a stack take turns; rerun once it has finished, ` +
        `or raise lock-timeout. A run that died frees the lock within ${LEASE_SECONDS} s.`
    )
    this.name = 'LockTimeoutError'
  }
}

export interface HeldLock {
  /**
   * Whether the lock was taken at the first try: then nothing changed the stack between the reads
   * made to take it and the moment it was held, and the plan may reuse them.
   */
  atFirstTry: boolean
  /** Throws when the lease was lost (renewal failed): no further write may start. */
  assertHeld(): void
  release(): Promise<void>
}

export async function acquireStackLock(
  port: AzurePort,
  account: ResourceAddress,
  keys: StorageKeys,
  opts: { stack: string; holder: LockHolder; timeoutMs: number; pollMs: number; log: Log }
): Promise<HeldLock> {
  const blob: LockBlob = await port.lockBlob(account, keys)
  const leaseId = randomUUID()
  let ensured = false
  let noRole = false
  const t0 = Date.now()
  let last: LockHolder | undefined
  let announced = false
  let attempts = 0
  try {
    await pollUntil(
      async () => {
        attempts++
        try {
          if (!ensured) await blob.ensure()
          ensured = true
        } catch (error) {
          if (!noDataRoleYet(error)) throw error
          noRole = true
          return { done: false, status: NO_ROLE }
        }
        const r = await blob.tryAcquire(leaseId, LEASE_SECONDS, opts.holder).catch((error: unknown) => {
          if (noDataRoleYet(error)) return undefined
          throw error
        })
        if (!r) {
          noRole = true
          return { done: false, status: NO_ROLE }
        }
        noRole = false
        if (r.acquired) return { done: true, value: undefined }
        last = r.heldBy
        if (!announced) {
          opts.log.info(
            `Stack ${opts.stack} is locked by ${last ? `${last.holder} (command ${last.command}, since ${last.since})` : 'another run'}: waiting up to ${formatSeconds(opts.timeoutMs)}`
          )
          announced = true
        }
        return { done: false, status: 'locked' }
      },
      { intervalMs: opts.pollMs, timeoutMs: opts.timeoutMs, what: `the lock of stack ${opts.stack}` }
    )
  } catch (error) {
    if (error instanceof PollTimeoutError && noRole)
      throw new Error(
        `Could not take the lock of stack ${opts.stack}: ${NO_ROLE}. Waited ${formatSeconds(Date.now() - t0)} (lock-timeout).`,
        { cause: error }
      )
    if (error instanceof PollTimeoutError) throw new LockTimeoutError(opts.stack, last, Date.now() - t0)
    throw error
  }
  opts.log.info(
    `Lock of stack ${opts.stack} taken${announced ? ` after ${formatSeconds(Date.now() - t0)}` : ''}`
  )

  let lost: unknown
  let renewing: Promise<void> = Promise.resolve()
  const timer = setInterval(
    () => {
      renewing = blob.renew(leaseId).catch((error: unknown) => {
        lost ??= error
      })
    },
    (LEASE_SECONDS * 1000) / 3
  )
  timer.unref()
  return {
    atFirstTry: attempts === 1,
    assertHeld() {
      if (lost !== undefined)
        throw new Error(
          `The lock of stack ${opts.stack} was lost (its lease could not be renewed: ${String(lost)}); stopping before the next change. Rerun to continue.`
        )
    },
    async release() {
      clearInterval(timer)
      await renewing
      await blob.release(leaseId).then(
        () => opts.log.info(`Lock of stack ${opts.stack} released`),
        (error: unknown) => {
          // It expires on its own; say so rather than fail a run that did its work.
          opts.log.warning(
            `Could not release the lock of stack ${opts.stack} (${String(error)}); it expires within ${LEASE_SECONDS} s`
          )
        }
      )
    }
  }
}

/** What a run needs to take its stack's lock. */
export type LockSettings = Pick<
  CommonConfig,
  'stackName' | 'names' | 'holder' | 'lockTimeoutMs' | 'azure'
> & {
  command: string
}

/**
 * Takes the lock of a stack whose storage account exists, with the account's keys (returned too: a
 * lock taken at the first try leaves them current for the plan).
 */
export async function lockExistingStack(
  config: LockSettings,
  port: AzurePort,
  log: Log
): Promise<HeldLock & { keys: StorageKeys }> {
  const account = stackAddresses(config.names).storageAccount
  const keys = await port.listStorageKeys(account)
  log.mask(keys.key1)
  log.mask(keys.key2)
  const lock = await acquireStackLock(port, account, keys, {
    stack: config.stackName,
    holder: { holder: config.holder, command: config.command, since: new Date().toISOString() },
    timeoutMs: config.lockTimeoutMs,
    pollMs: Math.max(config.azure.pollIntervalMs, 1000),
    log
  })
  return { ...lock, keys }
}
