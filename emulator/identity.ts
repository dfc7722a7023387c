/**
 * Managed identities at run time: the directory's principals, the tokens the emulator issues for
 * them, the token endpoint a replica asks, and the Bearer check of the blob front door.
 *
 * Principals: each user-assigned identity's `principalId` (replicated after its `principal`
 * while), each system-assigned identity of an app, job or environment, and the deploying principal
 * (`deployer` in the ready line: who runs the action; it holds no role until one is assigned, as
 * on Azure).
 *
 * Token endpoint: what Container Apps gives each replica of an app or job that has an identity,
 * `IDENTITY_ENDPOINT` + `IDENTITY_HEADER` in its env ("Managed identities in Azure Container Apps":
 * the App Service protocol; next-capabilities §4.3 [unverified for ACA]). azure-identity
 * (`_credentials/app_service.py`) and MSAL for `@azure/identity` send
 * `GET <IDENTITY_ENDPOINT>?api-version=2019-08-01&resource=<scope without /.default>[&client_id=…]`
 * with `X-IDENTITY-HEADER: <IDENTITY_HEADER>`; the answer is `{access_token, expires_on (epoch
 * seconds, as a string), resource, token_type: "Bearer", client_id}`. Here it is a plain HTTP
 * server on 127.0.0.1 (`identityPort` in the state), each app's or job's header an HMAC of its id.
 * A token is issued only for an identity attached to that app or job (`client_id`, `object_id` /
 * `principal_id` or `mi_res_id` picks a user-assigned one; none: the system-assigned one) and only
 * for Storage (`https://storage.azure.com` or an account's blob endpoint); anything else is refused
 * (400, AAD's `invalid_resource` words) — the emulated directory knows no other resource. The
 * deploying principal has its own header (ready line) and may also ask for
 * `https://management.azure.com`, which answers the ARM token of the ready line.
 *
 * Tokens: JWTs (HS256 with a key derived from the state's secret) with Entra ID's claims for an app
 * token: `aud`, `iss` `https://sts.windows.net/<tenant>/`, `iat`/`nbf`/`exp` (24 h, MI tokens'
 * usual life [unverified]), `oid`/`sub` the principal, `tid`, `appid` the client id, `xms_mirid`
 * the identity's resource id, `idtyp: app`.
 *
 * Bearer at the blob front door: a token this emulator did not sign, or one for another audience
 * (the ARM token of the ready line included): 401 `InvalidAuthenticationInfo` "Server failed to
 * authenticate the request. Please refer to the information in the www-authenticate header." with
 * `WWW-Authenticate: Bearer authorization_uri=https://login.microsoftonline.com/<tenant>/oauth2/authorize
 * resource_id=https://storage.azure.com` (the Storage bearer challenge the SDKs'
 * `storageBearerTokenChallengeAuthenticationPolicy` reads) [unverified detail wording]. A valid
 * token's principal needs a data role on the account, its resource group or subscription (or the
 * container): Storage Blob Data Reader, Contributor or Owner to read, Contributor or Owner to
 * write; Owner and Contributor give no data access (MicrosoftDocs, "Assign an Azure role for access
 * to blob data"). The assignment counts only once it has propagated; otherwise 403
 * `AuthorizationPermissionMismatch` "This request is not authorized to perform this operation
 * using this permission." (next-capabilities §4.5 [unverified code for this case]).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { BlobRefusal } from './blobFrontDoor.js'
import type { BearerCheck } from './blobGate.js'
import type { EmulatorContext } from './context.js'
import { idKey } from './ids.js'
import { asObject, asString, objectAt, stringAt, type JsonObject } from './json.js'
import { LoopbackServer } from './listen.js'
import { derivedGuid, tenantOf } from './random.js'
import {
  covers,
  effectiveAt,
  roleOf,
  ROLE_ASSIGNMENT_TYPE,
  scopeOf,
  type KnownPrincipal
} from './resources/roleAssignments.js'
import { accountByName } from './resources/storageAccounts.js'
import { IDENTITY_TYPE } from './resources/userAssignedIdentities.js'
import type { ResourceRecord } from './store.js'
import type { ContainerEnvVar } from './runtime/types.js'

export const STORAGE_AUDIENCE = 'https://storage.azure.com'
const MANAGEMENT_AUDIENCE = 'https://management.azure.com'
const TOKEN_LIFETIME_S = 24 * 3600
const API_VERSION = '2019-08-01'

const READ_ROLES = [
  '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1', // Storage Blob Data Reader
  'ba92f5b4-2d11-453d-a403-e96b0029c9fe', // Storage Blob Data Contributor
  'b7e6dc6d-f1e8-4753-8033-0f276bb0955b' // Storage Blob Data Owner
]
const WRITE_ROLES = READ_ROLES.slice(1)

export interface TokenClaims {
  aud: string
  iss: string
  iat: number
  nbf: number
  exp: number
  oid: string
  sub: string
  tid: string
  appid?: string
  xms_mirid?: string
  idtyp: 'app'
}

const b64url = (data: Buffer | string): string => Buffer.from(data).toString('base64url')

function signingKey(ctx: EmulatorContext): Buffer {
  return createHash('sha256').update(`tokens|${ctx.store.state.token}`).digest()
}

function tenant(ctx: EmulatorContext): string {
  return tenantOf(ctx.store.state.subscriptionId)
}

/** The deploying principal: who runs the action (ids fixed per state dir). */
export function deployer(ctx: EmulatorContext): { principalId: string; clientId: string } {
  const seed = ctx.store.state.token
  return {
    principalId: derivedGuid('deployer.principal', seed),
    clientId: derivedGuid('deployer.client', seed)
  }
}

