import { describe, expect, it } from '@jest/globals'
import { InputError } from '../../src/config/errors.js'
import { parseInputs, type DeployConfig } from '../../src/config/inputs.js'
import { desiredState } from '../../src/stack/desired.js'
import type { Facts } from '../../src/stack/facts.js'
import { BASIC_AUTH_BOOTSTRAP } from '../../src/stack/mlflowContainer.js'
import type { ContainerAppSpec } from '../../src/stack/specs.js'

const SUB = '00000000-0000-4000-8000-000000000001'
const PASSWORD = 'correct-horse-battery'
const base = { 'stack-name': 'team-a', location: 'westeurope', 'subscription-id': SUB }

function parse(inputs: Record<string, string>) {
  const all: Record<string, string> = { ...base, ...inputs }
  return parseInputs((n) => all[n] ?? '')
}
function problems(inputs: Record<string, string>) {
  try {
    parse(inputs)
    return []
  } catch (e) {
    if (e instanceof InputError) return e.problems
    throw e
  }
}
const facts: Facts = {
  workspaceCustomerId: 'c',
  workspaceSharedKey: 'k',
  environmentDefaultDomain: 'd.example',
  storageKey: 'storage-key-value-0123456789',
  postgresPassword: 'postgres-password-0123456789',
  postgresPasswordIsNew: false,
  postgresServerExists: true,
  flaskSecretKey: 'flask-secret-value'
}
const app = (inputs: Record<string, string>) =>
  desiredState(parse(inputs) as DeployConfig, facts).find((d) => d.key === 'containerApp')!
    .spec as ContainerAppSpec

describe('exposure rule: ingress × auth × allow-anonymous', () => {
  const table: [string, string, string, boolean][] = [
    // ingress, auth, allow-anonymous, accepted
    ['external', 'none', 'false', false],
    ['external', 'none', 'true', true],
    ['internal', 'none', 'false', true],
    ['internal', 'none', 'true', true],
    ['external', 'basic', 'false', true],
    ['external', 'basic', 'true', true],
    ['internal', 'basic', 'false', true],
    ['external', 'oidc', 'false', true],
    ['internal', 'oidc', 'false', true]
  ]
  const authInputs: Record<string, Record<string, string>> = {
    none: {},
    basic: { 'admin-password': PASSWORD },
    oidc: {
      'oidc-discovery-url': 'https://id.example.com/.well-known/openid-configuration',
      'oidc-client-id': 'mlflow',
      'oidc-client-secret': 'client-secret-value'
    }
  }
  it.each(table)(
    'ingress %s, auth %s, allow-anonymous %s → accepted: %s',
    (ingress, auth, anon, accepted) => {
      const found = problems({ ingress, auth, 'allow-anonymous': anon, ...authInputs[auth] })
      if (accepted) {
        expect(found).toEqual([])
      } else {
        expect(found).toHaveLength(1)
        expect(found[0]!.input).toBe('auth')
        expect(found[0]!.rule).toMatch(/anyone can read and write on the internet.*allow-anonymous 'true'/)
      }
    }
  )
  it('defaults to basic authentication, which needs the admin password', () => {
    expect(problems({})).toEqual([
      expect.objectContaining({
        input: 'admin-password',
        rule: expect.stringMatching(/required with auth 'basic'/)
      })
    ])
  })
})

describe('auth inputs', () => {
  it('refuses a short or legacy admin password without echoing it', () => {
    for (const pw of ['short', 'password1234']) {
      const [p] = problems({ 'admin-password': pw })
      expect(p!.input).toBe('admin-password')
      expect(p!.value).not.toContain(pw)
      expect(p!.value).toMatch(/characters, hidden/)
    }
  })
  it('requires the OIDC settings', () => {
    const found = problems({ auth: 'oidc' }).map((p) => p.input)
    expect(found).toEqual(['oidc-discovery-url', 'oidc-client-id', 'oidc-client-secret'])
  })
  it('parses an IP allow-list into ingress rules', () => {
    const spec = app({ 'admin-password': PASSWORD, 'allowed-ips': '203.0.113.0/24, 198.51.100.7' })
    expect(spec.ingress.ipSecurityRestrictions).toEqual([
      { name: 'allow-1', ipAddressRange: '203.0.113.0/24', action: 'Allow' },
      { name: 'allow-2', ipAddressRange: '198.51.100.7/32', action: 'Allow' }
    ])
    expect(problems({ 'admin-password': PASSWORD, 'allowed-ips': '300.1.1.1' })[0]).toMatchObject({
      input: 'allowed-ips',
      value: '300.1.1.1'
    })
  })
})

