/**
 * Resource providers the stack needs. An unregistered provider is the classic first-run failure;
 * deploy registers the missing ones, plan only reports them.
 */
import type { AzurePort, ProviderState } from '../azure/port.js'
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
}

export async function checkProviders(
  port: AzurePort,
  opts: { register: boolean; pollMs: number; timeoutMs: number }
): Promise<ProviderStatus[]> {
  const states = await Promise.all(REQUIRED_PROVIDERS.map((ns) => port.getProvider(ns)))
  return Promise.all(
    states.map(async (state): Promise<ProviderStatus> => {
      if (state.registrationState === 'Registered')
        return { namespace: state.namespace, action: 'registered' }
      if (!opts.register) return { namespace: state.namespace, action: 'register' }
      await registerProvider(port, state, opts)
      return { namespace: state.namespace, action: 'registered-now' }
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
      return { namespace: p.namespace, action: 'registered-now' }
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