export function issueToken(
  ctx: EmulatorContext,
  who: { principalId: string; clientId?: string; identityId?: string },
  audience: string
): { token: string; expiresOn: number } {
  const now = Math.floor(Date.now() / 1000)
  const claims: TokenClaims = {
    aud: audience,
    iss: `https://sts.windows.net/${tenant(ctx)}/`,
    iat: now,
    nbf: now,
    exp: now + TOKEN_LIFETIME_S,
    oid: who.principalId,
    sub: who.principalId,
    tid: tenant(ctx),
    ...(who.clientId ? { appid: who.clientId } : {}),
    ...(who.identityId ? { xms_mirid: who.identityId } : {}),
    idtyp: 'app'
  }
  const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))
  const body = b64url(JSON.stringify(claims))
  const sig = createHmac('sha256', signingKey(ctx)).update(`${head}.${body}`).digest('base64url')
  return { token: `${head}.${body}.${sig}`, expiresOn: claims.exp }
}

export function verifyToken(
  ctx: EmulatorContext,
  token: string
): { claims: TokenClaims } | { failure: string } {
  if (token === ctx.store.state.token)
    return { failure: 'Audience validation failed. Audience did not match.' }
  const [head, body, sig] = token.split('.')
  if (!head || !body || !sig) return { failure: 'Signature validation failed.' }
  const expected = createHmac('sha256', signingKey(ctx)).update(`${head}.${body}`).digest()
  const given = Buffer.from(sig, 'base64url')
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return { failure: 'Signature validation failed.' }
  let claims: TokenClaims
  try {
    claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as TokenClaims
  } catch {
    return { failure: 'Signature validation failed.' }
  }
  if (Date.now() / 1000 > claims.exp) return { failure: 'Lifetime validation failed. The token is expired.' }
  return { claims }
}

/** The identity block an app, job or environment has (internal for apps/jobs, body for environments). */
function identityOf(record: ResourceRecord): JsonObject | undefined {
  return asObject(record.internal['identity']) ?? asObject(record.body['identity'])
}

/** The principals the emulated directory knows. */
export function findPrincipal(ctx: EmulatorContext, principalId: string): KnownPrincipal | undefined {
  const id = principalId.toLowerCase()
  if (deployer(ctx).principalId === id) return { type: 'ServicePrincipal', replicatedAt: 0 }
  for (const record of ctx.store.byType(IDENTITY_TYPE)) {
    if (stringAt(record.body, 'properties', 'principalId') === id) {
      const at = record.internal['replicatedAt']
      return { type: 'ServicePrincipal', replicatedAt: typeof at === 'number' ? at : 0 }
    }
  }
  for (const record of Object.values(ctx.store.state.resources)) {
    if (asString(identityOf(record)?.['principalId'])?.toLowerCase() === id)
      return { type: 'ServicePrincipal', replicatedAt: 0 }
  }
  return undefined
}

