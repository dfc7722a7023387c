/**
 * Reading a stack's actual state: every resource in parallel, then the few secondary reads that
 * only make sense once a resource is known to exist (keys, shared key), also in parallel.
 */
import { randomBytes } from 'node:crypto'
import type { AzurePort, Observed, ResourceAddress, StorageKeys } from '../azure/port.js'
import type { Facts } from '../stack/facts.js'
import { APP_STATE_TAGS, servingRevision } from '../stack/steps.js'
import { keyForDeploy } from '../stack/storageKeys.js'
import { STACK, STACK_KEYS, type ActualState, type StackKey } from '../stack/graph.js'
import {
  SECRET_ADMIN_PASSWORD,
  SECRET_BACKEND_STORE_URI,
  SECRET_FLASK_KEY,
  SECRET_STORAGE_KEY,
  passwordFromBackendStoreUri,
  storageAccessOf
} from '../stack/mlflowContainer.js'
import type { ResourceKind } from '../stack/specs.js'
import { isTransitional } from '../azure/states.js'
import { pollUntil } from '../util/poll.js'
import { formatSeconds, type Log } from './log.js'

/**
 * Reads the stack; a resource that an earlier run left in the middle of an operation (a cancelled
 * workflow leaves a PostgreSQL create running for minutes) is waited for until it settles or is
 * gone, within `timeoutMs`, so the plan never contains a write that Azure must refuse.
 */
export async function readSettledState(
  port: AzurePort,
  addresses: Record<StackKey, ResourceAddress>,
  log: Log,
  opts: { pollMs: number; timeoutMs: number; known?: ActualState },
  keys: readonly StackKey[] = STACK_KEYS
): Promise<ActualState> {
  // What the caller read a moment ago under the same lock is not read again.
  const known = opts.known ?? {}
  const unread = keys.filter((k) => !(k in known))
  const actual: ActualState = { ...known, ...(await readActualState(port, addresses, unread)) }
  const busy = keys.filter((k) => isTransitional(actual[k]?.provisioningState))
  await Promise.all(
    busy.map(async (key) => {
      const first = actual[key]!
      log.info(
        `${key} ${first.name} is ${first.provisioningState} (an operation still running in Azure, e.g. from a cancelled run): waiting for it to finish`
      )
      const t0 = Date.now()
      const settled = await pollUntil(
        async () => {
          const now = await getAny(port, STACK[key].kind, addresses[key])
          return now && isTransitional(now.provisioningState)
            ? { done: false, status: now.provisioningState ?? '' }
            : { done: true, value: now }
        },
        {
          intervalMs: opts.pollMs,
          timeoutMs: opts.timeoutMs,
          what: `${key} ${first.name} to finish the operation it is in (${first.provisioningState}); rerun once it has`
        }
      )
      if (settled) Object.assign(actual, { [key]: settled })
      else delete actual[key]
      log.info(
        `${key} ${first.name}: ${settled ? (settled.provisioningState ?? 'Succeeded') : 'deleted'} after ${formatSeconds(Date.now() - t0)}`
      )
    })
  )
  return actual
}

export async function readActualState(
  port: AzurePort,
  addresses: Record<StackKey, ResourceAddress>,
  keys: readonly StackKey[] = STACK_KEYS
): Promise<ActualState> {
  // The VNet's GET answers its subnets whole: the subnets read with it are not read again.
  const withNetwork = keys.includes('virtualNetwork')
  const subnetKeys = withNetwork
    ? keys.filter((k) => STACK[k].kind === 'subnet' && addresses[k].parent === addresses.virtualNetwork.name)
    : []
  const [network, entries] = await Promise.all([
    withNetwork ? port.readVirtualNetwork(addresses.virtualNetwork) : undefined,
    Promise.all(
      keys
        .filter((k) => k !== 'virtualNetwork' && !subnetKeys.includes(k))
        .map(async (key) => [key, await getAny(port, STACK[key].kind, addresses[key])] as const)
    )
  ])
  const actual: ActualState = {}
  for (const [key, observed] of entries) if (observed) Object.assign(actual, { [key]: observed })
  if (network?.network) actual.virtualNetwork = network.network
  for (const key of subnetKeys) {
    const name = addresses[key].name.toLowerCase()
    const subnet = network?.subnets.find((s) => s.name.toLowerCase() === name)
    if (subnet) Object.assign(actual, { [key]: subnet })
  }
  return actual
}

function getAny(
  port: AzurePort,
  kind: ResourceKind,
  address: ResourceAddress
): Promise<Observed<ResourceKind> | undefined> {
  return (
    port.handlers[kind] as { get(a: ResourceAddress): Promise<Observed<ResourceKind> | undefined> }
  ).get(address)
}

/** A password Azure accepts (upper, lower, digit and symbol) that needs no quoting in a URI. */
export function generatePassword(): string {
  return `Mf1-${randomBytes(24).toString('base64url')}`
}

function secretValue(
  holder: Observed<'containerApp'> | Observed<'job'> | undefined,
  name: string
): string | undefined {
  // A job read by GET has its secrets' names only (empty values): no value, not an empty one.
  return holder?.spec.secrets.find((s) => s.name === name)?.value || undefined
}

