/**
 * The resource types `GET /subscriptions/{sub}/providers/{namespace}` lists (Providers_Get,
 * `GetProvider.json`), for the namespaces the action uses: the types of the Azure providers
 * the emulator serves (tracked types, the location-scoped operation types its polling URLs use, and
 * `locations`/`operations`). `locations` are the region display names of `regions.ts` (global types:
 * `global`); `apiVersions` are newest first and start with the one the action's SDK client sends.
 * Other namespaces have no table: their listing carries no `resourceTypes`.
 */
import type { JsonObject } from '../json.js'
import { regionDisplayNames } from '../regions.js'

type Where = 'regions' | 'global' | 'none'

interface TypeEntry {
  resourceType: string
  where: Where
  /** ARM's capability flags for the type: tracked types take tags and a location. */
  tracked: boolean
}

interface NamespaceTable {
  /** `@azure/arm-*` default first, then earlier stable versions of the same provider. */
  apiVersions: string[]
  types: TypeEntry[]
  /** Types of the namespace that another SDK (with its own api-versions) serves. */
  more?: { apiVersions: string[]; types: TypeEntry[] }
}

const regional = (resourceType: string, tracked = false): TypeEntry => ({
  resourceType,
  where: 'regions',
  tracked
})
const unplaced = (resourceType: string): TypeEntry => ({ resourceType, where: 'none', tracked: false })

const TABLE: Record<string, NamespaceTable> = {
  // @azure/arm-appcontainers: 2026-07-01
  'microsoft.app': {
    apiVersions: ['2026-07-01', '2026-01-01', '2025-01-01', '2024-03-01', '2023-05-01', '2022-03-01'],
    types: [
      regional('managedEnvironments', true),
      regional('managedEnvironments/certificates', true),
      regional('containerApps', true),
      regional('jobs', true),
      unplaced('locations'),
      regional('locations/managedEnvironmentOperationResults'),
      regional('locations/managedEnvironmentOperationStatuses'),
      regional('locations/containerappOperationResults'),
      regional('locations/containerappOperationStatuses'),
      unplaced('operations')
    ]
  },
  // @azure/arm-postgresql-flexible: 2025-08-01
  'microsoft.dbforpostgresql': {
    apiVersions: ['2025-08-01', '2024-08-01', '2022-12-01', '2021-06-01'],
    types: [
      regional('flexibleServers', true),
      unplaced('locations'),
      regional('locations/azureAsyncOperation'),
      regional('locations/operationResults'),
      unplaced('operations')
    ]
  },
  // @azure/arm-network: 2026-01-01; @azure/arm-privatedns: 2024-06-01
  'microsoft.network': {
    apiVersions: ['2026-01-01', '2025-05-01', '2024-05-01', '2023-09-01'],
    types: [
      regional('virtualNetworks', true),
      unplaced('locations'),
      regional('locations/operations'),
      regional('locations/operationResults'),
      unplaced('operations')
    ],
    more: {
      apiVersions: ['2024-06-01', '2020-06-01', '2018-09-01'],
      types: [
        { resourceType: 'privateDnsZones', where: 'global', tracked: true },
        { resourceType: 'privateDnsZones/virtualNetworkLinks', where: 'global', tracked: true }
      ]
    }
  },
  // @azure/arm-operationalinsights: 2025-07-01
  'microsoft.operationalinsights': {
    apiVersions: ['2025-07-01', '2025-02-01', '2023-09-01', '2022-10-01', '2020-08-01'],
    types: [
      regional('workspaces', true),
      unplaced('locations'),
      regional('locations/operationStatuses'),
      unplaced('operations')
    ]
  },
  // Azure Machine Learning workspaces (mlWorkspaces.ts): the action reads them with 2024-10-01
  // through @azure/arm-resources; earlier stable versions of workspaceRP.json follow.
  'microsoft.machinelearningservices': {
    apiVersions: ['2024-10-01', '2024-04-01', '2023-10-01', '2023-04-01', '2022-10-01'],
    types: [
      regional('workspaces', true),
      unplaced('locations'),
      regional('locations/workspaceOperationsStatus'),
      unplaced('operations')
    ]
  },
  // @azure/arm-storage: 2026-06-01
  'microsoft.storage': {
    apiVersions: ['2026-06-01', '2025-06-01', '2025-01-01', '2024-01-01', '2023-05-01'],
    types: [
      regional('storageAccounts', true),
      regional('storageAccounts/blobServices'),
      unplaced('checkNameAvailability'),
      unplaced('locations'),
      regional('locations/asyncoperations'),
      unplaced('operations')
    ]
  }
}

function view(entry: TypeEntry, apiVersions: string[]): JsonObject {
  const locations =
    entry.where === 'regions' ? regionDisplayNames() : entry.where === 'global' ? ['global'] : []
  return {
    resourceType: entry.resourceType,
    locations,
    apiVersions: [...apiVersions],
    capabilities: entry.tracked ? 'SupportsTags, SupportsLocation' : 'None'
  }
}

/** The namespace's `resourceTypes`, or undefined for a namespace without a table. */
export function resourceTypesOf(namespace: string): JsonObject[] | undefined {
  const table = TABLE[namespace.toLowerCase()]
  if (!table) return undefined
  return [
    ...table.types.map((t) => view(t, table.apiVersions)),
    ...(table.more?.types.map((t) => view(t, table.more?.apiVersions ?? [])) ?? [])
  ]
}
