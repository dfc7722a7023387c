/**
 * Keyless mode as pure policy: the stack it describes (an identity with a data role, no key
 * anywhere, shared keys off) and the order of a switch in either direction, so the revision that
 * serves never loses the access it reads blobs with.
 */
import { describe, expect, it } from '@jest/globals'
import type { Observed, RevisionState } from '../../src/azure/port.js'
import { parseInputs, type DeployConfig } from '../../src/config/inputs.js'
import { plan } from '../../src/engine/plan.js'
import { desiredState, type DesiredResource } from '../../src/stack/desired.js'
import type { Facts } from '../../src/stack/facts.js'
import type { ActualState } from '../../src/stack/graph.js'
import { withRolloutMarkers } from '../../src/stack/rollout.js'
import { planApp, planSteps } from '../../src/stack/steps.js'

const SUB = '00000000-0000-4000-8000-000000000001'
const config = (storageAuth: string): DeployConfig => {
  const inputs: Record<string, string> = {
    'stack-name': 'team-a',
    location: 'westeurope',
    'subscription-id': SUB,
    'admin-password': 'an-admin-password',
    'storage-auth': storageAuth
  }
  return parseInputs((n) => inputs[n] ?? '') as DeployConfig
}
const facts: Facts = {
  workspaceCustomerId: 'cust',
  workspaceSharedKey: 'k',
  environmentDefaultDomain: 'blue.westeurope.azurecontainerapps.io',
  storageKey: 'K1',
  storageKeys: { key1: 'K1', key2: 'K2' },
  postgresPassword: 'pg',
  postgresPasswordIsNew: false,
  postgresServerExists: true,
  flaskSecretKey: 'flask',
  identityClientId: 'client-guid',
  identityPrincipalId: 'principal-guid'
}
const find = <K extends string>(graph: { key: string }[], key: K) => graph.find((d) => d.key === key)

describe('the keyless stack', () => {
  const graph = desiredState(config('managed-identity'), facts)

  it('has an identity with Storage Blob Data Contributor on the account, and shared keys off', () => {
    expect(find(graph, 'identity')).toBeDefined()
    const role = find(graph, 'blobRole') as DesiredResource<'roleAssignment'>
    expect(role.spec).toMatchObject({
      principalId: 'principal-guid',
      principalType: 'ServicePrincipal',
      roleDefinitionId: `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/ba92f5b4-2d11-453d-a403-e96b0029c9fe`
    })
    expect(role.spec.scope).toMatch(/^subscriptions\/.*\/providers\/Microsoft\.Storage\/storageAccounts\/st/)
    expect(
      (find(graph, 'storageAccount') as DesiredResource<'storageAccount'>).spec.allowSharedKeyAccess
    ).toBe(false)
  })

  it('gives the app the identity and no key: no key secret, no key variable', () => {
    const app = (find(graph, 'containerApp') as DesiredResource<'containerApp'>).spec
    expect(app.identityId).toMatch(/\/microsoft\.managedidentity\/userassignedidentities\/team-a-mlflow-id$/)
    expect(app.secrets.map((s) => s.name)).not.toContain('storage-access-key')
    const env = Object.fromEntries(app.container.env.map((e) => [e.name, e.value ?? e.secretRef]))
    expect(env['AZURE_STORAGE_ACCESS_KEY']).toBeUndefined()
    expect(env['AZURE_CLIENT_ID']).toBe('client-guid')
    expect(JSON.stringify(graph)).not.toContain('K1')
  })

  it('the access-key stack has none of it', () => {
    const keyed = desiredState(config('access-key'), facts)
    expect(find(keyed, 'identity')).toBeUndefined()
    expect(find(keyed, 'blobRole')).toBeUndefined()
    expect(
      (find(keyed, 'storageAccount') as DesiredResource<'storageAccount'>).spec.allowSharedKeyAccess
    ).toBe(true)
  })
})

describe('switching modes', () => {
  function stateFor(c: DeployConfig, f: Facts) {
    const spec = (desiredState(c, f).find((d) => d.key === 'containerApp') as DesiredResource<'containerApp'>)
      .spec
    const serving: RevisionState = {
      name: 'team-a-mlflow--old',
      createdTime: '2026-12-01T10:00:00.000Z',
      fqdn: 'x',
      container: withRolloutMarkers(spec.container, spec.secrets),
      minReplicas: 1,
      maxReplicas: 1,
      provisioningState: 'Provisioned',
      runningState: 'Running',
      healthState: 'Healthy',
      active: true,
      trafficWeight: 100,
      image: spec.container.image
    }
    const actual = Object.fromEntries(
      desiredState(c, f).map((d) => [
        d.key,
        {
          kind: d.kind,
          id: d.key,
          name: d.address.name,
          spec: JSON.parse(JSON.stringify(d.spec)),
          outputs: {
            fqdn: 'x',
            traffic: [],
            clientId: 'client-guid',
            principalId: 'principal-guid',
            blobEndpoint: ''
          }
        }
      ])
    ) as unknown as ActualState
    return { serving, actual }
  }

  function stepsTo(now: DeployConfig, was: DeployConfig, f: Facts) {
    const { serving, actual } = stateFor(was, f)
    const desired = desiredState(now, f)
    const entries = plan(desired, actual)
    const app = planApp({
      desired: desired.find((d) => d.key === 'containerApp') as DesiredResource<'containerApp'>,
      observed: actual.containerApp as Observed<'containerApp'>,
      revisions: [serving],
      configChanges: entries.find((e) => e.key === 'containerApp')!.changes,
      version: now.image.version,
      run: { runId: '1', nowSeconds: 0 },
      allowDowngrade: false
    })
    return planSteps({ entries, desired, observedApp: actual.containerApp as Observed<'containerApp'>, app })
  }

  it('to keyless: identity and role, a new revision that uses them, and shared keys off only after the traffic moved', () => {
    const steps = stepsTo(config('managed-identity'), config('access-key'), facts)
    const keys = steps.map((s) => s.key)
    expect(keys).toEqual(
      expect.arrayContaining(['identity', 'blobRole', 'revision', 'gate', 'traffic', 'deactivate'])
    )
    // The account's only change is deferred: no early put that would cut the serving revision off.
    expect(keys).not.toContain('storageAccount')
    const off = steps.find((s) => s.key === 'disableSharedKey')!
    expect(off.dependsOn).toEqual(['deactivate'])
    expect(steps.find((s) => s.key === 'revision')!.dependsOn).toEqual(
      expect.arrayContaining(['identity', 'blobRole'])
    )
  })

  it('back to keys: shared keys on first, a new revision with the key, the identity detached only after the traffic moved', () => {
    const keyless = { ...facts }
    const back = stepsTo(config('access-key'), config('managed-identity'), {
      ...keyless,
      keepIdentityId: 'id'
    })
    const keys = back.map((s) => s.key)
    expect(keys).toContain('storageAccount')
    const put = back.find((s) => s.key === 'storageAccount')!
    expect(put.kind === 'put' && put.entry.changes.map((c) => c.path)).toEqual(['allowSharedKeyAccess'])
    expect(back.find((s) => s.key === 'detachIdentity')!.dependsOn).toEqual(['deactivate'])
  })
})