async function jobBackendStoreUri(
  port: AzurePort,
  addresses: Record<StackKey, ResourceAddress>,
  log: Log
): Promise<string | undefined> {
  const secrets = await port.listJobSecrets(addresses.migrationJob)
  for (const secret of secrets) log.mask(secret.value)
  return secrets.find((s) => s.name === SECRET_BACKEND_STORE_URI)?.value || undefined
}

export async function gatherFacts(
  port: AzurePort,
  addresses: Record<StackKey, ResourceAddress>,
  actual: ActualState,
  log: Log,
  opts: {
    /** A PR environment: its role's password is its own, and the server's admin stays untouched. */
    pr?: boolean
    /** The account's keys as the lock just read them, while this run held it. */
    storageKeys?: StorageKeys
  } = {}
): Promise<Facts> {
  // The workspace's shared key is not read here: only a write of the environment needs it, and the
  // put step reads it then (a no-op run, and every PR run, never asks for it).
  const [keys, revisions] = await Promise.all([
    actual.storageAccount ? (opts.storageKeys ?? port.listStorageKeys(addresses.storageAccount)) : undefined,
    actual.containerApp ? port.listRevisions(addresses.containerApp) : []
  ])
  const app = actual.containerApp
  const job = actual.migrationJob
  for (const secret of app?.spec.secrets ?? []) log.mask(secret.value)
  if (keys) {
    log.mask(keys.key1)
    log.mask(keys.key2)
  }

  const appKey = secretValue(app, SECRET_STORAGE_KEY)
  const storageKey = keys && keys[keyForDeploy(keys, appKey)]

  // The job holds the same URI: a run cut off after the job but before the app still finds it (its
  // values are listed only then: a GET answers none).
  const uri =
    secretValue(app, SECRET_BACKEND_STORE_URI) ??
    (job ? await jobBackendStoreUri(port, addresses, log) : undefined)
  const known = uri === undefined ? undefined : passwordFromBackendStoreUri(uri)
  const password = known ?? generatePassword()
  log.mask(password)
  if (!known && actual.postgresServer && !opts.pr) {
    log.warning(
      'The database password is not recorded in the container app (an earlier run stopped before creating it); ' +
        'a new password will be set on the PostgreSQL server.'
    )
  }

  const flaskSecretKey = secretValue(app, SECRET_FLASK_KEY) ?? randomBytes(32).toString('hex')
  log.mask(flaskSecretKey)

  const serving = servingRevision(revisions)
  const servingUsesIdentity = serving ? storageAccessOf(serving.container) === 'managed-identity' : false
  return {
    ...(actual.identity
      ? {
          identityClientId: actual.identity.outputs.clientId,
          identityPrincipalId: actual.identity.outputs.principalId
        }
      : {}),
    ...(servingUsesIdentity && app?.spec.identityId ? { keepIdentityId: app.spec.identityId } : {}),
    flaskSecretKey,
    adminPassword: secretValue(app, SECRET_ADMIN_PASSWORD),
    workspaceCustomerId: actual.logAnalytics?.outputs.customerId,
    environmentDefaultDomain: actual.managedEnvironment?.outputs.defaultDomain,
    storageKey,
    postgresPassword: password,
    postgresPasswordIsNew: known === undefined,
    postgresServerExists: actual.postgresServer !== undefined,
    revisions: [...revisions].sort((a, b) => a.createdTime.localeCompare(b.createdTime)),
    ...(keys ? { storageKeys: keys } : {}),
    ...(appKey !== undefined ? { appStorageSecret: appKey } : {}),
    appStateTags: Object.fromEntries(
      APP_STATE_TAGS.flatMap((t) => (app?.spec.tags[t] ? [[t, app.spec.tags[t]]] : []))
    )
  }
}

/** Facts a freshly written resource makes known to the resources after it. */
export async function factsFromApplied(
  port: AzurePort,
  kind: ResourceKind,
  address: ResourceAddress,
  observed: Observed<ResourceKind>,
  facts: Facts,
  log: Log
): Promise<Partial<Facts>> {
  switch (kind) {
    case 'logAnalytics': {
      const sharedKey = await port.getWorkspaceSharedKey(address)
      log.mask(sharedKey)
      return {
        workspaceCustomerId: (observed as Observed<'logAnalytics'>).outputs.customerId,
        workspaceSharedKey: sharedKey
      }
    }
    case 'storageAccount': {
      if (facts.storageKeys) return {}
      const keys = await port.listStorageKeys(address)
      log.mask(keys.key1)
      log.mask(keys.key2)
      return { storageKeys: keys, ...(facts.storageKey ? {} : { storageKey: keys.key1 }) }
    }
    case 'managedEnvironment':
      return { environmentDefaultDomain: (observed as Observed<'managedEnvironment'>).outputs.defaultDomain }
    case 'identity': {
      const { clientId, principalId } = (observed as Observed<'identity'>).outputs
      return { identityClientId: clientId, identityPrincipalId: principalId }
    }
    default:
      return {}
  }
}
