/**
 * Azure Machine Learning workspaces, read only: the smoke test asks a workspace for the MLflow
 * tracking URI its clients use. Read through the generic resources API (no Azure ML SDK: the only
 * one, `@azure/arm-machinelearning`, is of the old generation and stopped at api 2022-10-01).
 */
import type { AzureClients } from './clients.js'
import { getOrUndefined, normalizeLocation } from './common.js'
import type { MlWorkspace, ResourceAddress } from './port.js'

/** The newest stable api-version of `Microsoft.MachineLearningServices/workspaces` in the specs. */
export const ML_WORKSPACE_API_VERSION = '2024-10-01'

export function mlWorkspaceFromArm(resource: {
  id?: string
  location?: string
  properties?: unknown
}): MlWorkspace {
  const p = (resource.properties ?? {}) as Record<string, unknown>
  const text = (v: unknown): string => (typeof v === 'string' ? v : '')
  return {
    id: resource.id ?? '',
    location: normalizeLocation(resource.location),
    mlFlowTrackingUri: text(p['mlFlowTrackingUri']),
    publicNetworkAccess: text(p['publicNetworkAccess']),
    provisioningState: text(p['provisioningState'])
  }
}

/** GET …/providers/Microsoft.MachineLearningServices/workspaces/{name}; undefined when absent. */
export async function getMlWorkspace(
  clients: AzureClients,
  address: ResourceAddress
): Promise<MlWorkspace | undefined> {
  const resource = await getOrUndefined(() =>
    clients.resources.resources.get(
      address.resourceGroup,
      'Microsoft.MachineLearningServices',
      '',
      'workspaces',
      address.name,
      ML_WORKSPACE_API_VERSION
    )
  )
  return resource ? mlWorkspaceFromArm(resource) : undefined
}
