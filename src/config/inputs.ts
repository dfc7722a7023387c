/**
 * `parseInputs()` turns the action's raw inputs into one typed, validated configuration per command.
 * Every rule a user can break is checked here, before any request to Azure.
 */
import { InputError } from './errors.js'
import { Fields, type InputReader } from './fields.js'
import {
  RESOURCE_GROUP_RULE,
  STACK_NAME_RULE,
  STORAGE_ACCOUNT_RULE,
  deriveNames,
  isValidResourceGroupName,
  isValidStackName,
  isValidStorageAccountName,
  isValidPrNumber,
  PR_NUMBER_RULE,
  prDatabaseRole,
  prNames,
  type StackNames
} from './naming.js'
import { forkRefusal, type PullRequestEvent } from '../github/event.js'
import {
  ADDRESS_SPACE_RULE,
  CONTAINER_APPS_RESERVED,
  planAddresses,
  reservedOverlap,
  type AddressPlan
} from './network.js'
import { parseImageTag, type MlflowVersion } from './image.js'
import type { RunIdentity } from '../stack/rollout.js'
import { parseTags } from './tags.js'
import { parseAllowedIps, parseAuth, type AuthSettings } from './auth.js'
import {
  AZUREML_URI_RULE,
  WORKSPACE_NAME_RULE,
  isAzureMlUri,
  isValidWorkspaceName,
  parseAzureMlUri,
  type AzureMlWorkspaceRef
} from './azureMl.js'

export const COMMANDS = [
  'deploy',
  'plan',
  'destroy',
  'smoke-test',
  'rollback',
  'rotate-keys',
  'pr-up',
  'pr-down',
  'gc'
] as const
export type Command = (typeof COMMANDS)[number]

export const DEFAULT_ARM_ENDPOINT = 'https://management.azure.com'
export const DEFAULT_IMAGE_TAG = 'v3.17.2'
export const DEFAULT_PARALLELISM = 6

export interface AzureConnection {
  endpoint: string
  tokenScope: string
  subscriptionId: string
  clientId?: string
  tenantId?: string
  pollIntervalMs: number
  /** Independent Azure writes in flight at once (1: one after the other, as a portal guide goes). */
  parallelism: number
}

export interface CommonConfig {
  stackName: string
  /** How long to wait for long operations (and for operations an earlier run left running). */
  waitTimeoutMs: number
  /** This run (GitHub's run id and attempt): new revisions are named after it. */
  run: RunIdentity
  /** How long a run that changes the stack waits for another one's lock. */
  lockTimeoutMs: number
  /** Who takes the stack's lock: this workflow run's URL (or the machine, run locally). */
  holder: string
  /** True when the user named the resource group: the action then never deletes it. */
  resourceGroupGiven: boolean
  names: StackNames
  azure: AzureConnection
  /** Where comments go and which PRs are open: GitHub's API as the runner names it. */
  github: GitHubSettings
}

export interface GitHubSettings {
  /** The workflow's token (input `github-token`); comments are skipped without one. */
  token?: string
  apiUrl: string
  /** `owner/repo` of the workflow run. */
  repository?: string
  /** The workflow run, for links in comments. */
  runUrl?: string
  /** The pull request the triggering event is about. */
  event?: PullRequestEvent
}

/** A pull request's own environment on a base stack (`pr-up`, `pr-down`). */
export interface PrSettings {
  number: number
  /** `owner/repo` the PR belongs to: one base stack serves the PRs of one repository. */
  repository?: string
  /** The base stack's names: its shared resources are read, never written. */
  baseNames: StackNames
  /** The PostgreSQL role that owns the PR's databases and nothing else. */
  databaseRole: string
  /** Hours until `gc` may remove it; every pr-up pushes it forward. */
  expiresAfterHours: number
  /** ISO time of expiry, from this run's start. */
  expiresAt: string
  /** pr-up smoke-tests the new environment; `mlflow demo` too only when asked (it needs Python). */
  demo: boolean
}

