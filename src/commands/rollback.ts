/**
 * `rollback`: traffic goes back to the revision that served before the current one (the app's
 * `mlflow-previous-revision` tag), reactivated and gated like any new revision. Refused, with the
 * database's restore window, when that revision needs an older schema than the database has.
 */
import type { AzurePort } from '../azure/port.js'
import type { DeployConfig } from '../config/inputs.js'
import { stackAddresses } from '../stack/graph.js'
import { planRollback, PREVIOUS_REVISION_TAG } from '../stack/steps.js'
import { lockStack, type DeployResult } from './deploy.js'
import type { HeldLock } from './stackLock.js'
import { executeSteps } from './execute.js'
import { readPermissions, refuseMissing } from './permissions.js'
import { neededForSteps } from '../stack/permissions.js'
import type { Log } from './log.js'

export async function rollback(
  config: DeployConfig,
  port: AzurePort,
  log: Log,
  opts: { waitTimeoutMs: number }
): Promise<DeployResult> {
  const lock = await lockStack(config, port, log)
  try {
    return await rollbackLocked(config, port, log, opts, lock)
  } finally {
    await lock.release()
  }
}

async function rollbackLocked(
  config: DeployConfig,
  port: AzurePort,
  log: Log,
  opts: { waitTimeoutMs: number },
  lock: HeldLock
): Promise<DeployResult> {
  const started = Date.now()
  const addresses = stackAddresses(config.names)
  const app = await port.handlers.containerApp.get(addresses.containerApp)
  if (!app)
    throw new Error(
      `Container app ${config.names.containerApp} does not exist: there is nothing to roll back.`
    )
  for (const secret of app.spec.secrets) log.mask(secret.value)
  const [revisions, restore] = await Promise.all([
    port.listRevisions(addresses.containerApp),
    port.getRestoreWindow(addresses.postgresServer).catch(() => ({}) as { earliest?: string })
  ])
  const { [PREVIOUS_REVISION_TAG]: previous, ...tags } = app.spec.tags
  const planned = planRollback({
    revisions,
    ...(previous ? { previous } : {}),
    tags,
    restoreHint:
      `To go back, restore the PostgreSQL server ${config.names.postgresServer} to a moment before that ` +
      `migration (restore window: from ${restore.earliest ?? 'its first backup'} on; the summary of the deploy ` +
      `that migrated names the moment), then deploy the older image-tag.`
  })
  if (planned.refusal) throw new Error(planned.refusal)
  refuseMissing(
    'Rollback refused before any change was made',
    neededForSteps(planned.steps, {
      subscriptionId: config.azure.subscriptionId,
      app: addresses.containerApp,
      job: addresses.migrationJob,
      storageAccount: addresses.storageAccount
    }),
    await readPermissions(port, config.names.resourceGroup, log)
  )
  log.info(`Rolling back from ${planned.serving!.name} to ${planned.target!.name}`)
  const { timeline, record } = await executeSteps(planned.steps, {
    config,
    port,
    log,
    addresses,
    facts: { postgresPasswordIsNew: false, postgresServerExists: true },
    timeoutMs: opts.waitTimeoutMs,
    beforeStep: () => lock.assertHeld()
  })
  return {
    command: 'rollback',
    providers: [],
    entries: [],
    steps: planned.steps,
    changes: planned.steps.length,
    blocked: [],
    timeline,
    record,
    resourceGroup: config.names.resourceGroup,
    appName: config.names.containerApp,
    trackingUri: `https://${app.outputs.fqdn}`,
    revision: planned.target!.name,
    previousRevision: planned.serving!.name,
    migrated: false,
    durationMs: Date.now() - started
  }
}
