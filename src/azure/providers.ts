/** Resource provider registration (`Microsoft.App`, `Microsoft.DBforPostgreSQL`, ...). */
import type { Provider } from '@azure/arm-resources'
import type { AzureClients } from './clients.js'
import { normalizeLocation } from './common.js'
import type { ProviderState } from './port.js'

export function providerFromArm(p: Provider, namespace: string): ProviderState {
  const locations: Record<string, string[]> = {}
  for (const t of p.resourceTypes ?? []) {
    if (t.resourceType && t.locations?.length) {
      locations[t.resourceType.toLowerCase()] = t.locations.map((l) => normalizeLocation(l))
    }
  }
  return {
    namespace: p.namespace ?? namespace,
    registrationState: p.registrationState ?? 'NotRegistered',
    locations
  }
}

export async function getProvider(clients: AzureClients, namespace: string): Promise<ProviderState> {
  return providerFromArm(await clients.resources.providers.get(namespace), namespace)
}

/** Starts the registration; the answer is usually `Registering` (poll `getProvider` until `Registered`). */
export async function registerProvider(clients: AzureClients, namespace: string): Promise<ProviderState> {
  return providerFromArm(await clients.resources.providers.register(namespace), namespace)
}