export interface PostgresSettings {
  skuName: string
  skuTier: string
  version: string
  storageGb: number
}

export interface StackSettings {
  location: string
  image: { tag: string; version: MlflowVersion; reference: string }
  replicas: number
  cpu: number
  memory: string
  ingress: 'external' | 'internal'
  postgres: PostgresSettings
  network: AddressPlan
  tags: Record<string, string>
  logRetentionDays: number
  auth: AuthSettings
  /** Client addresses the ingress lets through (CIDR); empty means everyone. */
  allowedIps: string[]
  /** Go ahead with a downgrade across a schema change (its migration is expected to fail). */
  allowDowngrade: boolean
  /** How MLflow authenticates to blob storage: a key in a secret, or the app's managed identity. */
  storageAuth: 'access-key' | 'managed-identity'
  /** Replicas kept when idle: 0 lets the app scale to zero (PR environments by default). */
  minReplicas: number
  /** uvicorn workers of the server: each opens its own database connection pools. */
  workers: number
}

export type StackCommand = 'deploy' | 'plan' | 'rollback' | 'rotate-keys' | 'pr-up'
export type DeployConfig = CommonConfig & StackSettings & { command: StackCommand; pr?: PrSettings }
export type DestroyConfig = CommonConfig & { command: 'destroy' }
export type PrDownConfig = CommonConfig & { command: 'pr-down'; pr: PrSettings }
export type GcConfig = CommonConfig & { command: 'gc' }
export interface SmokeConfig {
  command: 'smoke-test'
  /** Given, or looked up from the stack's container app. */
  trackingUri?: string
  stackName: string
  names?: StackNames
  azure: AzureConnection
  /** Run `mlflow demo` too (needs Python on the runner); the REST round trip always runs. */
  demo: boolean
  timeoutMs: number
  /** The MLflow admin's password when the server has basic authentication. */
  adminPassword?: string
  /** `user:password@` taken out of `tracking-uri`. */
  credentials?: { username: string; password: string }
  /**
   * An Azure Machine Learning workspace to test instead of an MLflow server: named by
   * `aml-workspace` (its tracking URI then read from ARM), or by an `azureml://` tracking URI.
   */
  azureMl?: { workspace: AzureMlWorkspaceRef; trackingUri?: string }
}

export type Config = DeployConfig | DestroyConfig | PrDownConfig | GcConfig | SmokeConfig

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
/**
 * The computes of PostgreSQL flexible server (learn.microsoft.com/azure/postgresql/flexible-server/
 * concepts-compute, and the table of concepts-limits): Burstable B-series, General Purpose D and
 * Memory Optimized E in 2–96 vCores of the v3–v5 families (v6 let through: newer regions offer it).
 * A name outside them is refused by Azure at the create, after the network is already made.
 */
const POSTGRES_SKU =
  /^Standard_(B(1ms|2s|2ms|4ms|8ms|12ms|16ms|20ms)|[DE](2|4|8|16|20|32|48|64|96)(s_v3|ds_v4|a?ds_v5|a?ds_v6))$/
const POSTGRES_STORAGE_SIZES = [32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384]
const POSTGRES_TIERS: Record<string, string> = {
  Standard_B: 'Burstable',
  Standard_D: 'GeneralPurpose',
  Standard_E: 'MemoryOptimized'
}

/** Environment the action reads besides its inputs (so tests and local runs pass it explicitly). */
export interface InputEnvironment {
  AZURE_SUBSCRIPTION_ID?: string
  GITHUB_RUN_ID?: string
  GITHUB_RUN_ATTEMPT?: string
  GITHUB_SERVER_URL?: string
  GITHUB_REPOSITORY?: string
  GITHUB_API_URL?: string
  HOSTNAME?: string
}

/** What the runner knows besides env: the event that triggered the run (read by `main.ts`). */
export interface RunContext {
  event?: PullRequestEvent
}