interface Chosen {
  principalId: string
  clientId?: string
  identityId?: string
}

/** The identity of `record` a token request names (or its system-assigned one). */
function chooseIdentity(record: ResourceRecord, query: URLSearchParams): Chosen | string {
  const identity = identityOf(record)
  const users = objectAt(identity, 'userAssignedIdentities') ?? {}
  const clientId = query.get('client_id')?.toLowerCase()
  const objectId = (query.get('object_id') ?? query.get('principal_id'))?.toLowerCase()
  const resourceId = query.get('mi_res_id') ?? query.get('msi_res_id')
  if (clientId || objectId || resourceId) {
    for (const [id, value] of Object.entries(users)) {
      const v = asObject(value)
      const cid = asString(v?.['clientId'])?.toLowerCase()
      const pid = asString(v?.['principalId'])?.toLowerCase()
      if (
        (clientId && cid === clientId) ||
        (objectId && pid === objectId) ||
        (resourceId && idKey(id) === idKey(resourceId))
      )
        return { principalId: pid ?? '', clientId: cid, identityId: id }
    }
    return 'Unable to load the proper Managed Identity.'
  }
  const system = asString(identity?.['principalId'])
  if (system) return { principalId: system.toLowerCase() }
  return 'Unable to load the proper Managed Identity.'
}

/** Strips `/.default` and a trailing slash: the resource a token is for. */
function normalizeResource(resource: string): string {
  return resource.replace(/\/\.default$/, '').replace(/\/+$/, '')
}

function isStorageResource(resource: string): boolean {
  return (
    resource === STORAGE_AUDIENCE || /^https:\/\/[a-z0-9]{3,24}\.blob\.core\.windows\.net$/.test(resource)
  )
}

export class IdentityEndpoint {
  private readonly server: LoopbackServer

  constructor(private readonly ctx: EmulatorContext) {
    this.server = new LoopbackServer(createServer((req, res) => this.handle(req, res)))
  }

  get url(): string {
    return `http://127.0.0.1:${this.server.port}/msi/token`
  }

  listen(port: number): Promise<number> {
    return this.server.listen(port)
  }

  close(): Promise<void> {
    return this.server.close()
  }

  private answer(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body)
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(text))
    })
    res.end(text)
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    req.resume()
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    if (req.method !== 'GET' || url.pathname !== '/msi/token')
      return this.answer(res, 404, { statusCode: 404, message: 'Not found' })
    if (url.searchParams.get('api-version') !== API_VERSION) {
      return this.answer(res, 400, {
        statusCode: 400,
        message: `The api-version '${url.searchParams.get('api-version') ?? ''}' is not supported; use ${API_VERSION}.`
      })
    }
    const header = String(req.headers['x-identity-header'] ?? '')
    const subject = header ? subjectOf(this.ctx, header) : undefined
    if (!subject)
      return this.answer(res, 401, {
        statusCode: 401,
        message: 'The X-IDENTITY-HEADER is missing or not valid.'
      })
    const resource = normalizeResource(url.searchParams.get('resource') ?? '')
    if (subject === 'deployer') {
      const d = deployer(this.ctx)
      if (resource === MANAGEMENT_AUDIENCE) {
        return this.answer(res, 200, {
          access_token: this.ctx.store.state.token,
          expires_on: String(Math.floor(Date.now() / 1000) + TOKEN_LIFETIME_S),
          resource,
          token_type: 'Bearer',
          client_id: d.clientId
        })
      }
      return this.token(res, resource, { principalId: d.principalId, clientId: d.clientId })
    }
    const chosen = chooseIdentity(subject, url.searchParams)
    if (typeof chosen === 'string') return this.answer(res, 400, { statusCode: 400, message: chosen })
    return this.token(res, resource, chosen)
  }

  private token(res: ServerResponse, resource: string, who: Chosen): void {
    if (!isStorageResource(resource)) {
      return this.answer(res, 400, {
        error: 'invalid_resource',
        error_description: `AADSTS500011: The resource principal named ${resource} was not found in the tenant named ${tenant(this.ctx)}.`
      })
    }
    const { token, expiresOn } = issueToken(this.ctx, who, resource)
    this.answer(res, 200, {
      access_token: token,
      expires_on: String(expiresOn),
      resource,
      token_type: 'Bearer',
      client_id: who.clientId ?? ''
    })
  }
}

