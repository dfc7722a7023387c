/**
 * The real `@azure/arm-*` clients pointed at a local Azure, as tests that talk to it directly
 * need them (contract tests, and tests that change the stack behind the action's back the way a
 * person or a policy would), plus the small waits and error captures those tests share.
 */
import { ContainerAppsAPIClient } from '@azure/arm-appcontainers'
import { NetworkManagementClient } from '@azure/arm-network'
import { OperationalInsightsManagementClient } from '@azure/arm-operationalinsights'
import { PostgreSQLManagementFlexibleServerClient } from '@azure/arm-postgresql-flexible'
import { PrivateDnsManagementClient } from '@azure/arm-privatedns'
import { ResourceManagementClient } from '@azure/arm-resources'
import { StorageManagementClient } from '@azure/arm-storage'
import { readFileSync } from 'node:fs'

export interface LocalAzure {
  endpoint: string
  caCertPath: string
  subscriptionId: string
  token: string
}

export type RetryOptions = { maxRetries?: number; retryDelayInMs?: number; maxRetryDelayInMs?: number }

export function sdkClients(emu: LocalAzure, retryOptions?: RetryOptions) {
  const credential = {
    getToken: async () => ({ token: emu.token, expiresOnTimestamp: Date.now() + 3_600_000 })
  }
  const common = {
    endpoint: emu.endpoint,
    tlsOptions: { ca: readFileSync(emu.caCertPath, 'utf8') },
    ...(retryOptions ? { retryOptions } : {})
  }
  const sub = emu.subscriptionId
  return {
    rm: new ResourceManagementClient(credential, sub, common),
    net: new NetworkManagementClient(credential, sub, common),
    dns: new PrivateDnsManagementClient(credential, sub, common),
    oi: new OperationalInsightsManagementClient(credential, sub, common),
    st: new StorageManagementClient(credential, sub, common),
    pg: new PostgreSQLManagementFlexibleServerClient(credential, sub, {
      ...common,
      credentialScopes: ['https://management.azure.com/.default']
    }),
    aca: new ContainerAppsAPIClient(credential, sub, common)
  }
}

export type SdkClients = ReturnType<typeof sdkClients>

/** Fast polling for the emulator's scaled operations. */
export const fastLro = { updateIntervalInMs: 20 }

/** Re-reads until the value satisfies `ok`, failing with the last value once the deadline passes. */
export async function until<T>(
  what: string,
  read: () => Promise<T>,
  ok: (v: T) => boolean,
  deadlineMs = 15_000
): Promise<T> {
  const deadline = Date.now() + deadlineMs
  let last: T = await read()
  while (!ok(last)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`)
    await new Promise((r) => setTimeout(r, 20))
    last = await read()
  }
  return last
}

/** The error a call fails with; fails the test when the call succeeds. */
export async function armError(
  promise: Promise<unknown>
): Promise<{ statusCode?: number; code?: string; message: string }> {
  try {
    await promise
  } catch (err) {
    return err as { statusCode?: number; code?: string; message: string }
  }
  throw new Error('expected the call to fail')
}

/**
 * Restarts a revision and waits until it has really restarted. A restart is asynchronous (a fresh
 * replica starts beside the running one and takes over once healthy), so the revision reads
 * `Running` before, during and after it: only replicas that all postdate the call prove the new
 * process, with the secrets it read at start, is the one serving.
 */
export async function restartRevisionAndWait(
  aca: ContainerAppsAPIClient,
  resourceGroup: string,
  app: string,
  revision: string,
  deadlineMs = 300_000
): Promise<void> {
  const replicas = async () =>
    (await aca.containerAppsRevisionReplicas.listReplicas(resourceGroup, app, revision)).value
  const before = new Set((await replicas()).map((r) => r.name))
  await aca.containerAppsRevisions.restartRevision(resourceGroup, app, revision)
  await until(
    `revision ${revision} to restart`,
    replicas,
    (now) => now.length > 0 && now.every((r) => !before.has(r.name) && r.runningState === 'Running'),
    deadlineMs
  )
}
