/**
 * The Blob service: Azurite's blob server in-process on a free 127.0.0.1 port (the port is reused
 * across restarts when free), data under `<state>/azurite`, API-version check skipped, no access
 * log, no telemetry. Its accounts are exactly the emulator's storage accounts with the keys ARM
 * hands out: `setAccounts` replaces Azurite's account table at once, so a regenerated key stops the
 * old one from working immediately and a deleted account answers like a missing one. Blob
 * containers written through ARM are created (and deleted) here with `@azure/storage-blob`.
 */
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob'
import { mkdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'

const require = createRequire(import.meta.url)

export interface StorageAccountKeys {
  name: string
  key1: string
  key2?: string
}

/** The parts of Azurite's (untyped) classes this module uses. */
interface AzuriteAccount {
  name: string
  key1: Buffer
  key2?: Buffer
}
interface AzuriteAccountStore {
  accounts: Record<string, AzuriteAccount>
  refresh(): void
}
interface AzuriteBlobServer {
  accountDataStore: AzuriteAccountStore
  httpServer: { address(): AddressInfo | string | null }
  start(): Promise<void>
  close(): Promise<void>
}
type BlobConfigurationCtor = new (...args: unknown[]) => object
type BlobServerCtor = new (config: object) => AzuriteBlobServer

function loadAzurite(): { BlobServer: BlobServerCtor; BlobConfiguration: BlobConfigurationCtor } {
  const server = require('azurite/dist/src/blob/BlobServer.js') as { default: BlobServerCtor }
  const config = require('azurite/dist/src/blob/BlobConfiguration.js') as { default: BlobConfigurationCtor }
  const telemetry = require('azurite/dist/src/common/Telemetry.js') as {
    AzuriteTelemetryClient: { init(location: string, enable: boolean, env: unknown): void }
  }
  telemetry.AzuriteTelemetryClient.init('', false, undefined)
  return { BlobServer: server.default, BlobConfiguration: config.default }
}

export class BlobBackend {
  private server?: AzuriteBlobServer
  private accounts: Record<string, AzuriteAccount> = {}
  private port = 0

  constructor(private readonly stateDir: string) {}

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`
  }

  async start(preferredPort?: number): Promise<number> {
    const { BlobServer, BlobConfiguration } = loadAzurite()
    const location = join(this.stateDir, 'azurite')
    mkdirSync(location, { recursive: true })
    const listen = async (port: number): Promise<AzuriteBlobServer> => {
      const config = new BlobConfiguration(
        '127.0.0.1',
        port,
        5,
        join(location, '__azurite_db_blob__.json'),
        join(location, '__azurite_db_blob_extent__.json'),
        [{ locationId: 'Default', locationPath: join(location, '__blobstorage__'), maxConcurrency: 10 }],
        false, // access log
        undefined,
        false, // debug log
        undefined,
        false, // loose
        true // skip the API version check
      )
      const server = new BlobServer(config)
      // Azurite reads its accounts from AZURITE_ACCOUNTS (and falls back to devstoreaccount1);
      // here the table is exactly the emulator's storage accounts, also when there are none.
      const store = server.accountDataStore
      store.refresh = () => {
        store.accounts = this.accounts
      }
      await server.start()
      return server
    }
    if (preferredPort) {
      try {
        this.server = await listen(preferredPort)
      } catch (err) {
        process.stderr.write(
          `[emulator] previous blob port ${preferredPort} is taken (${String(err)}); using a free one\n`
        )
      }
    }
    this.server ??= await listen(0)
    const address = this.server.httpServer.address()
    this.port = typeof address === 'object' && address ? address.port : 0
    return this.port
  }

  setAccounts(accounts: StorageAccountKeys[]): void {
    const table: Record<string, AzuriteAccount> = {}
    for (const a of accounts) {
      table[a.name] = {
        name: a.name,
        key1: Buffer.from(a.key1, 'base64'),
        ...(a.key2 ? { key2: Buffer.from(a.key2, 'base64') } : {})
      }
    }
    this.accounts = table
    this.server?.accountDataStore.refresh()
  }

  private containerClient(account: string, key: string, container: string) {
    return new BlobServiceClient(
      `${this.endpoint}/${account}`,
      new StorageSharedKeyCredential(account, key)
    ).getContainerClient(container)
  }

  async ensureContainer(account: string, key: string, container: string): Promise<void> {
    await this.containerClient(account, key, container).createIfNotExists()
  }

  async deleteContainer(account: string, key: string, container: string): Promise<void> {
    await this.containerClient(account, key, container).deleteIfExists()
  }

  async stop(): Promise<void> {
    const server = this.server
    this.server = undefined
    if (server) await server.close()
  }
}
