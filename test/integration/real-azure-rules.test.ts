/**
 * What the first deploy to a real subscription would meet, met here first: the local Azure keeps
 * Azure's probe ranges, answers display-name locations, refuses what cannot change in place, keeps
 * what a policy attached to a subnet — and the action copes with each, before any write where it
 * must refuse. Each case names the rule it proves.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import type { ContainerApp } from '@azure/arm-appcontainers'
import { deriveNames } from '../../src/config/naming.js'
import { errorsOf, runAction, type ActionRun } from '../helpers/action.js'
import { isWrite, startEmulator, type Emulator } from '../helpers/emulator.js'
import { armError, fastLro, sdkClients, type SdkClients } from '../helpers/sdk.js'

const STACK = 'strict'
let emulator: Emulator
let c: SdkClients
let names: ReturnType<typeof deriveNames>
/** Inputs every run of this stack shares; a test that changes the stack for good updates them. */
const base: Record<string, string> = {
  command: 'deploy',
  'stack-name': STACK,
  location: 'westeurope',
  'admin-password': 'strict-admin-password-1'
}

async function run(extra: Record<string, string> = {}): Promise<{ run: ActionRun; writes: string[] }> {
  const before = (await emulator.requests()).length
  const result = await runAction({ ...base, ...extra }, emulator.env)
  const writes = (await emulator.requests())
    .slice(before)
    .filter(isWrite)
    .map((r) => `${r.method} ${r.path}`)
  return { run: result, writes }
}

function expectSuccess(r: ActionRun): void {
  if (r.exitCode !== 0)
    throw new Error(`action failed (${r.exitCode}):\n${errorsOf(r)}\n${r.stdout.slice(-3000)}`)
}

function secretsOf(state: unknown, id: RegExp): Record<string, string> {
  const resources = (state as { resources: Record<string, { id: string; secrets: Record<string, string> }> })
    .resources
  const found = Object.values(resources).find((r) => id.test(r.id))
  if (!found) throw new Error(`no resource matches ${id}`)
  return found.secrets
}

beforeAll(async () => {
  emulator = await startEmulator({ timeScale: 0.002 })
  c = sdkClients(emulator)
  names = deriveNames({ stackName: STACK, subscriptionId: emulator.subscriptionId })
  const first = await run()
  expectSuccess(first.run)
}, 300_000)

afterAll(async () => {
  await emulator?.stop()
})

describe('probes inside the ranges Container Apps accepts', () => {
  it('the action writes every probe value inside 1–30 (failure threshold ≤ 10), with room for a slow first start', async () => {
    const app = await c.aca.containerApps.get(names.resourceGroup, names.containerApp)
    const probes = app.template?.containers?.[0]?.probes ?? []
    expect(probes.map((p) => p.type).sort()).toEqual(['Liveness', 'Readiness', 'Startup'])
    for (const p of probes) {
      expect(p.failureThreshold).toBeGreaterThanOrEqual(1)
      expect(p.failureThreshold).toBeLessThanOrEqual(10)
      for (const v of [p.initialDelaySeconds, p.periodSeconds, p.timeoutSeconds]) {
        expect(v).toBeGreaterThanOrEqual(1)
        expect(v).toBeLessThanOrEqual(30)
      }
    }
    const startup = probes.find((p) => p.type === 'Startup')!
    const window = startup.initialDelaySeconds! + startup.periodSeconds! * startup.failureThreshold!
    expect(window).toBeGreaterThanOrEqual(300)
  })

  it.each([
    [
      'failureThreshold 60',
      { failureThreshold: 60 },
      'ContainerAppProbeFailureThresholdOutOfRange',
      /Container 'mlflow' 'Startup' probe's FailureThreshold must be in the range of \['1', '30'\]\./
    ],
    [
      'initialDelaySeconds 0',
      { initialDelaySeconds: 0 },
      'ContainerAppProbeInitialDelaySecondsOutOfRange',
      /probe's InitialDelaySeconds must be in the range of \['1', '60'\]/
    ],
    [
      'periodSeconds 241',
      { periodSeconds: 241 },
      'ContainerAppProbePeriodSecondsOutOfRange',
      /probe's PeriodSeconds must be in the range of \['1', '240'\]/
    ]
  ])('the local Azure refuses a start-up probe with %s', async (_label, change, code, message) => {
    const app: ContainerApp = await c.aca.containerApps.get(names.resourceGroup, names.containerApp)
    const container = app.template!.containers![0]!
    container.probes = container.probes!.map((p) => (p.type === 'Startup' ? { ...p, ...change } : p))
    const err = await armError(
      c.aca.containerApps.createOrUpdate(names.resourceGroup, names.containerApp, app, fastLro)
    )
    expect(err.statusCode).toBe(400)
    expect(err.code).toBe(code)
    expect(err.message).toMatch(message)
  })
})

