/**
 * The real `@azure/arm-msi` and `@azure/arm-authorization` clients pointed at a local Azure. Both
 * are of the older generation (`@azure/core-client`): their default token scope is derived from the
 * endpoint, so the management scope is given explicitly (next-capabilities §4.4).
 */
import { AuthorizationManagementClient } from '@azure/arm-authorization'
import { ManagedServiceIdentityClient } from '@azure/arm-msi'
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { LocalAzure } from './sdk.js'

/** Built-in role GUIDs (MicrosoftDocs built-in-roles). */
export const ROLES = {
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe',
  storageBlobDataReader: '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1',
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
  contributor: 'b24988ac-6180-42a0-ab88-20f7382dd24c',
  owner: '8e3af657-a8ff-443c-a75c-2fe8c4bcb635'
} as const

export function identityClients(emu: LocalAzure) {
  const credential = {
    getToken: async () => ({ token: emu.token, expiresOnTimestamp: Date.now() + 3_600_000 })
  }
  const common = {
    endpoint: emu.endpoint,
    credentialScopes: ['https://management.azure.com/.default'],
    tlsOptions: { ca: readFileSync(emu.caCertPath, 'utf8') },
    retryOptions: { maxRetries: 0 }
  }
  return {
    msi: new ManagedServiceIdentityClient(credential, emu.subscriptionId, common),
    auth: new AuthorizationManagementClient(credential, emu.subscriptionId, common)
  }
}

/** `/subscriptions/<sub>/providers/Microsoft.Authorization/roleDefinitions/<guid>`. */
export function roleDefinitionId(subscriptionId: string, role: string): string {
  return `/subscriptions/${subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${role}`
}

/**
 * Keyless, the deploying identity itself reaches the stack's lock blob with a token: it needs a
 * data role (README, "Keyless storage"); here Storage Blob Data Contributor on the subscription.
 */
export async function grantDeployerBlobData(
  emu: LocalAzure & { env: Record<string, string> }
): Promise<void> {
  await identityClients(emu).auth.roleAssignments.create(
    `/subscriptions/${emu.subscriptionId}`,
    randomUUID(),
    {
      roleDefinitionId: roleDefinitionId(emu.subscriptionId, ROLES.storageBlobDataContributor),
      principalId: emu.env['AZURE_DEPLOYER_PRINCIPAL_ID']!,
      principalType: 'ServicePrincipal'
    }
  )
}
