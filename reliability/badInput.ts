/**
 * Bad inputs and bad environments, one row each: the action must refuse every one of them before
 * it writes anything, with an error that names the input (and its value and rule), the change Azure
 * cannot make, or the permission the deploying identity lacks. Rows run the real action
 * (stand-in runtime) against three local Azures, a few at a time:
 *
 * - `stack`: a stack already deployed, with a deploying identity that may do everything — for input
 *   rules (most refused before any request) and changes an existing stack cannot take;
 * - `denied`: a stack deployed while everything was allowed, then the same local Azure restarted
 *   with actions taken away (`--deny-actions`): each row needs one of them;
 * - `fresh`: no stack, `Microsoft.App` never registered and its registration not allowed, and an
 *   empty resource group of the team's.
 *
 * A row is met when the run exits non-zero, no write reached a resource provider while it ran, and
 * its error matches. A write request ARM itself refused with 403 `AuthorizationFailed` changed
 * nothing and is not counted: it is how a missing permission shows where nothing could be read
 * in advance (a provider's registration or a group's creation before the group exists). Rows on
 * one local Azure may overlap in time; a write in a window fails every row it overlaps, so a pass
 * holds for each of them.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { errorsOf, type ActionRun } from '../test/helpers/action.js'
import type { RequestRecord } from '../test/helpers/emulator.js'
import { sdkClients } from '../test/helpers/sdk.js'
import { act, failure, NEXT_TAG, startWorld, writesIn, type World } from './stack.js'
import { reporter, type Scenario, type Suite } from './suite.js'

type WorldName = 'stack' | 'denied' | 'fresh'

interface Row {
  name: string
  /** Inputs over the world's own (`command: deploy`, its stack, `westeurope`, a password, an image). */
  inputs: Record<string, string>
  world: WorldName
  /** What the error must say: the input, the refused change, or the missing permission. */
  expect: RegExp
}

/** What the `denied` world's deploying identity lacks (a wildcard among them, as roles write it). */
const DENIED = [
  'Microsoft.App/containerApps/write',
  'Microsoft.App/containerApps/revisions/deactivate/action',
  'Microsoft.App/jobs/start/action',
  'Microsoft.Authorization/roleAssignments/write',
  'Microsoft.ManagedIdentity/userAssignedIdentities/write',
  'Microsoft.Storage/storageAccounts/regenerateKey/action',
  'Microsoft.OperationalInsights/*/write',
  'Microsoft.Resources/subscriptions/resourceGroups/write',
  'Microsoft.Resources/subscriptions/resourceGroups/delete'
]
const TEAM_GROUP = 'team-given'
const SOME_GUID = '11111111-2222-4333-8444-555555555555'
/** Rows at once: each is a node process; the machine has 2 cores. */
const AT_ONCE = 4

const input = (name: string, value: string, rule: string): RegExp =>
  new RegExp(`Input '${name}' has value '${value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}': ${rule}`)
