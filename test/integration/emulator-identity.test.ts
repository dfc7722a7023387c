/**
 * Keyless storage in the local Azure, driven by the real SDK clients: user-assigned identities
 * (`@azure/arm-msi`), role assignments (`@azure/arm-authorization`) with Azure's refusals, an
 * account that allows no shared key, Bearer tokens at the blob endpoint (the ARM token refused, the
 * deploying principal's token honoured once its data role has propagated), and a revision with an
 * identity that writes an artifact only after its role assignment has propagated.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { randomUUID } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { blobOps } from '../helpers/blobOps.js'
import { accountKeys, startWithBlobAccount } from '../helpers/blobAccount.js'
import type { Emulator } from '../helpers/emulator.js'
import { identityClients, roleDefinitionId, ROLES } from '../helpers/identityClients.js'
import { armError, fastLro, until, type SdkClients } from '../helpers/sdk.js'

const LOCATION = 'westeurope'
const RG = 'rg-keyless'
const ACCOUNT = 'stkeyless1'
const APP = 'mlflow-mi'
const TIME_SCALE = 0.002
/** Realistic seconds, × 0.002: a new principal 4 s unknown, a role assignment 3 s unhonoured. */
const PRINCIPAL_WHILE_S = 2000
const ROLE_WHILE_S = 1500

