/**
 * The Blob service: Azurite's blob server in-process on a free 127.0.0.1 port (the port is reused
 * across restarts when free), data under `<state>/azurite`, API-version check skipped, no access
 * log, no telemetry. Its accounts are exactly the emulator's storage accounts: Azurite asks
 * `accounts(name)` on every request, which answers the keys the account accepts at that moment (a
 * regenerated key stops the old value at once, and its new value only once it has propagated; see
 * storageAccounts.ts), and nothing for a deleted account. Blob containers written through ARM are
 * created (and deleted) here with `@azure/storage-blob`.
 *
 * Clients do not talk to this port: they reach an account at its real endpoint
 * `https://<account>.blob.core.windows.net` through the front door (`blobFrontDoor.ts`), which
 * forwards to Azurite with the Host kept, so Azurite takes the account from the host's first label
 * (its "production-style" URLs, `extractStoragePartsFromPath` in
 * `azurite/dist/src/blob/middlewares/blobStorageContext.middleware.js`) and a SharedKey signature
 * made for the host-style URL verifies. Bearer tokens: Azurite's own check (`--oauth basic`: issuer,
 * audience, lifetime; `BlobTokenAuthenticator.js`) runs after the front door's; Azurite takes
 * Bearer only over HTTPS, so it trusts `X-Forwarded-Proto` from the loopback front door.
 */
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob'
import { mkdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { listenOnPreferredPort } from '../listen.js'

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
  getAccount(name: string): AzuriteAccount | undefined
}
/** LokiJS, which keeps Azurite's metadata (`autosave` every 5 s; write-then-rename on save). */
interface LokiDatabase {
  saveDatabase(callback: (err?: unknown) => void): void
}
interface AzuriteBlobServer {
  accountDataStore: AzuriteAccountStore
  /** Containers and blobs (`LokiBlobMetadataStore`), and where their bytes are (`LokiExtentMetadataStore`). */
  metadataStore: { db: LokiDatabase }
  extentMetadataStore: { db: LokiDatabase }
  httpServer: {
    address(): AddressInfo | string | null
    listeners(event: 'request'): unknown[]
  }
  start(): Promise<void>
  close(): Promise<void>
}
interface AzuriteRequest {
  getHeader(name: string): string | undefined
}
type BlobConfigurationCtor = new (...args: unknown[]) => object
type BlobServerCtor = new (config: object) => AzuriteBlobServer

let tokenCheckNarrowed = false

function loadAzurite(): { BlobServer: BlobServerCtor; BlobConfiguration: BlobConfigurationCtor } {
  const server = require('azurite/dist/src/blob/BlobServer.js') as { default: BlobServerCtor }
  const config = require('azurite/dist/src/blob/BlobConfiguration.js') as { default: BlobConfigurationCtor }
  const telemetry = require('azurite/dist/src/common/Telemetry.js') as {
    AzuriteTelemetryClient: { init(location: string, enable: boolean, env: unknown): void }
  }
  telemetry.AzuriteTelemetryClient.init('', false, undefined)
  // Azurite runs its token check after the key and SAS checks and throws 400
  // InvalidAuthenticationInfo for any Authorization that is not Bearer, which turns a wrong SharedKey
  // into a 400. A non-Bearer request is none of its business: it answers "not mine", and a failed
  // key check ends as Azurite's 403 without Bearer enabled.
  const token = require('azurite/dist/src/blob/authentication/BlobTokenAuthenticator.js') as {
    default: { prototype: { validate(req: AzuriteRequest, context: unknown): Promise<boolean | undefined> } }
  }
  const validate = token.default.prototype.validate
  if (tokenCheckNarrowed) return { BlobServer: server.default, BlobConfiguration: config.default }
  tokenCheckNarrowed = true
  token.default.prototype.validate = async function (req: AzuriteRequest, context: unknown) {
    const auth = req.getHeader('authorization')
    if (auth !== undefined && !/^Bearer\s/i.test(auth)) return undefined
    return validate.call(this, req, context)
  }
  return { BlobServer: server.default, BlobConfiguration: config.default }
}