/** A permission named as missing: on the refusal's first line, or as one of its listed lines. */
const lacks = (action: string): RegExp =>
  new RegExp(`(lacks |^- )${action.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'im')

const ROWS: Row[] = [
  // stack-name
  {
    name: 'stack-name too long',
    world: 'stack',
    inputs: { 'stack-name': 'a'.repeat(25) },
    expect: input('stack-name', 'a'.repeat(25), 'must be 3 to 24')
  },
  {
    name: 'stack-name upper case',
    world: 'stack',
    inputs: { 'stack-name': 'Bad' },
    expect: input('stack-name', 'Bad', 'must be 3 to 24 characters of lower-case')
  },
  {
    name: 'stack-name leading digit',
    world: 'stack',
    inputs: { 'stack-name': '1team' },
    expect: input('stack-name', '1team', '.*start with a letter')
  },
  {
    name: "stack-name with '--'",
    world: 'stack',
    inputs: { 'stack-name': 'team--a' },
    expect: input('stack-name', 'team--a', '.*single hyphens')
  },
  {
    name: 'stack-name trailing hyphen',
    world: 'stack',
    inputs: { 'stack-name': 'team-' },
    expect: input('stack-name', 'team-', '.*end with a letter or digit')
  },
  {
    name: 'stack-name missing',
    world: 'stack',
    inputs: { 'stack-name': '' },
    expect: input('stack-name', '', 'is required')
  },
  // tags
  {
    name: 'tags not key=value',
    world: 'stack',
    inputs: { tags: 'team' },
    expect: /Input 'tags' has value 'team': each tag must be written key=value/
  },
  {
    name: 'tags given as JSON',
    world: 'stack',
    inputs: { tags: '{"team":"ml"}' },
    expect: /Input 'tags' .*key=value/
  },
  {
    name: 'tags: 49 of them',
    world: 'stack',
    inputs: { tags: Array.from({ length: 49 }, (_, i) => `t${i}=${i}`).join(',') },
    expect: /Input 'tags' .*at most 48 tags/
  },
  {
    name: "tags: the action's own key",
    world: 'stack',
    inputs: { tags: 'managed-by=me' },
    expect: /Input 'tags' .*set by the action itself/
  },
  {
    name: "tags: reserved prefix 'azure'",
    world: 'stack',
    inputs: { tags: 'azure-team=ml' },
    expect: /Input 'tags' .*starts with 'azure'/
  },
  {
    name: "tags: reserved prefix 'microsoft'",
    world: 'stack',
    inputs: { tags: 'Microsoft.Cost=1' },
    expect: /Input 'tags' .*starts with 'microsoft'/
  },
  {
    name: 'tags: key too long',
    world: 'stack',
    inputs: { tags: `${'k'.repeat(513)}=1` },
    expect: /Input 'tags' .*at most 512 characters/
  },
  {
    name: 'tags: value too long',
    world: 'stack',
    inputs: { tags: `team=${'v'.repeat(257)}` },
    expect: /Input 'tags' .*at most 256 characters/
  },
  {
    name: "tags: key with '/'",
    world: 'stack',
    inputs: { tags: 'a/b=1' },
    expect: /Input 'tags' .*without any of < > % &/
  },
  // location
  {
    name: 'location with spaces',
    world: 'stack',
    inputs: { location: 'West Europe' },
    expect: input('location', 'West Europe', '.*lower case without spaces')
  },
  {
    name: "location typo 'westeuropa'",
    world: 'stack',
    inputs: { location: 'westeuropa' },
    expect: input('location', 'westeuropa', "must be a region where the stack's resources are offered")
  },
  {
    name: 'location unknown',
    world: 'stack',
    inputs: { location: 'moonbase1' },
    expect: input('location', 'moonbase1', 'must be a region')
  },
  // PostgreSQL
  {
    name: 'postgres-sku without Standard_',
    world: 'stack',
    inputs: { 'postgres-sku': 'B1ms' },
    expect: input('postgres-sku', 'B1ms', 'must be a flexible server compute')
  },
  {
    name: 'postgres-sku unknown compute',
    world: 'stack',
    inputs: { 'postgres-sku': 'Standard_B3ms' },
    expect: input('postgres-sku', 'Standard_B3ms', 'must be a flexible server compute')
  },
  {
    name: 'postgres-version too old',
    world: 'stack',
    inputs: { 'postgres-version': '12' },
    expect: input('postgres-version', '12', "must be one of '13'")
  },
  {
    name: 'postgres-version too new',
    world: 'stack',
    inputs: { 'postgres-version': '18' },
    expect: input('postgres-version', '18', 'must be one of')
  },
  {
    name: 'postgres-storage-gb below 32',
    world: 'stack',
    inputs: { 'postgres-storage-gb': '16' },
    expect: input('postgres-storage-gb', '16', 'must be a whole number from 32 to 16384')
  },
  {
    name: 'postgres-storage-gb not a size Azure offers',
    world: 'stack',
    inputs: { 'postgres-storage-gb': '100' },
    expect: input('postgres-storage-gb', '100', 'must be one of 32, 64')
  },
  // network
  {
    name: 'vnet-address-space malformed',
    world: 'stack',
    inputs: { 'vnet-address-space': '10.42.0.0' },
    expect: input('vnet-address-space', '10.42.0.0', 'must be an IPv4 CIDR block')
  },
  {
    name: 'vnet-address-space too small',
    world: 'stack',
    inputs: { 'vnet-address-space': '10.42.0.0/24' },
    expect: input('vnet-address-space', '10.42.0.0/24', '.*/22 or larger')
  },
  {
    name: 'vnet-address-space off its boundary',
    world: 'stack',
    inputs: { 'vnet-address-space': '10.42.1.0/16' },
    expect: input('vnet-address-space', '10.42.1.0/16', '.*network boundary')
  },
  {
    name: 'vnet-address-space overlapping a reserved range',
    world: 'stack',
    inputs: { 'vnet-address-space': '172.31.0.0/16' },
    expect: input('vnet-address-space', '172.31.0.0/16', '.*overlaps 172.31.0.0/16')
  },
  {
    name: 'allowed-ips octet over 255',
    world: 'stack',
    inputs: { 'allowed-ips': '203.0.113.7,300.1.1.1' },
    expect: input('allowed-ips', '300.1.1.1', 'must be IPv4 addresses or CIDR ranges')
  },
  {
    name: 'allowed-ips prefix over 32',
    world: 'stack',
    inputs: { 'allowed-ips': '10.0.0.0/33' },
    expect: input('allowed-ips', '10.0.0.0/33', 'must be IPv4')
  },
  {
    name: 'allowed-ips a name',
    world: 'stack',
    inputs: { 'allowed-ips': 'office' },
    expect: input('allowed-ips', 'office', 'must be IPv4')
  },
  // passwords and authentication
  {
    name: 'admin-password too short',
    world: 'stack',
    inputs: { 'admin-password': 'short-pw' },
    expect: /Input 'admin-password' has value '\(8 characters, hidden\)': must be at least 12 characters/
  },
  {
    name: "admin-password MLflow's old default",
    world: 'stack',
    inputs: { 'admin-password': 'password1234' },
    expect: /Input 'admin-password' .*old default password/
  },
  {
    name: 'admin-password missing on a cold deploy (auth basic)',
    world: 'stack',
    inputs: { 'stack-name': 'badnewpw', 'admin-password': '' },
    expect: input('admin-password', '', "is required with auth 'basic'")
  },
  {
    name: "auth 'ldap'",
    world: 'stack',
    inputs: { auth: 'ldap' },
    expect: input('auth', 'ldap', "must be one of 'basic', 'oidc', 'none'")
  },
  {
    name: "auth 'none' on the internet",
    world: 'stack',
    inputs: { auth: 'none' },
    expect: input('auth', 'none', 'would put an MLflow that anyone can read and write on the internet')
  },
  {
    name: 'oidc without its discovery URL',
    world: 'stack',
    inputs: { auth: 'oidc', 'oidc-client-id': 'mlflow', 'oidc-client-secret': 'oidc-secret-value-1' },
    expect: input('oidc-discovery-url', '', "is required with auth 'oidc'")
  },
  {
    name: 'oidc without its client secret',
    world: 'stack',
    inputs: {
      auth: 'oidc',
      'oidc-discovery-url': 'https://login.example.com/.well-known/openid-configuration',
      'oidc-client-id': 'mlflow'
    },
    expect: input('oidc-client-secret', '', "is required with auth 'oidc'")
  },
  {
    name: "ingress 'public'",
    world: 'stack',
    inputs: { ingress: 'public' },
    expect: input('ingress', 'public', "must be one of 'external', 'internal'")
  },
  // sizes
  {
    name: 'replicas 0',
    world: 'stack',
    inputs: { replicas: '0' },
    expect: input('replicas', '0', 'must be a whole number from 1 to 30')
  },
  {
    name: 'replicas 31',
    world: 'stack',
    inputs: { replicas: '31' },
    expect: input('replicas', '31', 'must be a whole number from 1 to 30')
  },
  {
    name: 'min-replicas above replicas',
    world: 'stack',
    inputs: { replicas: '2', 'min-replicas': '3' },
    expect: input('min-replicas', '3', 'must be a whole number from 0 to 2')
  },
  {
    name: 'cpu below 0.5',
    world: 'stack',
    inputs: { cpu: '0.3' },
    expect: input('cpu', '0.3', 'must be a number from 0.5 to 4')
  },
  {
    name: 'cpu not a quarter',
    world: 'stack',
    inputs: { cpu: '0.6', memory: '1.2Gi' },
    expect: input('cpu', '0.6', 'must be a multiple of 0.25')
  },
  {
    name: 'memory not twice the cpu',
    world: 'stack',
    inputs: { cpu: '1', memory: '3Gi' },
    expect: input('memory', '3Gi', 'must be twice the CPU')
  },
  {
    name: 'log-retention-days below 30',
    world: 'stack',
    inputs: { 'log-retention-days': '7' },
    expect: input('log-retention-days', '7', 'must be a whole number from 30 to 730')
  },
  {
    name: 'log-retention-days above 730',
    world: 'stack',
    inputs: { 'log-retention-days': '731' },
    expect: input('log-retention-days', '731', 'must be a whole number from 30 to 730')
  },
  // values of one kind
  {
    name: "storage-auth 'sas'",
    world: 'stack',
    inputs: { 'storage-auth': 'sas' },
    expect: input('storage-auth', 'sas', "must be one of 'access-key', 'managed-identity'")
  },
  {
    name: "command 'upgrade'",
    world: 'stack',
    inputs: { command: 'upgrade' },
    expect: input('command', 'upgrade', "must be one of 'deploy'")
  },
  {
    name: 'image-tag without v',
    world: 'stack',
    inputs: { 'image-tag': '3.17.2' },
    expect: input('image-tag', '3.17.2', "must be an MLflow release tag with its 'v' prefix")
  },
  {
    name: 'image-tag before -full images',
    world: 'stack',
    inputs: { 'image-tag': 'v3.8.0' },
    expect: input('image-tag', 'v3.8.0', 'must be v3.9.0 or later')
  },
  {
    name: "image-tag 'latest'",
    world: 'stack',
    inputs: { 'image-tag': 'latest' },
    expect: input('image-tag', 'latest', 'must be an MLflow release tag')
  },
  {
    name: 'wait-timeout below 10 s',
    world: 'stack',
    inputs: { 'wait-timeout': '5' },
    expect: input('wait-timeout', '5', 'must be a whole number from 10 to 7200')
  },
  {
    name: 'lock-timeout not a number',
    world: 'stack',
    inputs: { 'lock-timeout': 'soon' },
    expect: input('lock-timeout', 'soon', 'must be a whole number from 0 to 7200')
  },
  {
    name: 'poll-interval 0',
    world: 'stack',
    inputs: { 'poll-interval': '0' },
    expect: input('poll-interval', '0', 'must be a number from 0.01 to 60')
  },
  {
    name: "allow-downgrade 'yes'",
    world: 'stack',
    inputs: { 'allow-downgrade': 'yes' },
    expect: input('allow-downgrade', 'yes', "must be 'true' or 'false'")
  },
  {
    name: 'subscription-id not a GUID',
    world: 'stack',
    inputs: { 'subscription-id': 'my-subscription' },
    expect: input('subscription-id', 'my-subscription', 'must be a subscription GUID')
  },
  {
    name: 'client-id without tenant-id',
    world: 'stack',
    inputs: { 'client-id': SOME_GUID },
    expect: input('tenant-id', '', "is required when 'client-id' is set")
  },
  {
    name: 'arm-endpoint over http',
    world: 'stack',
    inputs: { 'arm-endpoint': 'http://127.0.0.1:1' },
    expect: input('arm-endpoint', 'http://127.0.0.1:1', 'must be an https:// URL')
  },
  {
    name: 'resource-group ending in a dot',
    world: 'stack',
    inputs: { 'resource-group': 'rg.' },
    expect: input('resource-group', 'rg.', ".*must not end with '.'")
  },
  {
    name: 'resource-group that does not exist',
    world: 'stack',
    inputs: { 'resource-group': 'no-such-group' },
    expect: input('resource-group', 'no-such-group', 'names a resource group that does not exist')
  },
  {
    name: 'storage-account-name with upper case and _',
    world: 'stack',
    inputs: { 'storage-account-name': 'My_Store' },
    expect: input(
      'storage-account-name',
      'My_Store',
      'must be 3 to 24 characters of lower-case letters and digits'
    )
  },
  // pull request environments
  {
    name: 'pr-up: expires-after above 720 h',
    world: 'stack',
    inputs: { command: 'pr-up', 'pr-number': '5', 'expires-after': '721' },
    expect: input('expires-after', '721', 'must be a number from 0 to 720')
  },
  {
    name: 'pr-up: expires-after negative',
    world: 'stack',
    inputs: { command: 'pr-up', 'pr-number': '5', 'expires-after': '-1' },
    expect: input('expires-after', '-1', 'must be a number from 0 to 720')
  },
  {
    name: 'pr-up: pr-number not a number',
    world: 'stack',
    inputs: { command: 'pr-up', 'pr-number': 'abc' },
    expect: input('pr-number', 'abc', '')
  },
  {
    name: 'pr-up: pr-number 0',
    world: 'stack',
    inputs: { command: 'pr-up', 'pr-number': '0' },
    expect: input('pr-number', '0', '')
  },
  {
    name: 'pr-up: no pr-number outside a pull request',
    world: 'stack',
    inputs: { command: 'pr-up' },
    expect: input('pr-number', '', 'is required outside a pull_request event')
  },
  // changes an existing stack cannot take
  {
    name: 'existing stack: location moved',
    world: 'stack',
    inputs: { location: 'northeurope' },
    expect: /`location` westeurope → northeurope cannot be applied/
  },
  {
    name: 'existing stack: vnet-address-space changed',
    world: 'stack',
    inputs: { 'vnet-address-space': '10.50.0.0/16' },
    expect: /`vnet-address-space` 10\.42\.0\.0\/16 → 10\.50\.0\.0\/16 cannot be applied/
  },
  {
    name: 'existing stack: postgres-version down',
    world: 'stack',
    inputs: { 'postgres-version': '15' },
    expect: /`postgres-version` 16 → 15 cannot be applied/
  },
  {
    name: 'existing stack: postgres-version up in place',
    world: 'stack',
    inputs: { 'postgres-version': '17' },
    expect: /`postgres-version` 16 → 17 needs a major-version upgrade/
  },
  {
    name: 'existing stack: postgres-storage-gb shrunk',
    world: 'stack',
    inputs: { 'postgres-storage-gb': '32' },
    expect: /`postgres-storage-gb` 64 → 32 cannot be applied/
  },
  // permissions the deploying identity lacks
  {
    name: 'no Microsoft.App/containerApps/write for a change',
    world: 'denied',
    inputs: { replicas: '2' },
    expect: lacks('Microsoft.App/containerApps/write on /subscriptions/')
  },
  {
    name: 'no revisions/deactivate/action for a new revision',
    world: 'denied',
    inputs: { cpu: '0.5', memory: '1Gi' },
    expect: lacks('Microsoft.App/containerApps/revisions/deactivate/action')
  },
  {
    name: 'no Microsoft.App/jobs/start/action for a bump',
    world: 'denied',
    inputs: { 'image-tag': NEXT_TAG },
    expect: lacks('Microsoft.App/jobs/start/action')
  },
  {
    name: 'no roleAssignments/write for keyless storage',
    world: 'denied',
    inputs: { 'storage-auth': 'managed-identity' },
    expect: lacks('Microsoft.Authorization/roleAssignments/write')
  },
  {
    name: 'no userAssignedIdentities/write for keyless storage',
    world: 'denied',
    inputs: { 'storage-auth': 'managed-identity' },
    expect: lacks('Microsoft.ManagedIdentity/userAssignedIdentities/write')
  },
  {
    name: 'no regeneratekey/action for rotate-keys',
    world: 'denied',
    inputs: { command: 'rotate-keys' },
    expect: lacks('Microsoft.Storage/storageAccounts/regeneratekey/action')
  },
  {
    name: "no workspaces/write (denied as 'Microsoft.OperationalInsights/*/write')",
    world: 'denied',
    inputs: { 'log-retention-days': '60' },
    expect: lacks('Microsoft.OperationalInsights/workspaces/write')
  },
  {
    name: 'no resourceGroups/write for a tag change',
    world: 'denied',
    inputs: { tags: 'team=ml' },
    expect: lacks('Microsoft.Resources/subscriptions/resourceGroups/write')
  },
  {
    name: 'no resourceGroups/delete for destroy',
    world: 'denied',
    inputs: { command: 'destroy' },
    expect: lacks('Microsoft.Resources/subscriptions/resourceGroups/delete')
  },
  {
    name: 'no resourceGroups/write for a new stack (Azure refuses the group)',
    world: 'denied',
    inputs: { 'stack-name': 'heldnew' },
    expect: lacks('Microsoft.Resources/subscriptions/resourcegroups/write on /subscriptions/')
  },
  {
    name: 'pr-up without Microsoft.App/containerApps/write',
    world: 'denied',
    inputs: { command: 'pr-up', 'pr-number': '7' },
    expect: lacks('Microsoft.App/containerApps/write')
  },
  {
    name: 'unregistered Microsoft.App, no right to register it (no group yet)',
    world: 'fresh',
    inputs: {},
    expect:
      /lacks Microsoft\.App\/register\/action on \/subscriptions\/[^\n]*az provider register --namespace Microsoft\.App/
  },
  {
    name: 'unregistered Microsoft.App, no right to register it (in a group of the team)',
    world: 'fresh',
    inputs: { 'stack-name': 'badteam', 'resource-group': TEAM_GROUP },
    expect:
      /lacks Microsoft\.App\/register\/action on \/subscriptions\/[^\n]*\n.*az provider register --namespace Microsoft\.App/
  }
]

/** Writes that reached a resource provider (not those ARM refused with 403 AuthorizationFailed). */
function carriedOut(log: RequestRecord[], from: number): RequestRecord[] {
  return writesIn(log, from).filter((r) => r.status !== 403)
}

/**
 * The error's first line for the figure, ~100 characters: without the "… refused before …: " lead
 * the figure says anyway, and with the next line when the first only announces a list.
 */
function firstLine(run: ActionRun): string {
  const [head = '', next = ''] = errorsOf(run).split('\n')
  let line = head.replace(/^\w+ refused before any(thing| change)[^:]*: /, '')
  if (/(:|cannot be made\.)$/.test(line)) line = `${line} ${next.replace(/^- /, '')}`
  return line.length > 100 ? `${line.slice(0, 99)}…` : line
}

async function pool<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await work(items[next++]!)
    })
  )
}

async function startWorlds(suite: Suite, deniedDir: string): Promise<Record<WorldName, World>> {
  const ledger = suite.ledger
  const [stack, denied, fresh] = await Promise.all([
    (async () => {
      const w = await startWorld(ledger, 'badin', {}, { 'postgres-storage-gb': '64' })
      const r = await act(w, {}, 'badInput: the stack world')
      if (r.exitCode !== 0) throw new Error(`the stack world's deploy failed: ${failure(r)}`)
      return w
    })(),
    (async () => {
      // Deployed while everything is allowed; the same local Azure then loses the actions.
      const before = await startWorld(ledger, 'held', { stateDir: deniedDir })
      const r = await act(before, {}, 'badInput: the denied world')
      await before.emulator.stop()
      if (r.exitCode !== 0) throw new Error(`the denied world's deploy failed: ${failure(r)}`)
      return startWorld(ledger, 'held', { stateDir: deniedDir, denyActions: DENIED })
    })(),
    (async () => {
      const w = await startWorld(ledger, 'badnew', {
        unregistered: ['Microsoft.App'],
        denyActions: ['Microsoft.App/register/action']
      })
      await sdkClients(w.emulator).rm.resourceGroups.createOrUpdate(TEAM_GROUP, { location: 'westeurope' })
      return w
    })()
  ])
  return { stack, denied, fresh }
}