/** The run that holds a lock, as a person finds it: the workflow run's URL when there is one. */
export function holderOf(env: InputEnvironment): string {
  if (env.GITHUB_RUN_ID && env.GITHUB_REPOSITORY) {
    const attempt = env.GITHUB_RUN_ATTEMPT ? `/attempts/${env.GITHUB_RUN_ATTEMPT}` : ''
    return `${env.GITHUB_SERVER_URL ?? 'https://github.com'}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}${attempt}`
  }
  return `a local run on ${env.HOSTNAME ?? 'this machine'} (pid ${process.pid})`
}

export function runUrlOf(env: InputEnvironment): string | undefined {
  if (!env.GITHUB_RUN_ID || !env.GITHUB_REPOSITORY) return undefined
  return `${env.GITHUB_SERVER_URL ?? 'https://github.com'}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}`
}

export function parseInputs(read: InputReader, env: InputEnvironment = {}, context: RunContext = {}): Config {
  const f = new Fields(read)
  const asked = f.oneOf('command', COMMANDS, 'deploy')
  if (asked === 'smoke-test') return parseSmokeTest(f, env)
  // destroy with a pr-number removes that PR's environment only, never the base it stands on.
  const command = asked === 'destroy' && f.optional('pr-number') !== undefined ? 'pr-down' : asked
  const isPr = command === 'pr-up' || command === 'pr-down'
  const prNumber = isPr ? parsePrNumber(f, context.event) : 0
  if (isPr && context.event?.fromFork && context.event.number === prNumber) {
    // Before anything else: the run has neither an Azure sign-in nor a token that may comment.
    throw new Error(forkRefusal(context.event))
  }

  const stackName = f.required('stack-name', STACK_NAME_RULE)
  if (stackName !== '' && !isValidStackName(stackName)) f.problem('stack-name', stackName, STACK_NAME_RULE)

  const subscriptionId = f.optional('subscription-id') ?? env.AZURE_SUBSCRIPTION_ID ?? ''
  if (subscriptionId === '') {
    f.problem(
      'subscription-id',
      '',
      'is required (or set AZURE_SUBSCRIPTION_ID); it is the GUID of the subscription'
    )
  } else if (!GUID.test(subscriptionId)) {
    f.problem(
      'subscription-id',
      subscriptionId,
      'must be a subscription GUID like 00000000-0000-0000-0000-000000000000'
    )
  }

  const resourceGroup = f.optional('resource-group')
  if (resourceGroup !== undefined && !isValidResourceGroupName(resourceGroup)) {
    f.problem('resource-group', resourceGroup, RESOURCE_GROUP_RULE)
  }
  const storageAccount = f.optional('storage-account-name')
  if (storageAccount !== undefined && !isValidStorageAccountName(storageAccount)) {
    f.problem('storage-account-name', storageAccount, `${STORAGE_ACCOUNT_RULE}, unique across Azure`)
  }

  const azure = parseConnection(f, subscriptionId)
  const baseNames = deriveNames({ stackName, subscriptionId, resourceGroup, storageAccount })
  const pr = isPr ? prNames(baseNames, { stackName, subscriptionId, prNumber }) : undefined
  const names = pr ?? baseNames
  const nowSeconds = Math.floor(Date.now() / 1000)
  // 0 is allowed: an environment gc may remove at its next sweep (a throwaway for one CI run).
  const expiresAfterHours = isPr ? f.number('expires-after', 0, 720, 72) : 0
  const prSettings: PrSettings | undefined = isPr
    ? {
        number: prNumber,
        ...(env.GITHUB_REPOSITORY ? { repository: env.GITHUB_REPOSITORY } : {}),
        baseNames,
        databaseRole: prDatabaseRole(prNumber),
        expiresAfterHours,
        expiresAt: new Date(nowSeconds * 1000 + Math.round(expiresAfterHours * 3_600_000)).toISOString(),
        demo: command === 'pr-up' && f.boolean('mlflow-demo', false)
      }
    : undefined
  const common: CommonConfig = {
    stackName,
    resourceGroupGiven: resourceGroup !== undefined,
    names,
    azure,
    github: {
      ...(f.optional('github-token') ? { token: f.raw('github-token') } : {}),
      apiUrl: (env.GITHUB_API_URL || 'https://api.github.com').replace(/\/$/, ''),
      ...(env.GITHUB_REPOSITORY ? { repository: env.GITHUB_REPOSITORY } : {}),
      ...(runUrlOf(env) ? { runUrl: runUrlOf(env) } : {}),
      ...(context.event ? { event: context.event } : {})
    },
    waitTimeoutMs: f.integer('wait-timeout', 10, 7200, 1200) * 1000,
    lockTimeoutMs: f.integer('lock-timeout', 0, 7200, 600) * 1000,
    holder: holderOf(env),
    run: {
      ...(env.GITHUB_RUN_ID ? { runId: env.GITHUB_RUN_ID } : {}),
      ...(env.GITHUB_RUN_ATTEMPT ? { runAttempt: env.GITHUB_RUN_ATTEMPT } : {}),
      nowSeconds
    }
  }

  if (command === 'destroy' || command === 'gc') {
    throwIfProblems(f)
    return { ...common, command }
  }
  if (command === 'pr-down') {
    throwIfProblems(f)
    return { ...common, command, pr: prSettings! }
  }
  const settings = parseStackSettings(f, command)
  throwIfProblems(f)
  return { ...common, ...settings, command, ...(prSettings ? { pr: prSettings } : {}) }
}

