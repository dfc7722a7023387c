/**
 * Builds the seven `@azure/arm-*` clients for one endpoint (real ARM or the local emulator) and one
 * credential. TLS trust for a local endpoint comes from `NODE_EXTRA_CA_CERTS`.
 */
import { ContainerAppsAPIClient } from '@azure/arm-appcontainers'
import { AuthorizationManagementClient } from '@azure/arm-authorization'
import { ManagedServiceIdentityClient } from '@azure/arm-msi'
import { NetworkManagementClient } from '@azure/arm-network'
import { OperationalInsightsManagementClient } from '@azure/arm-operationalinsights'
import { PostgreSQLManagementFlexibleServerClient } from '@azure/arm-postgresql-flexible'
import { PrivateDnsManagementClient } from '@azure/arm-privatedns'
import { ResourceManagementClient } from '@azure/arm-resources'
import { StorageManagementClient } from '@azure/arm-storage'
import type { TokenCredential } from '@azure/identity'

export const DEFAULT_ARM_ENDPOINT = 'https://management.azure.com'
export const DEFAULT_TOKEN_SCOPE = 'https://management.azure.com/.default'

export interface ClientOptions {
  /** ARM endpoint, e.g. `https://management.azure.com` or `https://127.0.0.1:<port>`. */
  endpoint: string
  subscriptionId: string
  credential: TokenCredential
  /** AAD scope of the tokens, e.g. `https://management.azure.com/.default`. */
  tokenScope: string
  /** Interval between polls of a long-running operation (ms); also drives the SDK's retry delay. */
  pollIntervalMs: number
  userAgentPrefix?: string
}

export interface AzureClients {
  readonly subscriptionId: string
  /** The sign-in the clients use, and its scope: for a token outside them (Azure ML's MLflow). */
  readonly credential: TokenCredential
  readonly tokenScope: string
  /** `updateIntervalInMs` for every long-running operation. */
  readonly pollIntervalMs: number
  readonly resources: ResourceManagementClient
  readonly network: NetworkManagementClient
  readonly privateDns: PrivateDnsManagementClient
  readonly operationalInsights: OperationalInsightsManagementClient
  readonly storage: StorageManagementClient
  readonly postgres: PostgreSQLManagementFlexibleServerClient
  readonly containerApps: ContainerAppsAPIClient
  readonly identities: ManagedServiceIdentityClient
  readonly authorization: AuthorizationManagementClient
}

export function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value))
}

/** Pipeline options shared by every client (modular and AutoRest alike). */
export function pipelineOptions(
  opts: Pick<ClientOptions, 'endpoint' | 'pollIntervalMs' | 'userAgentPrefix'>
): {
  endpoint: string
  retryOptions: { maxRetries: number; retryDelayInMs: number; maxRetryDelayInMs: number }
  userAgentOptions: { userAgentPrefix?: string }
} {
  return {
    endpoint: opts.endpoint.replace(/\/+$/, ''),
    // The pipeline's retries of 429/503/5xx/dropped connections; the action adds none of its own
    // for those (see retry.ts). 6 rather than the SDK's 3: a deploy makes ~200 requests, and under
    // a burst of throttling four straight refusals of one of them are not rare; seven attempts
    // with exponential backoff (capped at 30 s) still bound one request to about two minutes.
    retryOptions: {
      maxRetries: 6,
      retryDelayInMs: clamp(opts.pollIntervalMs, 50, 1000),
      maxRetryDelayInMs: 30_000
    },
    userAgentOptions: opts.userAgentPrefix ? { userAgentPrefix: opts.userAgentPrefix } : {}
  }
}

export function createClients(opts: ClientOptions): AzureClients {
  const common = pipelineOptions(opts)
  const modular = { ...common, credentials: { scopes: [opts.tokenScope] } }
  const { credential, subscriptionId } = opts
  return {
    subscriptionId,
    credential,
    tokenScope: opts.tokenScope,
    pollIntervalMs: opts.pollIntervalMs,
    resources: new ResourceManagementClient(credential, subscriptionId, modular),
    network: new NetworkManagementClient(credential, subscriptionId, modular),
    privateDns: new PrivateDnsManagementClient(credential, subscriptionId, modular),
    operationalInsights: new OperationalInsightsManagementClient(credential, subscriptionId, modular),
    storage: new StorageManagementClient(credential, subscriptionId, modular),
    // The AutoRest client would otherwise ask for `${endpoint}/.default`.
    postgres: new PostgreSQLManagementFlexibleServerClient(credential, subscriptionId, {
      ...common,
      credentialScopes: [opts.tokenScope]
    }),
    containerApps: new ContainerAppsAPIClient(credential, subscriptionId, modular),
    // Both of the older generation, like the PostgreSQL client (next-capabilities §4.4–4.5).
    identities: new ManagedServiceIdentityClient(credential, subscriptionId, {
      ...common,
      credentialScopes: [opts.tokenScope]
    }),
    authorization: new AuthorizationManagementClient(credential, subscriptionId, {
      ...common,
      credentialScopes: [opts.tokenScope]
    })
  }
}