/** The header secret of an app or job (or of the deploying principal). */
export function identityHeader(ctx: EmulatorContext, subject: string): string {
  return createHmac('sha256', signingKey(ctx))
    .update(`identity-header|${subject.toLowerCase()}`)
    .digest('hex')
}

function subjectOf(ctx: EmulatorContext, header: string): ResourceRecord | 'deployer' | undefined {
  if (header === identityHeader(ctx, 'deployer')) return 'deployer'
  for (const record of Object.values(ctx.store.state.resources)) {
    if (!asObject(record.internal['identity'])) continue
    if (identityHeader(ctx, idKey(record.id)) === header) return record
  }
  return undefined
}

/**
 * What a replica of an app or job with an identity gets in its env: `IDENTITY_ENDPOINT` and
 * `IDENTITY_HEADER` (the latter a secret, masked in logs). None without an identity.
 */
export function identityEnv(ctx: EmulatorContext, record: ResourceRecord): ContainerEnvVar[] {
  const identity = asObject(record.internal['identity'])
  const type = asString(identity?.['type']) ?? 'None'
  if (!identity || type.toLowerCase() === 'none' || !ctx.store.state.identityPort) return []
  return [
    { name: 'IDENTITY_ENDPOINT', value: `http://127.0.0.1:${ctx.store.state.identityPort}/msi/token` },
    { name: 'IDENTITY_HEADER', value: identityHeader(ctx, idKey(record.id)), secret: true }
  ]
}

function unauthenticated(ctx: EmulatorContext, detail: string): BlobRefusal {
  return {
    status: 401,
    code: 'InvalidAuthenticationInfo',
    message:
      'Server failed to authenticate the request. Please refer to the information in the www-authenticate header.',
    detail,
    headers: {
      'www-authenticate': `Bearer authorization_uri=https://login.microsoftonline.com/${tenant(ctx)}/oauth2/authorize resource_id=${STORAGE_AUDIENCE}`
    }
  }
}

/** The front door's check of a Bearer token (see the top of this file). */
export function bearerCheck(ctx: EmulatorContext): BearerCheck {
  return (accountName, token, req, url) => {
    const verified = verifyToken(ctx, token)
    if ('failure' in verified) return unauthenticated(ctx, verified.failure)
    const { claims } = verified
    const aud = normalizeResource(claims.aud)
    if (aud !== STORAGE_AUDIENCE && aud !== `https://${accountName}.blob.core.windows.net`)
      return unauthenticated(ctx, 'Audience validation failed. Audience did not match.')
    const account = accountByName(ctx, accountName)
    if (!account) return unauthenticated(ctx, 'The account does not exist.')
    const container = url.pathname.split('/').filter(Boolean)[0]
    const target = container ? `${account.id}/blobServices/default/containers/${container}` : account.id
    const write = req.method !== 'GET' && req.method !== 'HEAD'
    const roles = write ? WRITE_ROLES : READ_ROLES
    const now = ctx.now()
    const granted = ctx.store
      .byType(ROLE_ASSIGNMENT_TYPE)
      .some(
        (a) =>
          stringAt(a.body, 'properties', 'principalId') === claims.oid.toLowerCase() &&
          roles.includes(roleOf(a)) &&
          covers(scopeOf(a), target) &&
          effectiveAt(a) <= now
      )
    if (granted) return undefined
    return {
      status: 403,
      code: 'AuthorizationPermissionMismatch',
      message: 'This request is not authorized to perform this operation using this permission.'
    }
  }
}