describe('locations as Azure answers them', () => {
  it('Microsoft.App and PostgreSQL answer the display name, the others the name, and a rerun writes nothing', async () => {
    const rg = names.resourceGroup
    const [app, env, server, account, vnet] = await Promise.all([
      c.aca.containerApps.get(rg, names.containerApp),
      c.aca.managedEnvironments.get(rg, names.managedEnvironment),
      c.pg.servers.get(rg, names.postgresServer),
      c.st.storageAccounts.getProperties(rg, names.storageAccount),
      c.net.virtualNetworks.get(rg, names.virtualNetwork)
    ])
    expect([app.location, env.location, server.location]).toEqual([
      'West Europe',
      'West Europe',
      'West Europe'
    ])
    expect([account.location, vnet.location]).toEqual(['westeurope', 'westeurope'])
    const again = await run()
    expectSuccess(again.run)
    expect(again.writes).toEqual([])
  }, 120_000)

  it('the action refuses a region the providers do not offer as an input error, before any write', async () => {
    const { run: r, writes } = await run({ 'stack-name': 'typo', location: 'westeuropa' })
    expect(r.exitCode).not.toBe(0)
    expect(errorsOf(r)).toMatch(
      /^Input 'location' has value 'westeuropa': must be a region where the stack's resources are offered; Microsoft\.Network\/virtualNetworks, .* are not offered there/
    )
    expect(writes).toEqual([])
  })

  it('refuses an unknown region and a resource moved to another one, with ARM codes', async () => {
    const group = await armError(
      c.rm.resourceGroups.createOrUpdate('rg-elsewhere', { location: 'westeuropa' })
    )
    expect([group.statusCode, group.code]).toEqual([400, 'LocationNotAvailableForResourceGroup'])
    await c.rm.resourceGroups.createOrUpdate('rg-elsewhere', { location: 'westeurope' })
    const unknown = await armError(
      c.st.storageAccounts.create(
        'rg-elsewhere',
        'stelsewhere1',
        { location: 'moonbase', sku: { name: 'Standard_LRS' }, kind: 'StorageV2' },
        fastLro
      )
    )
    expect([unknown.statusCode, unknown.code]).toEqual([400, 'LocationNotAvailableForResourceType'])
    const moved = await armError(
      c.st.storageAccounts.create(
        names.resourceGroup,
        names.storageAccount,
        { location: 'northeurope', sku: { name: 'Standard_LRS' }, kind: 'StorageV2' },
        fastLro
      )
    )
    expect([moved.statusCode, moved.code]).toEqual([409, 'InvalidResourceLocation'])
    expect(moved.message).toContain(`already exists in location 'westeurope'`)
  })
})

