/**
 * A blob client in a process of its own, as a real one runs: `@azure/storage-blob` against an
 * account's real endpoint `https://<account>.blob.core.windows.net`, reached with nothing but the
 * environment the local Azure's ready line hands out (HTTPS_PROXY, NO_PROXY, NODE_EXTRA_CA_CERTS).
 *
 *   node blob-ops.mjs '<json {account, credential, ops}>'
 *
 * credential: {kind: 'key', key} | {kind: 'sas', key} (an account SAS signed with that key) |
 * {kind: 'token', token} (a static Bearer token) | {kind: 'identity', clientId?} (DefaultAzureCredential).
 * ops: [{op, container, blob?, ...}], run in order; prints one JSON line: the result of each op,
 * `{ok: true, value}` or `{ok: false, status, code, message}`. An op that fails does not stop the rest.
 */
import {
  AccountSASPermissions,
  AccountSASResourceTypes,
  AccountSASServices,
  AnonymousCredential,
  BlobServiceClient,
  StorageSharedKeyCredential,
  generateAccountSASQueryParameters
} from '@azure/storage-blob'

const { account, credential, ops } = JSON.parse(process.argv[2] ?? '{}')
const url = `https://${account}.blob.core.windows.net`

async function service() {
  switch (credential.kind) {
    case 'key':
      return new BlobServiceClient(url, new StorageSharedKeyCredential(account, credential.key))
    case 'sas': {
      const sas = generateAccountSASQueryParameters(
        {
          expiresOn: new Date(Date.now() + 3_600_000),
          permissions: AccountSASPermissions.parse('rwdlac'),
          resourceTypes: AccountSASResourceTypes.parse('sco').toString(),
          services: AccountSASServices.parse('b').toString()
        },
        new StorageSharedKeyCredential(account, credential.key)
      ).toString()
      return new BlobServiceClient(`${url}?${sas}`, new AnonymousCredential())
    }
    case 'token':
      return new BlobServiceClient(url, {
        getToken: async () => ({ token: credential.token, expiresOnTimestamp: Date.now() + 3_600_000 })
      })
    case 'identity': {
      const { DefaultAzureCredential } = await import('@azure/identity')
      return new BlobServiceClient(
        url,
        new DefaultAzureCredential(
          credential.clientId ? { managedIdentityClientId: credential.clientId } : {}
        )
      )
    }
    default:
      throw new Error(`unknown credential kind ${credential.kind}`)
  }
}

async function run(svc, o) {
  const container = svc.getContainerClient(o.container)
  const blob = o.blob ? container.getBlockBlobClient(o.blob) : undefined
  const lease = (id) => blob.getBlobLeaseClient(id)
  const conditions = o.leaseId ? { conditions: { leaseId: o.leaseId } } : {}
  switch (o.op) {
    case 'createContainer':
      await container.create()
      return null
    case 'containerExists':
      return await container.exists()
    case 'upload':
      await blob.upload(o.text, Buffer.byteLength(o.text), conditions)
      return null
    case 'download':
      return (await blob.downloadToBuffer()).toString('utf8')
    case 'delete':
      await blob.delete(conditions)
      return null
    case 'list': {
      const names = []
      for await (const b of container.listBlobsFlat()) names.push(b.name)
      return names
    }
    case 'properties': {
      const p = await blob.getProperties()
      return { leaseState: p.leaseState, leaseStatus: p.leaseStatus, leaseDuration: p.leaseDuration }
    }
    case 'acquireLease':
      return (await lease(o.proposedLeaseId).acquireLease(o.duration)).leaseId
    case 'renewLease':
      await lease(o.leaseId).renewLease()
      return null
    case 'releaseLease':
      await lease(o.leaseId).releaseLease()
      return null
    case 'breakLease':
      return (await lease().breakLease(o.breakPeriod)).leaseTime
    default:
      throw new Error(`unknown op ${o.op}`)
  }
}

const svc = await service()
const results = []
for (const o of ops) {
  try {
    results.push({ ok: true, value: (await run(svc, o)) ?? null })
  } catch (err) {
    results.push({
      ok: false,
      status: err.statusCode ?? 0,
      code: err.code ?? err.details?.errorCode ?? err.name,
      message: String(err.message ?? err).split('\n')[0]
    })
  }
}
process.stdout.write(`${JSON.stringify(results)}\n`)