/** The stack's names, or with `pr-number` its PR environment's: smoke-test finds that app's URL. */
function smokeNames(
  f: Fields,
  opts: { stackName: string; subscriptionId: string; resourceGroup?: string }
): StackNames {
  const base = deriveNames(opts)
  const given = f.optional('pr-number')
  if (given === undefined) return base
  if (!isValidPrNumber(given)) {
    f.problem('pr-number', given, PR_NUMBER_RULE)
    return base
  }
  return prNames(base, { ...opts, prNumber: Number(given) })
}

/** The PR of the input, else of the event that triggered the run. */
function parsePrNumber(f: Fields, event: PullRequestEvent | undefined): number {
  const given = f.optional('pr-number')
  if (given === undefined) {
    if (event) return event.number
    f.problem(
      'pr-number',
      '',
      'is required outside a pull_request event: the number of the pull request, from 1 to 99999999'
    )
    return 0
  }
  if (!isValidPrNumber(given)) {
    f.problem('pr-number', given, PR_NUMBER_RULE)
    return 0
  }
  return Number(given)
}

function parseSmokeTest(f: Fields, env: InputEnvironment): SmokeConfig {
  const workspace = f.optional('aml-workspace')
  const given = f.optional('tracking-uri')
  if (workspace !== undefined || (given !== undefined && isAzureMlUri(given)))
    return parseAzureMlSmokeTest(f, env, workspace, given)
  const parsed = given === undefined ? undefined : parseTrackingUri(given)
  if (parsed === 'invalid') {
    f.problem(
      'tracking-uri',
      redactUserInfo(given ?? ''),
      'must be the http(s) URL of an MLflow server, e.g. https://mlflow.example.com'
    )
  }
  const trackingUri = typeof parsed === 'object' ? parsed.url : undefined
  const stackName = f.raw('stack-name')
  if (trackingUri === undefined && stackName === '') {
    f.problem('tracking-uri', '', "is required unless 'stack-name' names a deployed stack to test")
  }
  if (stackName !== '' && !isValidStackName(stackName)) f.problem('stack-name', stackName, STACK_NAME_RULE)
  const subscriptionId = f.optional('subscription-id') ?? env.AZURE_SUBSCRIPTION_ID ?? ''
  if (trackingUri === undefined && !GUID.test(subscriptionId)) {
    f.problem(
      'subscription-id',
      subscriptionId,
      "must be the subscription GUID of the stack when 'tracking-uri' is not given"
    )
  }
  const azure = parseConnection(f, subscriptionId)
  const resourceGroup = f.optional('resource-group')
  const config: SmokeConfig = {
    command: 'smoke-test',
    trackingUri,
    stackName,
    names: stackName === '' ? undefined : smokeNames(f, { stackName, subscriptionId, resourceGroup }),
    azure,
    demo: f.boolean('mlflow-demo', true),
    timeoutMs: f.integer('wait-timeout', 10, 7200, 1200) * 1000,
    adminPassword: f.optional('admin-password'),
    ...(typeof parsed === 'object' && parsed.credentials ? { credentials: parsed.credentials } : {})
  }
  throwIfProblems(f)
  return config
}

