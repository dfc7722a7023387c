/** Storage account (artifact store): no public blob access, TLS 1.2+, HTTPS only. */
import type {
  StorageAccount,
  StorageAccountCreateParameters,
  StorageAccountListKeysResult
} from '@azure/arm-storage'
import type { StorageAccountSpec } from '../stack/specs.js'
import type { AzureClients } from './clients.js'
import {
  deleteIgnoringNotFound,
  getOrUndefined,
  lro,
  normalizeLocation,
  normalizeTags,
  tagsForArm
} from './common.js'
import type { Observed, ResourceAddress, ResourceHandler, StorageKeys } from './port.js'

export function toArm(spec: StorageAccountSpec): StorageAccountCreateParameters {
  return {
    location: spec.location,
    tags: tagsForArm(spec.tags),
    sku: { name: spec.sku },
    kind: spec.kind,
    allowBlobPublicAccess: spec.allowBlobPublicAccess,
    minimumTlsVersion: spec.minimumTlsVersion,
    enableHttpsTrafficOnly: spec.supportsHttpsTrafficOnly,
    allowSharedKeyAccess: spec.allowSharedKeyAccess
  }
}

export function fromArm(account: StorageAccount, address?: ResourceAddress): Observed<'storageAccount'> {
  return {
    kind: 'storageAccount',
    id: account.id ?? '',
    name: account.name ?? address?.name ?? '',
    provisioningState: account.provisioningState,
    spec: {
      location: normalizeLocation(account.location),
      tags: normalizeTags(account.tags),
      sku: account.sku?.name ?? '',
      kind: account.kind ?? '',
      // Service defaults when a property is absent from the response.
      allowBlobPublicAccess: account.allowBlobPublicAccess ?? false,
      minimumTlsVersion: account.minimumTlsVersion ?? 'TLS1_0',
      supportsHttpsTrafficOnly: account.enableHttpsTrafficOnly ?? true,
      // "The default value is null, which is equivalent to true." (arm-storage 20.2.0)
      allowSharedKeyAccess: account.allowSharedKeyAccess ?? true
    },
    outputs: { blobEndpoint: account.primaryEndpoints?.blob ?? '' }
  }
}

/** `key1`/`key2` from a listKeys / regenerateKey answer. */
export function keysFromArm(result: StorageAccountListKeysResult): StorageKeys {
  const find = (name: string): string => {
    const key = result.keys?.find((k) => k.keyName?.toLowerCase() === name)
    if (!key?.value) throw new Error(`storage account returned no ${name}`)
    return key.value
  }
  return { key1: find('key1'), key2: find('key2') }
}

export function storageAccountHandler(clients: AzureClients): ResourceHandler<'storageAccount'> {
  const ops = clients.storage.storageAccounts
  return {
    kind: 'storageAccount',
    async get(address) {
      const account = await getOrUndefined(() => ops.getProperties(address.resourceGroup, address.name))
      return account && fromArm(account, address)
    },
    async put(address, spec) {
      // PUT on an existing account updates the properties that differ (documented create semantics).
      const account = await ops.create(
        address.resourceGroup,
        address.name,
        toArm(spec),
        lro(clients.pollIntervalMs)
      )
      return fromArm(account, address)
    },
    async delete(address) {
      await deleteIgnoringNotFound(() => ops.delete(address.resourceGroup, address.name))
    }
  }
}

/** POST .../listKeys (a read). */
export async function listKeys(clients: AzureClients, address: ResourceAddress): Promise<StorageKeys> {
  return keysFromArm(await clients.storage.storageAccounts.listKeys(address.resourceGroup, address.name))
}

/** POST .../regenerateKey: only `keyName` changes; returns both keys. */
export async function regenerateKey(
  clients: AzureClients,
  address: ResourceAddress,
  keyName: 'key1' | 'key2'
): Promise<StorageKeys> {
  return keysFromArm(
    await clients.storage.storageAccounts.regenerateKey(address.resourceGroup, address.name, { keyName })
  )
}

/** PATCH of `allowSharedKeyAccess` alone (synchronous, like every account update). */
export async function setSharedKeyAccess(
  clients: AzureClients,
  address: ResourceAddress,
  allowed: boolean
): Promise<void> {
  await clients.storage.storageAccounts.update(address.resourceGroup, address.name, {
    allowSharedKeyAccess: allowed
  })
}
