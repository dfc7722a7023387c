/**
 * The credential the ARM clients use. Pure of `@actions/core`: the caller passes `getIdToken` (the
 * GitHub OIDC token for `api://AzureADTokenExchange`), called again whenever the AAD token expires,
 * so a long run keeps working.
 */
import { ClientAssertionCredential, DefaultAzureCredential } from '@azure/identity'
import type { AccessToken, TokenCredential } from '@azure/identity'

export interface CredentialOptions {
  clientId?: string
  tenantId?: string
  /** Returns a fresh federated token (GitHub OIDC) for the client-assertion flow. */
  getIdToken?: () => Promise<string>
  /** A bearer token obtained elsewhere (e.g. `az account get-access-token`, or the local emulator). */
  accessToken?: string
  authorityHost?: string
}

export type CredentialKind = 'client-assertion' | 'access-token' | 'default'

/** Which flow `createCredential` picks for these options. */
export function credentialKind(opts: CredentialOptions): CredentialKind {
  if (opts.clientId && opts.tenantId) return 'client-assertion'
  if (opts.accessToken) return 'access-token'
  return 'default'
}

/** A credential that always returns the same token, reported as valid for the next hour. */
export function staticTokenCredential(token: string): TokenCredential {
  return {
    getToken: async (): Promise<AccessToken> => ({
      token,
      expiresOnTimestamp: Date.now() + 3_600_000,
      tokenType: 'Bearer'
    })
  }
}

export function createCredential(opts: CredentialOptions): TokenCredential {
  const authority = opts.authorityHost ? { authorityHost: opts.authorityHost } : {}
  switch (credentialKind(opts)) {
    case 'client-assertion': {
      const getIdToken = opts.getIdToken
      if (!getIdToken) {
        throw new Error(
          'client-id and tenant-id are set but no OIDC token source was given (permissions: id-token: write?)'
        )
      }
      return new ClientAssertionCredential(opts.tenantId!, opts.clientId!, getIdToken, authority)
    }
    case 'access-token':
      return staticTokenCredential(opts.accessToken!)
    case 'default':
      return new DefaultAzureCredential(authority)
  }
}