describe('managed identity, role assignments and keyless blob access', () => {
  let emu: Emulator
  let c: SdkClients
  let ids: ReturnType<typeof identityClients>
  let accountId = ''
  let key1 = ''

  const sub = () => emu.subscriptionId
  const contributor = () => roleDefinitionId(sub(), ROLES.storageBlobDataContributor)
  const probe = [{ op: 'containerExists' as const, container: 'mlflow' }]

  beforeAll(async () => {
    ;({ emu, c, accountId } = await startWithBlobAccount(
      {
        timeScale: TIME_SCALE,
        propagation: { principal: PRINCIPAL_WHILE_S, roleAssignment: ROLE_WHILE_S, storageKey: 0 }
      },
      { location: LOCATION, resourceGroup: RG, account: ACCOUNT, container: 'mlflow' }
    ))
    ids = identityClients(emu)
    ;({ key1 } = await accountKeys(c, RG, ACCOUNT))
  }, 60_000)

  afterAll(async () => {
    await emu?.stop()
  })

  it('user-assigned identities: create, read, tag, list, delete; a new one is a new principal', async () => {
    const made = await ids.msi.userAssignedIdentities.createOrUpdate(RG, 'id-crud', { location: LOCATION })
    expect(made).toMatchObject({
      name: 'id-crud',
      type: 'Microsoft.ManagedIdentity/userAssignedIdentities',
      location: LOCATION,
      principalId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      clientId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      tenantId: expect.stringMatching(/^[0-9a-f-]{36}$/)
    })
    const again = await ids.msi.userAssignedIdentities.createOrUpdate(RG, 'id-crud', {
      location: LOCATION,
      tags: { a: '1' }
    })
    expect(again.principalId).toBe(made.principalId)
    const patched = await ids.msi.userAssignedIdentities.update(RG, 'id-crud', { tags: { b: '2' } })
    expect(patched.tags).toEqual({ b: '2' })
    expect((await ids.msi.userAssignedIdentities.get(RG, 'id-crud')).clientId).toBe(made.clientId)
    const listed = []
    for await (const i of ids.msi.userAssignedIdentities.listByResourceGroup(RG)) listed.push(i.name)
    expect(listed).toContain('id-crud')
    const bad = await armError(ids.msi.userAssignedIdentities.createOrUpdate(RG, 'x', { location: LOCATION }))
    expect(bad).toMatchObject({ statusCode: 400, code: 'InvalidResourceName' })

    await ids.msi.userAssignedIdentities.delete(RG, 'id-crud')
    await ids.msi.userAssignedIdentities.delete(RG, 'id-crud')
    const statuses = (await emu.requests())
      .filter((r) => r.method === 'DELETE' && r.path.endsWith('/id-crud'))
      .map((r) => r.status)
    expect(statuses).toEqual([200, 204])
    const gone = await armError(ids.msi.userAssignedIdentities.get(RG, 'id-crud'))
    expect(gone).toMatchObject({ statusCode: 404, code: 'ResourceNotFound' })
    const remade = await ids.msi.userAssignedIdentities.createOrUpdate(RG, 'id-crud', { location: LOCATION })
    expect(remade.principalId).not.toBe(made.principalId)
  })

  it('role assignments: PrincipalNotFound, principalType, idempotent PUT, RoleAssignmentExists, refusals, lists', async () => {
    const stranger = await armError(
      ids.auth.roleAssignments.create(accountId, randomUUID(), {
        roleDefinitionId: contributor(),
        principalId: randomUUID(),
        principalType: 'ServicePrincipal'
      })
    )
    expect(stranger).toMatchObject({ statusCode: 400, code: 'PrincipalNotFound' })
    expect(stranger.message).toMatch(/does not exist in the directory .*principalType/)

    const fresh = await ids.msi.userAssignedIdentities.createOrUpdate(RG, 'id-roles', { location: LOCATION })
    const createdAt = Date.now()
    const name = randomUUID()
    // Not yet replicated: without principalType the directory does not find it.
    const early = await armError(
      ids.auth.roleAssignments.create(accountId, name, {
        roleDefinitionId: contributor(),
        principalId: fresh.principalId!
      })
    )
    expect(Date.now() - createdAt).toBeLessThan(PRINCIPAL_WHILE_S * 1000 * TIME_SCALE)
    expect(early).toMatchObject({ statusCode: 400, code: 'PrincipalNotFound' })
    // The documented fix: say what it is.
    const assignment = await ids.auth.roleAssignments.create(accountId, name, {
      roleDefinitionId: contributor(),
      principalId: fresh.principalId!,
      principalType: 'ServicePrincipal'
    })
    expect(assignment).toMatchObject({
      name,
      type: 'Microsoft.Authorization/roleAssignments',
      id: `${accountId}/providers/Microsoft.Authorization/roleAssignments/${name}`,
      scope: accountId,
      roleDefinitionId: contributor(),
      principalId: fresh.principalId,
      principalType: 'ServicePrincipal'
    })
    await ids.auth.roleAssignments.create(accountId, name, {
      roleDefinitionId: contributor(),
      principalId: fresh.principalId!,
      principalType: 'ServicePrincipal'
    })
    const puts = (await emu.requests()).filter((r) => r.method === 'PUT' && r.path.endsWith(name))
    expect(puts.map((r) => r.status)).toEqual([400, 201, 200])

    const twin = await armError(
      ids.auth.roleAssignments.create(accountId, randomUUID(), {
        roleDefinitionId: contributor(),
        principalId: fresh.principalId!,
        principalType: 'ServicePrincipal'
      })
    )
    expect(twin).toMatchObject({ statusCode: 409, code: 'RoleAssignmentExists' })
    const changed = await armError(
      ids.auth.roleAssignments.create(accountId, name, {
        roleDefinitionId: roleDefinitionId(sub(), ROLES.storageBlobDataReader),
        principalId: fresh.principalId!,
        principalType: 'ServicePrincipal'
      })
    )
    expect(changed).toMatchObject({ statusCode: 400, code: 'RoleAssignmentUpdateNotPermitted' })
    const unknownRole = await armError(
      ids.auth.roleAssignments.create(accountId, randomUUID(), {
        roleDefinitionId: roleDefinitionId(sub(), randomUUID()),
        principalId: fresh.principalId!,
        principalType: 'ServicePrincipal'
      })
    )
    expect(unknownRole).toMatchObject({ statusCode: 400, code: 'RoleDefinitionDoesNotExist' })
    const wrongType = await armError(
      ids.auth.roleAssignments.create(accountId, randomUUID(), {
        roleDefinitionId: roleDefinitionId(sub(), ROLES.storageBlobDataReader),
        principalId: fresh.principalId!,
        principalType: 'User'
      })
    )
    expect(wrongType).toMatchObject({ statusCode: 400, code: 'UnmatchedPrincipalType' })

    // At resource-group scope too; lists see what is at, above and below a scope.
    const rgScope = `/subscriptions/${sub()}/resourceGroups/${RG}`
    const rgName = randomUUID()
    await ids.auth.roleAssignments.create(rgScope, rgName, {
      roleDefinitionId: roleDefinitionId(sub(), ROLES.storageBlobDataReader),
      principalId: fresh.principalId!,
      principalType: 'ServicePrincipal'
    })
    const names = async (scope: string, filter?: string) => {
      const out: string[] = []
      for await (const a of ids.auth.roleAssignments.listForScope(scope, filter ? { filter } : {}))
        out.push(a.name!)
      return out.sort()
    }
    expect(await names(accountId, 'atScope()')).toEqual([name, rgName].sort())
    expect(await names(rgScope, 'atScope()')).toEqual([rgName])
    expect(await names(rgScope, `principalId eq '${fresh.principalId}'`)).toEqual([name, rgName].sort())
    expect(await names(rgScope, `principalId eq '${randomUUID()}'`)).toEqual([])

    expect((await ids.auth.roleAssignments.get(accountId, name)).principalId).toBe(fresh.principalId)
    await ids.auth.roleAssignments.delete(accountId, name)
    await ids.auth.roleAssignments.delete(rgScope, rgName)
    expect(await armError(ids.auth.roleAssignments.get(accountId, name))).toMatchObject({ statusCode: 404 })
    // Once replicated, no principalType is needed.
    await until(
      'the principal to replicate',
      async () => Date.now() - createdAt,
      (ms) => ms > PRINCIPAL_WHILE_S * 1000 * TIME_SCALE
    )
    const late = await ids.auth.roleAssignments.create(accountId, randomUUID(), {
      roleDefinitionId: contributor(),
      principalId: fresh.principalId!
    })
    expect(late.principalType).toBe('ServicePrincipal')
    await ids.auth.roleAssignments.delete(accountId, late.name!)
  }, 60_000)

  it('allowSharedKeyAccess: false refuses keys and SAS with KeyBasedAuthenticationNotPermitted', async () => {
    expect((await blobOps(emu.env, ACCOUNT, { kind: 'key', key: key1 }, probe))[0]).toEqual({
      ok: true,
      value: true
    })
    const updated = await c.st.storageAccounts.update(RG, ACCOUNT, { allowSharedKeyAccess: false })
    expect(updated.allowSharedKeyAccess).toBe(false)
    const [withKey] = await blobOps(emu.env, ACCOUNT, { kind: 'key', key: key1 }, probe)
    const [withSas] = await blobOps(emu.env, ACCOUNT, { kind: 'sas', key: key1 }, [
      { op: 'upload', container: 'mlflow', blob: 'sas.txt', text: 'x' }
    ])
    for (const r of [withKey, withSas]) {
      expect(r).toMatchObject({ ok: false, status: 403, code: 'KeyBasedAuthenticationNotPermitted' })
    }
    expect((withSas as { message: string }).message).toBe(
      'Key based authentication is not permitted on this storage account.'
    )
    await c.st.storageAccounts.update(RG, ACCOUNT, { allowSharedKeyAccess: true })
    expect((await blobOps(emu.env, ACCOUNT, { kind: 'sas', key: key1 }, probe))[0]).toEqual({
      ok: true,
      value: true
    })
    await c.st.storageAccounts.update(RG, ACCOUNT, { allowSharedKeyAccess: false })
  }, 60_000)

  it('Bearer: the ARM token is refused; the deployer needs a propagated data role', async () => {
    const [arm] = await blobOps(emu.env, ACCOUNT, { kind: 'token', token: emu.token }, probe)
    expect(arm).toMatchObject({ ok: false, status: 401, code: 'InvalidAuthenticationInfo' })
    const token = emu.env['AZURE_STORAGE_ACCESS_TOKEN']!
    const principalId = emu.env['AZURE_DEPLOYER_PRINCIPAL_ID']!
    const [noRole] = await blobOps(emu.env, ACCOUNT, { kind: 'token', token }, probe)
    expect(noRole).toMatchObject({ ok: false, status: 403, code: 'AuthorizationPermissionMismatch' })

    // Contributor on the group gives no data access.
    await ids.auth.roleAssignments.create(`/subscriptions/${sub()}/resourceGroups/${RG}`, randomUUID(), {
      roleDefinitionId: roleDefinitionId(sub(), ROLES.contributor),
      principalId,
      principalType: 'ServicePrincipal'
    })
    await ids.auth.roleAssignments.create(accountId, randomUUID(), {
      roleDefinitionId: contributor(),
      principalId,
      principalType: 'ServicePrincipal'
    })
    const assignedAt = Date.now()
    const [early] = await blobOps(emu.env, ACCOUNT, { kind: 'token', token }, probe)
    expect(Date.now() - assignedAt).toBeLessThan(ROLE_WHILE_S * 1000 * TIME_SCALE)
    expect(early).toMatchObject({ ok: false, status: 403, code: 'AuthorizationPermissionMismatch' })
    const lease = await until(
      'the deployer role to propagate',
      () =>
        blobOps(emu.env, ACCOUNT, { kind: 'token', token }, [
          { op: 'upload', container: 'mlflow', blob: 'deploy.lock', text: '' },
          { op: 'acquireLease', container: 'mlflow', blob: 'deploy.lock', duration: 15 }
        ]),
      (r) => r.every((x) => x.ok),
      30_000
    )
    expect(Date.now() - assignedAt).toBeGreaterThanOrEqual(ROLE_WHILE_S * 1000 * TIME_SCALE)
    expect(lease[1]).toMatchObject({ ok: true, value: expect.stringMatching(/^[0-9a-f-]{36}$/) })
  }, 60_000)

  it("the deployer's token endpoint speaks the App Service protocol", async () => {
    const d = emu.deployer!
    expect(d.principalId).toBe(emu.env['AZURE_DEPLOYER_PRINCIPAL_ID'])
    const ask = (resource: string, header?: string) =>
      fetch(
        `${d.identityEndpoint}?api-version=2019-08-01&resource=${encodeURIComponent(resource)}`,
        header ? { headers: { 'X-IDENTITY-HEADER': header } } : {}
      )
    expect((await ask('https://storage.azure.com')).status).toBe(401)
    expect((await ask('https://storage.azure.com', 'not-the-header')).status).toBe(401)
    const storage = await ask('https://storage.azure.com', d.identityHeader)
    expect(storage.status).toBe(200)
    const body = (await storage.json()) as Record<string, string>
    expect(body).toMatchObject({
      resource: 'https://storage.azure.com',
      token_type: 'Bearer',
      client_id: d.clientId,
      expires_on: expect.stringMatching(/^\d+$/)
    })
    const claims = JSON.parse(
      Buffer.from(body['access_token']!.split('.')[1]!, 'base64url').toString()
    ) as Record<string, unknown>
    expect(claims).toMatchObject({ aud: 'https://storage.azure.com', oid: d.principalId, tid: d.tenantId })
    // The role given in the test before honours this token too.
    const [r] = await blobOps(emu.env, ACCOUNT, { kind: 'token', token: body['access_token']! }, probe)
    expect(r).toEqual({ ok: true, value: true })
    const arm = (await (await ask('https://management.azure.com/', d.identityHeader)).json()) as Record<
      string,
      string
    >
    expect(arm['access_token']).toBe(emu.token)
    const graph = await ask('https://graph.microsoft.com', d.identityHeader)
    expect(graph.status).toBe(400)
    expect(((await graph.json()) as Record<string, string>)['error']).toBe('invalid_resource')
  })

  it('a revision with an identity writes artifacts only once its role assignment has propagated', async () => {
    const missing = `/subscriptions/${sub()}/resourceGroups/${RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/nope`
    const env = await c.aca.managedEnvironments.createOrUpdate(RG, 'env-mi', { location: LOCATION }, fastLro)
    const template = (clientId: string) => ({
      containers: [
        {
          name: 'mlflow',
          image: 'ghcr.io/mlflow/mlflow:v3.17.2-full',
          command: ['mlflow', 'server'],
          args: [
            '--host',
            '0.0.0.0',
            '--port',
            '5000',
            '--artifacts-destination',
            `wasbs://mlflow@${ACCOUNT}.blob.core.windows.net/`
          ],
          env: [{ name: 'AZURE_CLIENT_ID', value: clientId }]
        }
      ],
      scale: { minReplicas: 1, maxReplicas: 1 }
    })
    const refused = await armError(
      c.aca.containerApps.createOrUpdate(
        RG,
        APP,
        {
          location: LOCATION,
          environmentId: env.id,
          identity: { type: 'UserAssigned', userAssignedIdentities: { [missing]: {} } },
          configuration: { ingress: { external: true, targetPort: 5000 } },
          template: template(randomUUID())
        },
        fastLro
      )
    )
    expect(refused).toMatchObject({ statusCode: 400, code: 'FailedIdentityOperation' })

    const identity = await ids.msi.userAssignedIdentities.createOrUpdate(RG, 'id-mlflow', {
      location: LOCATION
    })
    const app = await c.aca.containerApps.createOrUpdate(
      RG,
      APP,
      {
        location: LOCATION,
        environmentId: env.id,
        identity: { type: 'UserAssigned', userAssignedIdentities: { [identity.id!]: {} } },
        configuration: { ingress: { external: true, targetPort: 5000 } },
        template: template(identity.clientId!)
      },
      fastLro
    )
    expect(app.identity?.userAssignedIdentities?.[identity.id!]).toEqual({
      clientId: identity.clientId,
      principalId: identity.principalId
    })
    const appUrl = async () =>
      Object.values((await emu.runtimeInfo()).apps).find((a) => a.app === APP)?.url ?? ''
    await until('the app to run', appUrl, (u) => u !== '', 30_000)
    const put = async () =>
      (
        await fetch(`${await appUrl()}/api/2.0/mlflow-artifacts/artifacts/7/model.txt`, {
          method: 'PUT',
          body: 'm'
        })
      ).status
    // The replica has an identity, but the identity holds no data role yet.
    expect(await put()).toBe(500)
    const logs = () => {
      const dir = join(emu.stateDir, 'logs')
      return readdirSync(dir)
        .filter((f) => f.startsWith(`${APP}--`))
        .map((f) => readFileSync(join(dir, f), 'utf8'))
        .join('\n')
    }
    await until(
      'the refusal in the log',
      async () => logs(),
      (l) => l.includes('AuthorizationPermissionMismatch')
    )
    expect(logs()).not.toMatch(/IDENTITY_HEADER=\w/)

    await ids.auth.roleAssignments.create(accountId, randomUUID(), {
      roleDefinitionId: contributor(),
      principalId: identity.principalId!,
      principalType: 'ServicePrincipal'
    })
    const assignedAt = Date.now()
    expect(await put()).toBe(500)
    await until('the artifact write', put, (s) => s === 200, 30_000)
    expect(Date.now() - assignedAt).toBeGreaterThanOrEqual(ROLE_WHILE_S * 1000 * TIME_SCALE)
    const got = await fetch(`${await appUrl()}/api/2.0/mlflow-artifacts/artifacts/7/model.txt`)
    expect(await got.text()).toBe('m')
  }, 90_000)
})
