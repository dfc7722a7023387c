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
  /**
   * What the role applies to, as a path below the resource group's storage provider: the account
   * (the default), or a PR environment's own container (`<account>/blobServices/default/containers/<c>`).
   */
  blobRoleScope?: string
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

/** GitHub numbers issues and pull requests from 1; eight digits leave room for decades. */
export const PR_NUMBER_RULE = 'must be the number of a pull request: a whole number from 1 to 99999999'

export function isValidPrNumber(text: string): boolean {
  return /^[1-9]\d{0,7}$/.test(text)
}

/**
 * The longest a PR environment's app name may be: its migration job is named `<app>-db`, and a job
 * name, like an app name, is at most 32 characters (Microsoft.App naming rules).
 */
export const PR_APP_NAME_MAX = 29

/**
 * The PR environment's own name: `<stack>-pr<n>` when it fits, else the stack name cut short with
 * 4 hex characters of its hash, so that two long stack names that share a prefix still differ.
 * Always a valid container app name: lower case, starts with a letter, no `--`, ≤ 29 characters.
 */
export function prAppName(stackName: string, prNumber: number): string {
  const tail = `-pr${prNumber}`
  const plain = `${stackName}${tail}`
  if (plain.length <= PR_APP_NAME_MAX) return plain
  const hash = createHash('sha256').update(stackName).digest('hex').slice(0, 4)
  const room = PR_APP_NAME_MAX - tail.length - hash.length - 1
  const prefix = stackName.slice(0, room).replace(/-+$/, '')
  return `${prefix}-${hash}${tail}`
}

/**
 * A PR environment's own resources beside its base stack's: the base's network, environment,
 * PostgreSQL server and storage account are shared; the app, its job, its databases and role, its
 * blob container and (keyless) its identity and role assignment are the PR's alone.
 */
export function prNames(
  base: StackNames,
  opts: { stackName: string; subscriptionId: string; prNumber: number }
): StackNames {
  const app = prAppName(opts.stackName, opts.prNumber)
  const n = opts.prNumber
  return {
    ...base,
    // PostgreSQL identifiers: ≤ 63 bytes, lower case needs no quoting.
    postgresDatabase: `${base.postgresDatabase}_pr_${n}`,
    authDatabase: `${base.authDatabase}_pr_${n}`,
    // Blob container names: 3–63 lower-case letters, digits and single hyphens.
    blobContainer: `${base.blobContainer}-pr${n}`,
    containerApp: app,
    migrationJob: `${app}-db`,
    identity: `${app}-id`,
    blobRole: guidFrom(
      `${opts.subscriptionId}/${base.resourceGroup}/${opts.stackName}/pr/${n}/storage-blob-data-contributor`
    ),
    blobRoleScope: `${base.storageAccount}/blobServices/default/containers/${base.blobContainer}-pr${n}`
  }
}

/** The PostgreSQL role that owns a PR environment's databases (an identifier, ≤ 63 bytes). */
export function prDatabaseRole(prNumber: number): string {
  return `mlflow_pr_${prNumber}`
}

/** The PR number a name of a PR environment's part carries, or undefined. */
export function prNumberOfDatabase(base: StackNames, database: string): number | undefined {
  const m = new RegExp(`^(?:${base.postgresDatabase}|${base.authDatabase})_pr_(\\d+)$`).exec(database)
  return m ? Number(m[1]) : undefined
}

export function prNumberOfContainer(base: StackNames, container: string): number | undefined {
  const m = new RegExp(`^${base.blobContainer}-pr(\\d+)$`).exec(container)
  return m ? Number(m[1]) : undefined
}