/**
 * A smoke test of an Azure Machine Learning workspace. It signs in as every command does (the
 * workspace takes the same Azure sign-in), so the inputs of an MLflow server's own sign-in and of a
 * stack are refused rather than silently ignored.
 */
function parseAzureMlSmokeTest(
  f: Fields,
  env: InputEnvironment,
  workspaceName: string | undefined,
  trackingUri: string | undefined
): SmokeConfig {
  let workspace: AzureMlWorkspaceRef | undefined
  if (workspaceName !== undefined && trackingUri !== undefined) {
    f.problem(
      'tracking-uri',
      redactUserInfo(trackingUri),
      "must not be given with 'aml-workspace': give the workspace by name or by its azureml:// URI"
    )
  }
  if (workspaceName !== undefined) {
    if (!isValidWorkspaceName(workspaceName)) f.problem('aml-workspace', workspaceName, WORKSPACE_NAME_RULE)
    const resourceGroup = f.optional('resource-group')
    if (resourceGroup === undefined) {
      f.problem('resource-group', '', "is required with 'aml-workspace': the resource group of the workspace")
    } else if (!isValidResourceGroupName(resourceGroup)) {
      f.problem('resource-group', resourceGroup, RESOURCE_GROUP_RULE)
    }
    const subscriptionId = f.optional('subscription-id') ?? env.AZURE_SUBSCRIPTION_ID ?? ''
    if (!GUID.test(subscriptionId)) {
      f.problem('subscription-id', subscriptionId, "must be the subscription GUID of the 'aml-workspace'")
    }
    workspace = { subscriptionId, resourceGroup: resourceGroup ?? '', name: workspaceName }
  } else if (trackingUri !== undefined) {
    const parsed = parseAzureMlUri(trackingUri)
    if (parsed === 'invalid') f.problem('tracking-uri', redactUserInfo(trackingUri), AZUREML_URI_RULE)
    else
      workspace = {
        subscriptionId: parsed.subscriptionId,
        resourceGroup: parsed.resourceGroup,
        name: parsed.name
      }
  }
  const stackName = f.raw('stack-name')
  if (stackName !== '') {
    f.problem(
      'stack-name',
      stackName,
      'must not be given with an Azure Machine Learning workspace: smoke-test tests one or the other'
    )
  }
  for (const name of ['admin-password', 'pr-number']) {
    const value = f.optional(name)
    if (value !== undefined) {
      f.problem(
        name,
        name === 'admin-password' ? '***' : value,
        'is not used with an Azure Machine Learning workspace, which takes the Azure sign-in (client-id, tenant-id) instead'
      )
    }
  }
  const azure = parseConnection(f, workspace?.subscriptionId ?? '')
  const config: SmokeConfig = {
    command: 'smoke-test',
    stackName: '',
    azure,
    // Azure ML has no MLflow tracing, which `mlflow demo` writes: the step is always skipped.
    demo: f.boolean('mlflow-demo', true),
    timeoutMs: f.integer('wait-timeout', 10, 7200, 1200) * 1000,
    azureMl: {
      workspace: workspace ?? { subscriptionId: '', resourceGroup: '', name: '' },
      ...(workspaceName === undefined && trackingUri !== undefined ? { trackingUri: trackingUri.trim() } : {})
    }
  }
  throwIfProblems(f)
  return config
}

