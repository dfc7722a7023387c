/** Resource provider registration (`Microsoft.App`, `Microsoft.DBforPostgreSQL`, ...). */
import type { Provider } from '@azure/arm-resources'
import type { AzureClients } from './clients.js'
import type { ProviderState } from './port.js'

export function providerFromArm(p: Provider, namespace: string): ProviderState {
  return { namespace: p.namespace ?? namespace, registrationState: p.registrationState ?? 'NotRegistered' }
}

export async function getProvider(clients: AzureClients, namespace: string): Promise<ProviderState> {
  return providerFromArm(await clients.resources.providers.get(namespace), namespace)
}

/** Starts the registration; the answer is usually `Registering` (poll `getProvider` until `Registered`). */
export async function registerProvider(clients: AzureClients, namespace: string): Promise<ProviderState> {
  return providerFromArm(await clients.resources.providers.register(namespace), namespace)
}
