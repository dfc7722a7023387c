/**
 * A local Azure with one storage account and a blob container in it, made through the real ARM
 * clients: where the tests of the blob endpoint start, so that each of them reads as what it does
 * to the account rather than how the account came to be.
 */
import type { BlobContainer, StorageAccountCreateParameters } from '@azure/arm-storage'
import { startEmulator, type Emulator, type EmulatorOptions } from './emulator.js'
import { fastLro, sdkClients, type SdkClients } from './sdk.js'

export interface BlobAccount {
  location: string
  resourceGroup: string
  account: string
  container: string
  /** Create parameters beyond a Standard_LRS StorageV2 account in `location`. */
  accountProperties?: Partial<StorageAccountCreateParameters>
  containerProperties?: BlobContainer
}

export interface WithBlobAccount {
  emu: Emulator
  c: SdkClients
  accountId: string
}

export async function startWithBlobAccount(
  options: EmulatorOptions,
  a: BlobAccount
): Promise<WithBlobAccount> {
  const emu = await startEmulator(options)
  const c = sdkClients(emu)
  try {
    await c.rm.resourceGroups.createOrUpdate(a.resourceGroup, { location: a.location })
    const account = await c.st.storageAccounts.create(
      a.resourceGroup,
      a.account,
      { sku: { name: 'Standard_LRS' }, kind: 'StorageV2', location: a.location, ...a.accountProperties },
      fastLro
    )
    await c.st.blobContainers.create(a.resourceGroup, a.account, a.container, a.containerProperties ?? {})
    return { emu, c, accountId: account.id! }
  } catch (err) {
    // The caller never gets the emulator to stop.
    await emu.stop()
    throw err
  }
}

/** The account's keys as `listKeys` answers them now. */
export async function accountKeys(
  c: SdkClients,
  resourceGroup: string,
  account: string
): Promise<{ key1: string; key2: string }> {
  const keys = (await c.st.storageAccounts.listKeys(resourceGroup, account)).keys ?? []
  return { key1: keys[0]!.value!, key2: keys[1]!.value! }
}