/**
 * A tracking URI may carry `user:password@` (as MLflow clients accept). The credentials are taken
 * out at once: the URI the action shows, outputs and logs never holds them.
 */
export function parseTrackingUri(
  text: string
): { url: string; credentials?: { username: string; password: string } } | 'invalid' {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return 'invalid'
  }
  if (!/^https?:$/.test(url.protocol) || url.hostname === '' || !/^\/*$/.test(url.pathname)) return 'invalid'
  if (url.search !== '' || url.hash !== '') return 'invalid'
  let username: string
  let password: string
  try {
    username = decodeURIComponent(url.username)
    password = decodeURIComponent(url.password)
  } catch {
    return 'invalid'
  }
  const bare = `${url.protocol}//${url.host}`
  return username || password ? { url: bare, credentials: { username, password } } : { url: bare }
}

/** The URI with its password (if any) replaced, for messages. */
export function redactUserInfo(text: string): string {
  return text.replace(/^(\w+:\/\/[^/@:]*):[^/@]*@/, '$1:***@')
}

/** The password inside a `tracking-uri` input, to be masked before anything could print it. */
export function trackingUriSecret(text: string): string | undefined {
  const m = /^\w+:\/\/[^/@:]*:([^/@]*)@/.exec(text.trim())
  if (!m || m[1] === '') return undefined
  return m[1]
}

function throwIfProblems(f: Fields): void {
  if (f.problems.length > 0) throw new InputError(f.problems)
}

function parseConnection(f: Fields, subscriptionId: string): AzureConnection {
  const endpoint = f
    .matching(
      'arm-endpoint',
      /^https:\/\/[^\s/]+\/?$/,
      'must be an https:// URL of an Azure Resource Manager endpoint, e.g. https://management.azure.com',
      DEFAULT_ARM_ENDPOINT
    )
    .replace(/\/$/, '')
  const tokenScope =
    f.optional('arm-token-scope') ??
    (endpoint === DEFAULT_ARM_ENDPOINT ? `${DEFAULT_ARM_ENDPOINT}/.default` : `${endpoint}/.default`)
  const clientId = f.optional('client-id')
  const tenantId = f.optional('tenant-id')
  if (clientId !== undefined && !GUID.test(clientId)) {
    f.problem('client-id', clientId, 'must be the application (client) GUID of the identity to sign in as')
  }
  if (tenantId !== undefined && !GUID.test(tenantId)) {
    f.problem('tenant-id', tenantId, 'must be the directory (tenant) GUID')
  }
  if ((clientId === undefined) !== (tenantId === undefined)) {
    const [given, missing] = clientId === undefined ? ['tenant-id', 'client-id'] : ['client-id', 'tenant-id']
    f.problem(missing, '', `is required when '${given}' is set: OIDC sign-in needs both`)
  }
  const pollSeconds = f.number('poll-interval', 0.01, 60, 5)
  // ARM throttles writes per subscription at well above 16 in flight; more buys nothing (the
  // stack's widest layer has 6 independent resources).
  const parallelism = f.integer('parallelism', 1, 16, DEFAULT_PARALLELISM)
  return {
    endpoint,
    tokenScope,
    subscriptionId,
    clientId,
    tenantId,
    pollIntervalMs: Math.round(pollSeconds * 1000),
    parallelism
  }
}

const STORAGE_AUTH = ['access-key', 'managed-identity'] as const

function parseStorageAuth(f: Fields): 'access-key' | 'managed-identity' {
  return f.oneOf('storage-auth', STORAGE_AUTH, 'access-key')
}

function parseStackSettings(f: Fields, command: StackCommand): StackSettings {
  const location = f.required('location', 'is the Azure region, e.g. westeurope')
  if (location !== '' && !/^[a-z][a-z0-9]{2,39}$/.test(location)) {
    f.problem(
      'location',
      location,
      'must be an Azure region name in lower case without spaces, e.g. westeurope'
    )
  }

  const imageTag = f.raw('image-tag') || DEFAULT_IMAGE_TAG
  const version = parseImageTag(imageTag)
  if (typeof version === 'string') f.problem('image-tag', imageTag, version)
  const image =
    typeof version === 'string'
      ? { tag: imageTag, version: { major: 0, minor: 0, patch: 0 }, reference: '' }
      : { tag: imageTag, version, reference: `ghcr.io/mlflow/mlflow:${imageTag}-full` }

  const replicas = f.integer('replicas', 1, 30, 1)
  // A PR environment sleeps when nobody uses it; the base stack keeps its replicas warm.
  const minReplicas = f.integer('min-replicas', 0, replicas, command === 'pr-up' ? 0 : replicas)
  const cpu = f.number('cpu', 0.5, 4, 1)
  if (Math.round(cpu * 4) !== cpu * 4)
    f.problem('cpu', f.raw('cpu'), 'must be a multiple of 0.25 from 0.5 to 4')
  const memory = f.raw('memory') || `${cpu * 2}Gi`
  if (memory !== `${cpu * 2}Gi`) {
    f.problem('memory', memory, `must be twice the CPU in Gi on the Consumption profile, here '${cpu * 2}Gi'`)
  }
  const ingress = f.oneOf('ingress', ['external', 'internal'] as const, 'external')

  const skuName = f.matching(
    'postgres-sku',
    POSTGRES_SKU,
    'must be a flexible server compute such as Standard_B1ms, Standard_D2ds_v5 or Standard_E2ds_v5 ' +
      '(Burstable B1ms, B2s, B2ms, B4ms, B8ms, B12ms, B16ms, B20ms; General Purpose D<n> and Memory Optimized ' +
      'E<n> with s_v3, ds_v4, ds_v5 or ads_v5)',
    'Standard_B1ms'
  )
  const skuTier = POSTGRES_TIERS[skuName.slice(0, 10)] ?? 'Burstable'
  const pgVersion = f.oneOf('postgres-version', ['13', '14', '15', '16', '17'] as const, '16')
  const storageGb = f.integer('postgres-storage-gb', 32, 16384, 32)
  if (!POSTGRES_STORAGE_SIZES.includes(storageGb)) {
    f.problem('postgres-storage-gb', String(storageGb), `must be one of ${POSTGRES_STORAGE_SIZES.join(', ')}`)
  }

  const addressSpace = f.raw('vnet-address-space') || '10.42.0.0/16'
  const network = planAddresses(addressSpace)
  if (!network) f.problem('vnet-address-space', addressSpace, ADDRESS_SPACE_RULE)
  const reserved = network && reservedOverlap(network)
  if (reserved) {
    f.problem(
      'vnet-address-space',
      addressSpace,
      `gives the Container Apps subnet ${network.acaSubnet}, which overlaps ${reserved}, a range Azure Container Apps ` +
        `reserves (${CONTAINER_APPS_RESERVED.join(', ')}); choose another private range, e.g. 10.42.0.0/16`
    )
  }

  const tags = parseTags(f.raw('tags'))
  if (typeof tags === 'string') f.problem('tags', f.raw('tags'), tags)

  return {
    location,
    image,
    replicas,
    cpu,
    memory,
    ingress,
    postgres: { skuName, skuTier, version: pgVersion, storageGb },
    network: network ?? { addressSpace, acaSubnet: '', dbSubnet: '' },
    tags: typeof tags === 'string' ? {} : tags,
    logRetentionDays: f.integer('log-retention-days', 30, 730, 30),
    auth: parseAuth(f, ingress, command === 'plan' ? 'plan' : 'deploy'),
    allowedIps: parseAllowedIps(f),
    allowDowngrade: f.boolean('allow-downgrade', false),
    storageAuth: parseStorageAuth(f),
    minReplicas,
    // A PR environment serves one person's experiments; one worker halves its connection pools.
    workers: command === 'pr-up' ? 1 : 2
  }
}
