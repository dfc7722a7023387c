/**
 * The shape of a stack independent of its settings: where each resource lives and what it needs
 * first. Deploy walks it forward; destroy walks it backward.
 */
import type { StackNames } from '../config/naming.js'
import type { ResourceAddress } from '../azure/port.js'
import type { ResourceKind } from './specs.js'

export const DEPENDENCIES: Record<ResourceKind, ResourceKind[]> = {
  resourceGroup: [],
  virtualNetwork: ['resourceGroup'],
  privateDnsZone: ['resourceGroup'],
  privateDnsLink: ['privateDnsZone', 'virtualNetwork'],
  logAnalytics: ['resourceGroup'],
  storageAccount: ['resourceGroup'],
  blobContainer: ['storageAccount'],
  postgresServer: ['virtualNetwork', 'privateDnsLink'],
  postgresDatabase: ['postgresServer'],
  managedEnvironment: ['virtualNetwork', 'logAnalytics'],
  containerApp: ['managedEnvironment', 'postgresDatabase', 'blobContainer']
}

export const RESOURCE_KINDS = Object.keys(DEPENDENCIES) as ResourceKind[]

export function stackAddresses(names: StackNames): Record<ResourceKind, ResourceAddress> {
  const rg = names.resourceGroup
  const at = (name: string, parent?: string): ResourceAddress => ({ resourceGroup: rg, name, parent })
  return {
    resourceGroup: at(rg),
    virtualNetwork: at(names.virtualNetwork),
    privateDnsZone: at(names.privateDnsZone),
    privateDnsLink: at(names.privateDnsLink, names.privateDnsZone),
    logAnalytics: at(names.logAnalytics),
    storageAccount: at(names.storageAccount),
    blobContainer: at(names.blobContainer, names.storageAccount),
    postgresServer: at(names.postgresServer),
    postgresDatabase: at(names.postgresDatabase, names.postgresServer),
    managedEnvironment: at(names.managedEnvironment),
    containerApp: at(names.containerApp)
  }
}

/** Kinds that depend on `kind`: they must be gone before it can be deleted. */
export function dependents(kind: ResourceKind): ResourceKind[] {
  return RESOURCE_KINDS.filter((k) => DEPENDENCIES[k].includes(kind))
}