/** The keys an account accepts right now (base64), or undefined for no such account. */
export type AccountLookup = (name: string) => StorageAccountKeys | undefined

export class BlobBackend {
  private server?: AzuriteBlobServer
  private accounts: AccountLookup = () => undefined
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
        true, // skip the API version check
        '', // cert: plain HTTP on loopback, behind the front door's TLS
        '',
        '',
        'basic' // OAuth: Bearer tokens are accepted (the front door decided who may send one)
      )
      const server = new BlobServer(config)
      // Azurite reads its accounts from AZURITE_ACCOUNTS (and falls back to devstoreaccount1);
      // here they are exactly the emulator's storage accounts, looked up on every request.
      const store = server.accountDataStore
      store.refresh = () => {
        store.accounts = {}
      }
      store.getAccount = (name: string) => this.azuriteAccount(name)
      // Bearer needs HTTPS in Azurite (`req.protocol`); the front door terminates TLS on loopback
      // and says so in X-Forwarded-Proto, which Express believes only from loopback.
      for (const listener of server.httpServer.listeners('request')) {
        const app = listener as { set?: (name: string, value: unknown) => void }
        app.set?.('trust proxy', 'loopback')
      }
      await server.start()
      return server
    }
    this.server = await listenOnPreferredPort('blob', listen, undefined, preferredPort)
    const address = this.server.httpServer.address()
    this.port = typeof address === 'object' && address ? address.port : 0
    return this.port
  }

  get listeningPort(): number {
    return this.port
  }

  /** Where Azurite asks for an account's keys, on every request. */
  setAccounts(lookup: AccountLookup): void {
    this.accounts = lookup
  }

  private azuriteAccount(name: string): AzuriteAccount | undefined {
    const a = this.accounts(name)
    if (!a) return undefined
    return {
      name: a.name,
      key1: Buffer.from(a.key1, 'base64'),
      ...(a.key2 ? { key2: Buffer.from(a.key2, 'base64') } : {})
    }
  }

  private containerClient(account: string, key: string, container: string) {
    return new BlobServiceClient(
      `${this.endpoint}/${account}`,
      new StorageSharedKeyCredential(account, key)
    ).getContainerClient(container)
  }

  /**
   * The container exists; with `metadata`, it has exactly that metadata (what ARM's container PUT
   * and PATCH set: the same container's metadata on both planes).
   */
  async ensureContainer(
    account: string,
    key: string,
    container: string,
    metadata?: Record<string, string>
  ): Promise<void> {
    const client = this.containerClient(account, key, container)
    const created = await client.createIfNotExists(metadata ? { metadata } : {})
    if (metadata && !created.succeeded) await client.setMetadata(metadata)
  }

  async deleteContainer(account: string, key: string, container: string): Promise<void> {
    await this.containerClient(account, key, container).deleteIfExists()
  }

  /**
   * Azurite's metadata is on disk as it is now. Azurite keeps it in memory and saves it every 5 s
   * (and on close), so a crash loses the writes of the last seconds although their answers went
   * out: the blob's bytes are on disk, but nothing says the blob exists. On Azure a write that was
   * answered is durable: "a write request to an LRS storage account returns successfully only after
   * the data is written to all three replicas" (learn.microsoft.com storage-redundancy, LRS)
   * [unverified: quoted second-hand]; the front door calls this before it passes a write's answer
   * on. LokiJS serialises when a save starts and calls back a save that started after the call
   * (`throttledSaves`), so what the write changed is in it; each save writes a temporary file and
   * renames it over the old one.
   */
  async flush(): Promise<void> {
    const server = this.server
    if (!server) return
    await Promise.all(
      [server.metadataStore.db, server.extentMetadataStore.db].map(
        (db) =>
          new Promise<void>((resolvePromise, reject) =>
            db.saveDatabase((err) =>
              err ? reject(err instanceof Error ? err : new Error(String(err))) : resolvePromise()
            )
          )
      )
    )
  }

  async stop(): Promise<void> {
    const server = this.server
    this.server = undefined
    if (server) await server.close()
  }
}
