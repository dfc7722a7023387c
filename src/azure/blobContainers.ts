/** Blob container of the artifact store (`address.parent` = storage account name). */
import type { BlobContainer } from '@azure/arm-storage'
import type { BlobContainerSpec } from '../stack/specs.js'
import type { AzureClients } from './clients.js'
import { deleteIgnoringNotFound, getOrUndefined, requireParent } from './common.js'
import type { Observed, ResourceAddress, ResourceHandler } from './port.js'

export function toArm(spec: BlobContainerSpec): BlobContainer {
  return { publicAccess: spec.publicAccess, ...(spec.metadata ? { metadata: spec.metadata } : {}) }
}

/** The account name from a container id `.../storageAccounts/<acct>/blobServices/default/containers/<c>`. */
function accountFromId(id: string | undefined): string | undefined {
  const m = id ? /\/storageAccounts\/([^/]+)\//i.exec(id) : null
  return m?.[1]
}

export function fromArm(
  container: BlobContainer,
  extras: { accountName?: string; address?: ResourceAddress } = {}
): Observed<'blobContainer'> {
  return {
    kind: 'blobContainer',
    id: container.id ?? '',
    name: container.name ?? extras.address?.name ?? '',
    provisioningState: undefined,
    spec: {
      accountName: extras.accountName ?? extras.address?.parent ?? accountFromId(container.id) ?? '',
      // Only `None` is ever written; anything else reads back as-is so the plan shows the drift.
      publicAccess: (container.publicAccess ?? 'None') as 'None',
      // Only read back when there is some: the base stack's container carries none.
      ...(container.metadata && Object.keys(container.metadata).length > 0
        ? { metadata: { ...container.metadata } }
        : {})
    },
    outputs: {}
  }
}

export function blobContainerHandler(clients: AzureClients): ResourceHandler<'blobContainer'> {
  const ops = clients.storage.blobContainers
  return {
    kind: 'blobContainer',
    async get(address) {
      const account = requireParent(address, 'blob container')
      const c = await getOrUndefined(() => ops.get(address.resourceGroup, account, address.name))
      return c && fromArm(c, { accountName: account, address })
    },
    async put(address, spec) {
      const account = address.parent ?? spec.accountName
      // Synchronous PUT (create or update).
      const c = await ops.create(address.resourceGroup, account, address.name, toArm(spec))
      return fromArm(c, { accountName: account, address })
    },
    async delete(address) {
      const account = requireParent(address, 'blob container')
      await deleteIgnoringNotFound(() => ops.delete(address.resourceGroup, account, address.name))
    }
  }
}

/** The account's blob containers (with their metadata). */
export async function listBlobContainers(
  clients: AzureClients,
  account: ResourceAddress
): Promise<Observed<'blobContainer'>[]> {
  const out: Observed<'blobContainer'>[] = []
  for await (const c of clients.storage.blobContainers.list(account.resourceGroup, account.name))
    out.push(fromArm(c, { accountName: account.name }))
  return out
}
