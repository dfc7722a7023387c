/**
 * Container Apps environment: VNet-integrated (workload-profiles environment on the delegated `aca`
 * subnet), logs to the Log Analytics workspace. The workspace shared key is write-only.
 */
import type { ManagedEnvironment } from '@azure/arm-appcontainers'
import type { ManagedEnvironmentSpec } from '../stack/specs.js'
import type { AzureClients } from './clients.js'
import {
  deleteIgnoringNotFound,
  getOrUndefined,
  lro,
  normalizeLocation,
  normalizeTags,
  tagsForArm
} from './common.js'
import type { Observed, ResourceAddress, ResourceHandler } from './port.js'

export const CONSUMPTION_PROFILE = { name: 'Consumption', workloadProfileType: 'Consumption' } as const

export function toArm(spec: ManagedEnvironmentSpec): ManagedEnvironment {
  return {
    location: spec.location,
    tags: tagsForArm(spec.tags),
    vnetConfiguration: { infrastructureSubnetId: spec.infrastructureSubnetId, internal: spec.internal },
    appLogsConfiguration: {
      destination: 'log-analytics',
      logAnalyticsConfiguration: {
        customerId: spec.logAnalyticsCustomerId,
        ...(spec.logAnalyticsSharedKey !== undefined ? { sharedKey: spec.logAnalyticsSharedKey } : {})
      }
    },
    workloadProfiles: [{ ...CONSUMPTION_PROFILE }]
  }
}

export function fromArm(env: ManagedEnvironment, address?: ResourceAddress): Observed<'managedEnvironment'> {
  return {
    kind: 'managedEnvironment',
    id: env.id ?? '',
    name: env.name ?? address?.name ?? '',
    provisioningState: env.provisioningState,
    ...(env.deploymentErrors ? { statusDetail: env.deploymentErrors } : {}),
    spec: {
      location: normalizeLocation(env.location),
      tags: normalizeTags(env.tags),
      infrastructureSubnetId: env.vnetConfiguration?.infrastructureSubnetId ?? '',
      internal: env.vnetConfiguration?.internal ?? false,
      logAnalyticsCustomerId: env.appLogsConfiguration?.logAnalyticsConfiguration?.customerId ?? ''
    },
    outputs: { defaultDomain: env.defaultDomain ?? '', staticIp: env.staticIp ?? '' }
  }
}

export function managedEnvironmentHandler(clients: AzureClients): ResourceHandler<'managedEnvironment'> {
  const ops = clients.containerApps.managedEnvironments
  return {
    kind: 'managedEnvironment',
    async get(address) {
      const env = await getOrUndefined(() => ops.get(address.resourceGroup, address.name))
      return env && fromArm(env, address)
    },
    async put(address, spec) {
      const env = await ops.createOrUpdate(
        address.resourceGroup,
        address.name,
        toArm(spec),
        lro(clients.pollIntervalMs)
      )
      return fromArm(env, address)
    },
    async delete(address) {
      await deleteIgnoringNotFound(() =>
        ops.delete(address.resourceGroup, address.name, lro(clients.pollIntervalMs))
      )
    }
  }
}
