/**
 * Azure names of a stack's resources, all derived from the stack name so that every run of the
 * same stack finds the same resources. The service's rules live here so a bad name is refused
 * before anything is written.
 */
import { createHash } from 'node:crypto'

export interface StackNames {
  resourceGroup: string
  virtualNetwork: string
  acaSubnet: string
  dbSubnet: string
  privateDnsZone: string
  privateDnsLink: string
  logAnalytics: string
  storageAccount: string
  blobContainer: string
  postgresServer: string
  postgresDatabase: string
  /** MLflow's auth user database (basic auth / OIDC), beside the tracking database. */
  authDatabase: string
  managedEnvironment: string
  containerApp: string
  /** The Container Apps job that migrates the database schema (≤ 32 characters, like an app). */
  migrationJob: string
  /** The app's user-assigned identity (keyless mode; 3–128 characters). */
  identity: string
  /** The role assignment's name: a GUID, stable for the stack (keyless mode). */
  blobRole: string
}

/** 3–24 characters keep every derived name inside its service's limit (container app ≤ 32). */
export const STACK_NAME_RULE =
  'must be 3 to 24 characters of lower-case letters, digits and single hyphens, start with a letter and end with a letter or digit'

export function isValidStackName(name: string): boolean {
  return /^[a-z][a-z0-9-]{1,22}[a-z0-9]$/.test(name) && !name.includes('--')
}

export const RESOURCE_GROUP_RULE =
  "must be 1 to 90 characters of letters, digits, '_', '-', '.', '(' or ')' and must not end with '.'"

export function isValidResourceGroupName(name: string): boolean {
  return /^[-\w.()]{1,90}$/u.test(name) && !name.endsWith('.')
}

export const STORAGE_ACCOUNT_RULE = 'must be 3 to 24 characters of lower-case letters and digits'

export function isValidStorageAccountName(name: string): boolean {
  return /^[a-z0-9]{3,24}$/.test(name)
}

/**
 * Storage account and postgres server names are global across Azure. A short hash of the
 * subscription, resource group and stack keeps them stable for this stack yet unlikely to collide
 * with anyone else's.
 */
function globalSuffix(subscriptionId: string, resourceGroup: string, stackName: string): string {
  return createHash('sha256')
    .update(`${subscriptionId.toLowerCase()}/${resourceGroup.toLowerCase()}/${stackName}`)
    .digest('hex')
    .slice(0, 6)
}

/** A GUID-shaped name derived from `text` (role assignment names must be GUIDs). */
export function guidFrom(text: string): string {
  const h = createHash('sha256').update(text.toLowerCase()).digest('hex')
  // Version 5-style bits, so it reads as a GUID to any validator.
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`
}

export function deriveNames(opts: {
  stackName: string
  subscriptionId: string
  resourceGroup?: string
  storageAccount?: string
}): StackNames {
  const { stackName } = opts
  const resourceGroup = opts.resourceGroup ?? `rg-${stackName}`
  const suffix = globalSuffix(opts.subscriptionId, resourceGroup, stackName)
  const alnum = stackName.replace(/-/g, '').slice(0, 16)
  return {
    resourceGroup,
    virtualNetwork: `${stackName}-vnet`,
    acaSubnet: 'aca',
    dbSubnet: 'db',
    privateDnsZone: `${stackName}-${suffix}.private.postgres.database.azure.com`,
    privateDnsLink: `${stackName}-vnet-link`,
    logAnalytics: `${stackName}-logs`,
    storageAccount: opts.storageAccount ?? `st${alnum}${suffix}`,
    blobContainer: 'mlflow-artifacts',
    postgresServer: `${stackName}-pg-${suffix}`,
    postgresDatabase: 'mlflow',
    authDatabase: 'mlflow_auth',
    managedEnvironment: `${stackName}-env`,
    containerApp: `${stackName}-mlflow`,
    migrationJob: `${stackName}-migrate`,
    identity: `${stackName}-mlflow-id`,
    blobRole: guidFrom(`${opts.subscriptionId}/${resourceGroup}/${stackName}/storage-blob-data-contributor`)
  }
}