export const badInput: Scenario = {
  name: 'badInput',
  runtime: 'standin',
  async run(suite) {
    const check = reporter(suite, 'badInput')
    const deniedDir = mkdtempSync(join(tmpdir(), 'arm-emulator-denied-'))
    const worlds = await startWorlds(suite, deniedDir).catch((error: unknown) => {
      rmSync(deniedDir, { recursive: true, force: true })
      throw error
    })
    const results: boolean[] = []
    let writes = 0
    try {
      await pool(ROWS, AT_ONCE, async (row) => {
        const world = worlds[row.world]
        const from = (await world.emulator.requests()).length
        const run = await act(world, row.inputs, `badInput: ${row.name}`)
        const written = carriedOut(await world.emulator.requests(), from)
        writes += written.length
        const error = errorsOf(run)
        const ok = run.exitCode !== 0 && written.length === 0 && row.expect.test(error)
        results.push(ok)
        check(
          row.name,
          ok,
          run.exitCode === 0
            ? 'accepted: the run succeeded'
            : `refused before any write: "${firstLine(run)}"`,
          ok
            ? undefined
            : [
                `world ${row.world}, inputs ${JSON.stringify(row.inputs).slice(0, 300)}`,
                `exit ${run.exitCode}; writes while it ran: ${written.map((w) => `${w.method} ${w.path} ${w.status}`).join(', ') || 'none'}`,
                `expected the error to match ${String(row.expect)}`,
                `error: ${error || run.stdout.slice(-1500)}`
              ].join('\n')
        )
      })
    } finally {
      await Promise.allSettled(Object.values(worlds).map((w) => w.emulator.stop()))
      rmSync(deniedDir, { recursive: true, force: true })
    }
    const met = results.filter(Boolean).length
    check(
      `${ROWS.length} cases, all refused before any write`,
      met === ROWS.length && ROWS.length >= 40,
      `${met}/${ROWS.length} refused with an error naming the input, the change or the permission; ${writes} writes`
    )
  }
}
