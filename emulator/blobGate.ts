/**
 * Who may use a storage account's blob endpoint, decided before Azurite sees the request
 * (`blobFrontDoor.ts`):
 * - the account must exist (else its name does not resolve);
 * - Shared Key (`Authorization: SharedKey|SharedKeyLite …`) and SAS (`sig=` in the query) are
 *   refused with 403 `KeyBasedAuthenticationNotPermitted` "Key based authentication is not permitted
 *   on this storage account." when the account has `allowSharedKeyAccess: false` ("If false, then
 *   all requests, including shared access signatures, must be authorized with Azure Active
 *   Directory", `@azure/arm-storage` 20.2.0 `StorageAccountPropertiesCreateParameters`; code and
 *   body as captured in Azure/AI-Landing-Zones#64). Switching it back applies at once [unverified:
 *   no source gives a delay]; the signature itself is Azurite's to check;
 * - Bearer tokens: see `checkBearer` (identity.ts).
 */
import type { IncomingMessage } from 'node:http'
import type { BlobGate, BlobRefusal } from './blobFrontDoor.js'
import type { EmulatorContext } from './context.js'
import { stringAt, at } from './json.js'
import { accountByName } from './resources/storageAccounts.js'

export type BearerCheck = (
  account: string,
  token: string,
  req: IncomingMessage,
  url: URL
) => BlobRefusal | undefined

export function storageGate(ctx: EmulatorContext, bearer: BearerCheck): BlobGate {
  return {
    exists: (name) => accountByName(ctx, name) !== undefined,
    check(name, req, url) {
      const record = accountByName(ctx, name)
      if (!record)
        return { status: 404, code: 'ResourceNotFound', message: 'The specified resource does not exist.' }
      const auth = String(req.headers['authorization'] ?? '')
      const keyBased = /^SharedKey(Lite)?\s/i.test(auth) || url.searchParams.has('sig')
      if (keyBased && at(record.body, 'properties', 'allowSharedKeyAccess') === false) {
        return {
          status: 403,
          code: 'KeyBasedAuthenticationNotPermitted',
          message: 'Key based authentication is not permitted on this storage account.'
        }
      }
      const bearer_ = /^Bearer\s+(\S+)$/i.exec(auth)
      if (bearer_) return bearer(stringAt(record.body, 'name') ?? name, bearer_[1] ?? '', req, url)
      return undefined
    }
  }
}
