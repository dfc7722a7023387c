/**
 * Resource providers the stack needs. An unregistered provider is the classic first-run failure;
 * deploy registers the missing ones, plan only reports them.
 */
import { authorizationFailure } from '../azure/errors.js'
import type { AzurePort, ProviderState } from '../azure/port.js'
import { permissionFix } from '../stack/permissions.js'
import { pollUntil } from '../util/poll.js'

export const REQUIRED_PROVIDERS = [
  'Microsoft.App',
  'Microsoft.DBforPostgreSQL',
  'Microsoft.Network',
  'Microsoft.OperationalInsights',
  'Microsoft.Storage'
] as const

export interface ProviderStatus {
  namespace: string
  /** `registered` already; `register` needed (plan); `registered-now` by this run. */
  action: 'registered' | 'register' | 'registered-now'
  /** Where each of its resource types is offered (lower-case type → normalized regions). */
  locations?: Record<string, string[]>
}

/** The resource types of the stack, each of which must be offered in the stack's region. */
export const STACK_RESOURCE_TYPES = [
  'Microsoft.Network/virtualNetworks',
  'Microsoft.OperationalInsights/workspaces',
  'Microsoft.Storage/storageAccounts',
  'Microsoft.DBforPostgreSQL/flexibleServers',
  'Microsoft.App/managedEnvironments',
  'Microsoft.App/containerApps'
] as const

/**
 * The stack's resource types that the providers say are not offered in `location` (a typo such
 * as `westeuropa`, or a region without PostgreSQL flexible server), so the run can stop before it
 * writes anything. A provider that lists no regions is not second-guessed.
 */
export function unavailableIn(location: string, providers: ProviderStatus[]): string[] {
  return STACK_RESOURCE_TYPES.filter((type) => {
    const [namespace, resourceType] = type.split('/') as [string, string]
    const offered = providers.find((p) => p.namespace.toLowerCase() === namespace.toLowerCase())?.locations?.[
      resourceType.toLowerCase()
    ]
    return offered !== undefined && !offered.includes(location)
  })
}

export async function checkProviders(
  port: AzurePort,
  opts: { register: boolean; pollMs: number; timeoutMs: number }
): Promise<ProviderStatus[]> {
  const states = await Promise.all(REQUIRED_PROVIDERS.map((ns) => port.getProvider(ns)))
  return Promise.all(
    states.map(async (state): Promise<ProviderStatus> => {
      const { namespace, locations } = state
      if (state.registrationState === 'Registered') return { namespace, action: 'registered', locations }
      if (!opts.register) return { namespace, action: 'register', locations }
      await registerProvider(port, state, opts)
      return { namespace, action: 'registered-now', locations }
    })
  )
}

/** Registers the providers `checkProviders` found missing, and waits until they are registered. */
export async function registerProviders(
  port: AzurePort,
  missing: ProviderStatus[],
  opts: { pollMs: number; timeoutMs: number }
): Promise<ProviderStatus[]> {
  return Promise.all(
    missing.map(async (p): Promise<ProviderStatus> => {
      await registerProvider(port, await port.getProvider(p.namespace), opts)
      return { ...p, action: 'registered-now' }
    })
  )
}

async function registerProvider(
  port: AzurePort,
  state: ProviderState,
  opts: { pollMs: number; timeoutMs: number }
): Promise<void> {
  if (state.registrationState !== 'Registering') {
    try {
      await port.registerProvider(state.namespace)
    } catch (error) {
      const denied = authorizationFailure(error)
      if (denied) {
        // Refused by ARM before anything happened: nothing was registered or written.
        throw new Error(
          `Resource provider ${state.namespace} is not registered in subscription ${port.subscriptionId}, and the ` +
            `deploying identity may not register it: it lacks ${denied.action} on ${denied.scope}. ` +
            `Nothing was changed. To fix, ${permissionFix(denied.action)}; then run again.`,
          { cause: error }
        )
      }
      const reason = error instanceof Error ? error.message : String(error)
      throw new Error(
        `Resource provider ${state.namespace} is not registered in the subscription and registering it failed ` +
          `(${reason}). Ask a subscription owner to run: az provider register --namespace ${state.namespace}`,
        { cause: error }
      )
    }
  }
  await pollUntil(
    async () => {
      const now = await port.getProvider(state.namespace)
      return now.registrationState === 'Registered'
        ? { done: true, value: undefined }
        : { done: false, status: now.registrationState }
    },
    {
      intervalMs: opts.pollMs,
      timeoutMs: opts.timeoutMs,
      what: `resource provider ${state.namespace} to register`
    }
  )
}
