import { describe, expect, it } from '@jest/globals'
import { parseInputs, type DeployConfig } from '../../src/config/inputs.js'
import { openServer, TEST_SUBSCRIPTION } from '../helpers/config.js'
import { desiredState, type AnyDesired } from '../../src/stack/desired.js'
import { hasUnknown, type Facts } from '../../src/stack/facts.js'
import { passwordFromBackendStoreUri, probes, PROBE_LIMITS } from '../../src/stack/mlflowContainer.js'
import type { ContainerAppSpec } from '../../src/stack/specs.js'

const SUB = TEST_SUBSCRIPTION
const config = openServer
const known: Facts = {
  workspaceCustomerId: 'cust-1',
  workspaceSharedKey: 'shared-key-value',
  environmentDefaultDomain: 'blue-123.westeurope.azurecontainerapps.io',
  storageKey: 'storage-key-value',
  postgresPassword: 'p@ss/word',
  postgresPasswordIsNew: false,
  postgresServerExists: true
}
const app = (graph: AnyDesired[]) => graph.find((d) => d.kind === 'containerApp')!.spec as ContainerAppSpec

describe('desiredState', () => {
  it('describes the whole stack with dependencies inside the graph', () => {
    const graph = desiredState(config(), known)
    const kinds = graph.map((d) => d.kind)
    expect(kinds).toHaveLength(14)
    const keys = graph.map((d) => d.key)
    // The auth database and the keyless identity and role are optional; depending on them is moot
    // when they are not there.
    const optional = ['authDatabase', 'identity', 'blobRole']
    for (const d of graph)
      for (const dep of d.dependsOn) if (!optional.includes(dep)) expect(keys).toContain(dep)
    expect(hasUnknown(graph)).toBe(false)
  })

  it('has secure defaults for storage and postgres', () => {
    const graph = desiredState(config(), known)
    expect(graph.find((d) => d.kind === 'storageAccount')!.spec).toMatchObject({
      allowBlobPublicAccess: false,
      minimumTlsVersion: 'TLS1_2',
      supportsHttpsTrafficOnly: true
    })
    expect(graph.find((d) => d.kind === 'postgresServer')!.spec).toMatchObject({
      publicNetworkAccess: 'Disabled'
    })
    expect(graph.find((d) => d.key === 'acaSubnet')).toMatchObject({
      address: { name: 'aca', parent: 'team-a-vnet' },
      spec: { addressPrefix: '10.42.0.0/23', delegation: 'Microsoft.App/environments' }
    })
    expect(graph.find((d) => d.key === 'dbSubnet')).toMatchObject({
      address: { name: 'db', parent: 'team-a-vnet' },
      spec: { addressPrefix: '10.42.2.0/24', delegation: 'Microsoft.DBforPostgreSQL/flexibleServers' }
    })
    // The VNet itself lists no subnets: a VNet PUT would replace them (and what is attached to them).
    expect(graph.find((d) => d.kind === 'virtualNetwork')!.spec).toEqual({
      location: 'westeurope',
      tags: expect.any(Object),
      addressPrefixes: ['10.42.0.0/16']
    })
  })

  it('passes secrets to the container only by reference and keeps them off the command line', () => {
    const spec = app(desiredState(config(), known))
    const commandLine = [...spec.container.command, ...spec.container.args].join(' ')
    for (const secret of ['storage-key-value', 'p@ss/word', encodeURIComponent('p@ss/word')]) {
      expect(commandLine).not.toContain(secret)
      expect(JSON.stringify(spec.container.env)).not.toContain(secret)
    }
    expect(spec.container.env).toEqual(
      expect.arrayContaining([
        { name: 'MLFLOW_BACKEND_STORE_URI', secretRef: 'backend-store-uri' },
        { name: 'AZURE_STORAGE_ACCESS_KEY', secretRef: 'storage-access-key' }
      ])
    )
    const uri = spec.secrets.find((s) => s.name === 'backend-store-uri')!.value
    expect(passwordFromBackendStoreUri(uri)).toBe('p@ss/word')
    expect(uri).toContain('sslmode=require')
  })

  it('keeps the security middleware on, scoped to the app FQDN', () => {
    const args = app(desiredState(config(), known)).container.args
    const fqdn = 'team-a-mlflow.blue-123.westeurope.azurecontainerapps.io'
    expect(args).toContain('--allowed-hosts')
    const revisions = 'team-a-mlflow--*.blue-123.westeurope.azurecontainerapps.io'
    expect(args[args.indexOf('--allowed-hosts') + 1]).toBe(`${fqdn},${fqdn}:*,${revisions},${revisions}:*`)
    expect(args[args.indexOf('--cors-allowed-origins') + 1]).toBe(`https://${fqdn}`)
    expect(args.join(' ')).not.toContain('disable-security-middleware')
  })

  it('installs the blob client at start-up only for images before 3.11', () => {
    const old = app(desiredState(config({ 'image-tag': 'v3.10.1' }), known)).container
    expect(old.command).toEqual(['/bin/bash', '-c'])
    expect(old.args[0]).toMatch(
      /^set -e\npip install --no-cache-dir azure-storage-blob==[\d.]+\nexec mlflow server /
    )
    const current = app(desiredState(config({ 'image-tag': 'v3.11.0' }), known)).container
    expect(current.command).toEqual(['mlflow'])
    expect(current.args.join(' ')).not.toContain('pip install')
  })

  it('probes /health and sizes replicas from the input', () => {
    const spec = app(desiredState(config({ replicas: '3' }), known))
    expect(spec.minReplicas).toBe(3)
    expect(spec.maxReplicas).toBe(3)
    expect(spec.container.probes.map((p) => [p.type, p.path])).toEqual([
      ['Startup', '/health'],
      ['Liveness', '/health'],
      ['Readiness', '/health']
    ])
  })

  it('marks values only Azure knows before the first apply', () => {
    const graph = desiredState(config(), {
      postgresPasswordIsNew: true,
      postgresPassword: 'x',
      postgresServerExists: false
    })
    expect(graph.find((d) => d.kind === 'managedEnvironment')!.spec).toMatchObject({
      logAnalyticsCustomerId: 'known-after-apply.workspaceCustomerId'
    })
    expect(hasUnknown(app(graph))).toBe(true)
    expect(graph.find((d) => d.kind === 'postgresServer')!.spec).toMatchObject({
      administratorLoginPassword: 'x'
    })
  })

  it('sends the admin password only when it is new, or the server must be created', () => {
    const server = (facts: Facts) =>
      desiredState(config(), facts).find((d) => d.kind === 'postgresServer')!.spec
    expect(server(known)).toMatchObject({ administratorLoginPassword: undefined })
    // Deleted under an app that still holds its URI: created again with that URI's password.
    expect(server({ ...known, postgresServerExists: false })).toMatchObject({
      administratorLoginPassword: 'p@ss/word'
    })
    expect(server({ ...known, postgresPasswordIsNew: true })).toMatchObject({
      administratorLoginPassword: 'p@ss/word'
    })
  })

  it('keeps every probe value inside what Container Apps accepts, and allows a slow first start', () => {
    for (const p of probes()) {
      for (const [field, [min, max]] of Object.entries(PROBE_LIMITS)) {
        const value = p[field as keyof typeof PROBE_LIMITS]
        expect(value).toBeGreaterThanOrEqual(min)
        expect(value).toBeLessThanOrEqual(max)
        expect(value).toBeLessThanOrEqual(30)
      }
    }
    const startup = probes().find((p) => p.type === 'Startup')!
    expect(
      startup.initialDelaySeconds + startup.periodSeconds * startup.failureThreshold
    ).toBeGreaterThanOrEqual(300)
  })

  it('keeps the admin password the app holds when a plan is given none', () => {
    const plan = parseInputs(
      (n) =>
        ({ command: 'plan', 'stack-name': 'team-a', location: 'westeurope', 'subscription-id': SUB })[n] ?? ''
    ) as DeployConfig
    const secrets = app(desiredState(plan, { ...known, adminPassword: 'the-current-one' })).secrets
    expect(secrets.find((s) => s.name === 'admin-password')!.value).toBe('the-current-one')
    expect(secrets.map((s) => s.name)).toEqual([...secrets.map((s) => s.name)].sort())
  })
})