describe('the container with auth', () => {
  it('basic: runs the basic-auth app with its users in their own PostgreSQL database', () => {
    const spec = app({ 'admin-password': PASSWORD })
    const script = spec.container.args.join(' ')
    expect(spec.container.command).toEqual(['/bin/bash', '-c'])
    expect(script).toMatch(/exec mlflow server .*--app-name basic-auth/)
    expect(script).toContain(
      "'team-a-mlflow.d.example,team-a-mlflow.d.example:*,team-a-mlflow--*.d.example,team-a-mlflow--*.d.example:*'"
    )
    const secretNames = spec.secrets.map((s) => s.name)
    expect(secretNames).toEqual([
      'admin-password',
      'auth-database-uri',
      'backend-store-uri',
      'flask-secret-key',
      'storage-access-key'
    ])
    expect(spec.secrets.find((s) => s.name === 'auth-database-uri')!.value).toMatch(
      /\/mlflow_auth\?sslmode=require$/
    )
    expect(spec.container.env).toEqual(
      expect.arrayContaining([
        { name: 'MLFLOW_AUTH_ADMIN_PASSWORD', secretRef: 'admin-password' },
        { name: 'MLFLOW_FLASK_SERVER_SECRET_KEY', secretRef: 'flask-secret-key' },
        { name: 'MLFLOW_AUTH_DATABASE_URI', secretRef: 'auth-database-uri' }
      ])
    )
    const graph = desiredState(parse({ 'admin-password': PASSWORD }) as DeployConfig, facts)
    expect(graph.find((d) => d.key === 'authDatabase')!.address.name).toBe('mlflow_auth')
  })
  it('keeps every secret off the command line and out of plain env values', () => {
    const spec = app({ 'admin-password': PASSWORD })
    const visible = JSON.stringify([spec.container.command, spec.container.args, spec.container.env])
    for (const secret of spec.secrets) expect(visible).not.toContain(secret.value)
    expect(BASIC_AUTH_BOOTSTRAP).not.toContain(PASSWORD)
  })
  it('oidc: installs the plugin and points its redirect at the app', () => {
    const spec = app({
      auth: 'oidc',
      'oidc-discovery-url': 'https://id.example.com/.well-known/openid-configuration',
      'oidc-client-id': 'mlflow',
      'oidc-client-secret': 'client-secret-value'
    })
    expect(spec.container.args[0]).toMatch(/pip install --no-cache-dir mlflow-oidc-auth==[\d.]+/)
    expect(spec.container.args[0]).toMatch(/--app-name oidc-auth/)
    expect(spec.container.env).toEqual(
      expect.arrayContaining([
        { name: 'OIDC_REDIRECT_URI', value: 'https://team-a-mlflow.d.example/callback' },
        { name: 'OIDC_CLIENT_SECRET', secretRef: 'oidc-client-secret' },
        { name: 'OIDC_USERS_DB_URI', secretRef: 'auth-database-uri' }
      ])
    )
  })
  it('none: no auth database and the plain server', () => {
    const graph = desiredState(parse({ auth: 'none', ingress: 'internal' }) as DeployConfig, facts)
    expect(graph.some((d) => d.key === 'authDatabase')).toBe(false)
    const spec = graph.find((d) => d.key === 'containerApp')!.spec as ContainerAppSpec
    expect(spec.container.command).toEqual(['mlflow'])
    expect(spec.secrets.map((s) => s.name)).toEqual(['backend-store-uri', 'storage-access-key'])
  })
})