describe('changes that cannot be made in place', () => {
  it.each([
    [
      { 'postgres-version': '17' },
      /`postgres-version` 16 → 17 needs a major-version upgrade, which is its own operation on Azure/
    ],
    [{ 'postgres-version': '15' }, /`postgres-version` 16 → 15 cannot be applied: PostgreSQL cannot go back/],
    [
      { location: 'northeurope' },
      /`location` westeurope → northeurope cannot be applied: Azure resources keep the region/
    ],
    [
      { 'vnet-address-space': '10.50.0.0/16' },
      /`vnet-address-space` 10\.42\.0\.0\/16 → 10\.50\.0\.0\/16 cannot be applied: the stack's subnets are in use/
    ]
  ])(
    'deploy refuses %j before any write, saying what to do',
    async (change, message) => {
      const { run: r, writes } = await run(change)
      expect(r.exitCode).not.toBe(0)
      expect(errorsOf(r)).toMatch(/Deploy refused before any change was made/)
      expect(errorsOf(r)).toMatch(message)
      expect(writes).toEqual([])
    },
    120_000
  )

  it('plan shows the replacement as required, exits 0 and writes nothing', async () => {
    const { run: r, writes } = await run({ command: 'plan', 'postgres-version': '17' })
    expectSuccess(r)
    expect(writes).toEqual([])
    expect(r.summary).toContain(
      '| postgresServer | `' + names.postgresServer + '` | ⛔ replace required | version 16 → 17 |'
    )
    expect(r.summary).toContain('### Replace required')
    expect(r.stdout).toMatch(/::warning::Deploy would refuse this change: `postgres-version` 16 → 17/)
  }, 120_000)

  it('the local Azure refuses the same changes with its own codes', async () => {
    const rg = names.resourceGroup
    const version = await armError(
      c.pg.servers.beginUpdateAndWait(rg, names.postgresServer, { version: '17' }, fastLro)
    )
    expect([version.statusCode, version.code]).toEqual([400, 'ParameterOutOfRange'])
    expect(version.message).toContain("The value of the 'Version' should be in: [16]")
    const login = await armError(
      c.pg.servers.beginUpdateAndWait(
        rg,
        names.postgresServer,
        { administratorLogin: 'someoneelse' },
        fastLro
      )
    )
    expect([login.statusCode, login.code]).toEqual([400, 'AdministratorLoginCannotBeChanged'])
    const env = await c.aca.managedEnvironments.get(rg, names.managedEnvironment)
    env.vnetConfiguration = { ...env.vnetConfiguration, internal: true }
    const internal = await armError(
      c.aca.managedEnvironments.createOrUpdate(rg, names.managedEnvironment, env, fastLro)
    )
    expect([internal.statusCode, internal.code]).toEqual([
      400,
      'ManagedEnvironmentInvalidNetworkConfiguration'
    ])
    const aca = await c.net.subnets.get(rg, names.virtualNetwork, names.acaSubnet)
    const moved = await armError(
      c.net.subnets.createOrUpdate(
        rg,
        names.virtualNetwork,
        names.acaSubnet,
        { ...aca, addressPrefix: '10.42.8.0/23' },
        fastLro
      )
    )
    expect([moved.statusCode, moved.code]).toEqual([400, 'InUseSubnetCannotBeUpdated'])
  })

  it('storage grown behind the action is never shrunk back: deploy refuses, then follows the new size', async () => {
    await c.pg.servers.beginUpdateAndWait(
      names.resourceGroup,
      names.postgresServer,
      { storage: { storageSizeGB: 64 } },
      fastLro
    )
    const shrink = await armError(
      c.pg.servers.beginUpdateAndWait(
        names.resourceGroup,
        names.postgresServer,
        { storage: { storageSizeGB: 32 } },
        fastLro
      )
    )
    expect([shrink.statusCode, shrink.code]).toEqual([400, 'StorageSizeCannotBeDecreased'])
    const refused = await run()
    expect(refused.run.exitCode).not.toBe(0)
    expect(errorsOf(refused.run)).toMatch(
      /`postgres-storage-gb` 64 → 32 cannot be applied: the server's storage can grow but never shrink; keep 64 GB or more/
    )
    expect(refused.writes).toEqual([])
    base['postgres-storage-gb'] = '64'
    const followed = await run()
    expectSuccess(followed.run)
    expect(followed.writes).toEqual([])
  }, 120_000)
})

describe('plan as the README shows it', () => {
  it('needs no admin-password and shows no change for a stack that matches', async () => {
    const { run: r, writes } = await run({ command: 'plan', 'admin-password': '' })
    expectSuccess(r)
    expect(writes).toEqual([])
    expect(r.outputs.changes).toBe('0')
  }, 120_000)
})

describe('a server deleted under an app that still holds its URI', () => {
  it('is created again with the password in the app, and the app is left as it is', async () => {
    await c.pg.servers.beginDeleteAndWait(names.resourceGroup, names.postgresServer, fastLro)
    const { run: r, writes } = await run()
    expectSuccess(r)
    expect(
      writes.some((w) => new RegExp(`^PUT .*/flexibleServers/${names.postgresServer}$`, 'i').test(w))
    ).toBe(true)
    expect(writes.some((w) => /containerApps/i.test(w))).toBe(false)
    const state = await emulator.state()
    const server = secretsOf(state, new RegExp(`/flexibleServers/${names.postgresServer}$`, 'i'))
    const app = secretsOf(state, new RegExp(`/containerApps/${names.containerApp}$`, 'i'))
    const uri = new URL(app['backend-store-uri']!)
    expect(server.administratorLoginPassword).toBe(decodeURIComponent(uri.password))
  }, 120_000)
})

describe('subnets are child resources', () => {
  it('an NSG and a third subnet added the way a policy would stay, and a redeploy writes nothing', async () => {
    const rg = names.resourceGroup
    const nsgId = `/subscriptions/${emulator.subscriptionId}/resourceGroups/${rg}/providers/Microsoft.Network/networkSecurityGroups/policy-nsg`
    const aca = await c.net.subnets.get(rg, names.virtualNetwork, names.acaSubnet)
    await c.net.subnets.createOrUpdate(
      rg,
      names.virtualNetwork,
      names.acaSubnet,
      { ...aca, networkSecurityGroup: { id: nsgId }, serviceEndpoints: [{ service: 'Microsoft.Storage' }] },
      fastLro
    )
    await c.net.subnets.createOrUpdate(
      rg,
      names.virtualNetwork,
      'shared-services',
      { addressPrefix: '10.42.3.0/24' },
      fastLro
    )
    const { run: r, writes } = await run()
    expectSuccess(r)
    expect(writes).toEqual([])
    const subnets: string[] = []
    for await (const s of c.net.subnets.list(rg, names.virtualNetwork)) subnets.push(s.name!)
    expect(subnets.sort()).toEqual(['aca', 'db', 'shared-services'])
    const after = await c.net.subnets.get(rg, names.virtualNetwork, names.acaSubnet)
    expect(after.networkSecurityGroup?.id?.toLowerCase()).toBe(nsgId.toLowerCase())
    expect(after.serviceEndpoints?.map((e) => e.service)).toEqual(['Microsoft.Storage'])
  }, 120_000)

  it('a retag of the VNet is a tags PATCH, never a PUT that would rewrite its subnets', async () => {
    const { run: r, writes } = await run({ tags: 'team=ml' })
    expectSuccess(r)
    const vnetWrites = writes.filter((w) => /\/virtualNetworks\//i.test(w))
    expect(vnetWrites).toEqual([
      expect.stringMatching(new RegExp(`^PATCH .*/virtualNetworks/${names.virtualNetwork}$`, 'i'))
    ])
    const subnets: string[] = []
    for await (const s of c.net.subnets.list(names.resourceGroup, names.virtualNetwork)) subnets.push(s.name!)
    expect(subnets).toHaveLength(3)
    base.tags = 'team=ml'
  }, 120_000)
})

describe('the emulator still takes the in-place paths Azure offers', () => {
  it('a major-version upgrade is a PATCH with createMode Update', async () => {
    const upgraded = await c.pg.servers.beginUpdateAndWait(
      names.resourceGroup,
      names.postgresServer,
      { version: '17', createMode: 'Update' },
      fastLro
    )
    expect(
      upgraded.version ?? (await c.pg.servers.get(names.resourceGroup, names.postgresServer)).version
    ).toBe('17')
    // The stack now runs 17: the action follows once the input says so, and writes nothing.
    const { run: r, writes } = await run({ 'postgres-version': '17' })
    expectSuccess(r)
    expect(writes).toEqual([])
  }, 120_000)
})
