import { describe, expect, it } from '@jest/globals'
import { InputError } from '../../src/config/errors.js'
import {
  parseInputs,
  parseTrackingUri,
  redactUserInfo,
  trackingUriSecret,
  type DeployConfig
} from '../../src/config/inputs.js'

const SUB = '00000000-0000-4000-8000-000000000001'
const base: Record<string, string> = {
  command: 'deploy',
  'stack-name': 'team-a',
  location: 'westeurope',
  'subscription-id': SUB,
  'admin-password': 'correct-horse-battery'
}
const reader = (inputs: Record<string, string>) => (name: string) => inputs[name] ?? ''

function parse(overrides: Record<string, string>) {
  return parseInputs(reader({ ...base, ...overrides }))
}

function problemsOf(overrides: Record<string, string>) {
  try {
    parse(overrides)
  } catch (error) {
    if (error instanceof InputError) return error.problems
    throw error
  }
  throw new Error('expected an InputError')
}

describe('parseInputs', () => {
  it('applies defaults for a minimal deploy', () => {
    const config = parse({}) as DeployConfig
    expect(config.command).toBe('deploy')
    expect(config.image.reference).toBe('ghcr.io/mlflow/mlflow:v3.17.2-full')
    expect(config.replicas).toBe(1)
    expect(config.memory).toBe('2Gi')
    expect(config.ingress).toBe('external')
    expect(config.postgres).toEqual({
      skuName: 'Standard_B1ms',
      skuTier: 'Burstable',
      version: '16',
      storageGb: 32
    })
    expect(config.network).toEqual({
      addressSpace: '10.42.0.0/16',
      acaSubnet: '10.42.0.0/23',
      dbSubnet: '10.42.2.0/24'
    })
    expect(config.azure.endpoint).toBe('https://management.azure.com')
    expect(config.azure.tokenScope).toBe('https://management.azure.com/.default')
    expect(config.names.resourceGroup).toBe('rg-team-a')
    expect(config.resourceGroupGiven).toBe(false)
  })

  it('derives a scope from a custom endpoint and reads the subscription from the environment', () => {
    const config = parseInputs(
      reader({ ...base, 'subscription-id': '', 'arm-endpoint': 'https://127.0.0.1:8443/' }),
      {
        AZURE_SUBSCRIPTION_ID: SUB
      }
    )
    expect(config.azure.endpoint).toBe('https://127.0.0.1:8443')
    expect(config.azure.tokenScope).toBe('https://127.0.0.1:8443/.default')
    expect(config.azure.subscriptionId).toBe(SUB)
  })

  it('destroy needs no location', () => {
    expect(parse({ command: 'destroy', location: '' }).command).toBe('destroy')
  })

  const bad: [string, Record<string, string>, string, RegExp][] = [
    ['unknown command', { command: 'apply' }, 'command', /one of 'deploy', 'plan', 'destroy'/],
    ['missing stack name', { 'stack-name': '' }, 'stack-name', /is required/],
    ['upper-case stack name', { 'stack-name': 'Team-A' }, 'stack-name', /lower-case/],
    ['stack name too long', { 'stack-name': 'a'.repeat(25) }, 'stack-name', /3 to 24/],
    ['double hyphen', { 'stack-name': 'team--a' }, 'stack-name', /single hyphens/],
    ['trailing hyphen', { 'stack-name': 'team-' }, 'stack-name', /end with a letter or digit/],
    ['missing location', { location: '' }, 'location', /is required/],
    ['location with spaces', { location: 'West Europe' }, 'location', /lower case without spaces/],
    ['subscription not a GUID', { 'subscription-id': 'sub1' }, 'subscription-id', /GUID/],
    ['image tag without v', { 'image-tag': '3.18.0' }, 'image-tag', /'v' prefix/],
    ['image too old for -full', { 'image-tag': 'v2.15.1' }, 'image-tag', /v3\.9\.0 or later/],
    ['zero replicas', { replicas: '0' }, 'replicas', /whole number from 1 to 30/],
    ['fractional replicas', { replicas: '1.5' }, 'replicas', /whole number/],
    ['cpu not a quarter', { cpu: '0.6' }, 'cpu', /multiple of 0.25/],
    ['memory not twice cpu', { cpu: '1', memory: '4Gi' }, 'memory', /twice the CPU/],
    ['bad ingress', { ingress: 'public' }, 'ingress', /'external', 'internal'/],
    ['bad postgres sku', { 'postgres-sku': 'B1ms' }, 'postgres-sku', /Standard_B1ms/],
    ['unknown postgres compute', { 'postgres-sku': 'Standard_B3ms' }, 'postgres-sku', /B1ms, B2s/],
    [
      'address space on a Container Apps reserved range',
      { 'vnet-address-space': '172.30.0.0/16' },
      'vnet-address-space',
      /overlaps 172\.30\.0\.0\/16/
    ],
    ['tag with an Azure prefix', { tags: 'azure-team=ml' }, 'tags', /azure, microsoft or windows/],
    ['bad postgres version', { 'postgres-version': '12' }, 'postgres-version', /'13'/],
    ['odd storage size', { 'postgres-storage-gb': '100' }, 'postgres-storage-gb', /one of 32, 64/],
    ['small address space', { 'vnet-address-space': '10.0.0.0/24' }, 'vnet-address-space', /\/22 or larger/],
    [
      'unaligned address space',
      { 'vnet-address-space': '10.0.1.0/16' },
      'vnet-address-space',
      /network boundary/
    ],
    ['bad resource group', { 'resource-group': 'rg.' }, 'resource-group', /must not end with '\.'/],
    [
      'bad storage name',
      { 'storage-account-name': 'My_Store' },
      'storage-account-name',
      /lower-case letters and digits/
    ],
    ['tag without =', { tags: 'team' }, 'tags', /key=value/],
    ['reserved tag', { tags: 'managed-by=me' }, 'tags', /set by the action/],
    ['client id without tenant', { 'client-id': SUB }, 'tenant-id', /required when 'client-id'/],
    ['http endpoint', { 'arm-endpoint': 'http://127.0.0.1:1' }, 'arm-endpoint', /https:\/\//],
    ['bad boolean-like poll', { 'poll-interval': 'fast' }, 'poll-interval', /number/]
  ]
  it.each(bad)('refuses %s, naming the input, value and rule', (_label, overrides, input, rule) => {
    const problems = problemsOf(overrides)
    const problem = problems.find((p) => p.input === input)
    expect(problem).toBeDefined()
    expect(problem!.rule).toMatch(rule)
    const value = overrides[input]
    if (value !== undefined) expect(problem!.value).toBe(value)
  })

  it('reports every bad input at once', () => {
    const problems = problemsOf({ replicas: '0', ingress: 'public', 'stack-name': 'X' })
    expect(problems.map((p) => p.input).sort()).toEqual(['ingress', 'replicas', 'stack-name'])
  })

  it('formats the error with input, value and rule', () => {
    expect(() => parse({ replicas: '99' })).toThrow(
      "Input 'replicas' has value '99': must be a whole number from 1 to 30"
    )
  })

  it('plan needs no admin password; deploy does', () => {
    expect((parse({ command: 'plan', 'admin-password': '' }) as DeployConfig).auth).toEqual({ mode: 'basic' })
    expect(problemsOf({ 'admin-password': '' }).map((p) => p.input)).toEqual(['admin-password'])
  })
})

describe('tracking URIs', () => {
  it('takes credentials out of the URI', () => {
    expect(parseTrackingUri('https://ops:p%40ss@mlflow.example.com/')).toEqual({
      url: 'https://mlflow.example.com',
      credentials: { username: 'ops', password: 'p@ss' }
    })
    expect(parseTrackingUri('http://127.0.0.1:5000')).toEqual({ url: 'http://127.0.0.1:5000' })
    for (const bad of ['ftp://x', 'https://', 'https://h/path', 'https://h?q=1', 'not a url'])
      expect(parseTrackingUri(bad)).toBe('invalid')
  })

  it('hides the password in messages and finds it for masking', () => {
    expect(redactUserInfo('https://ops:secret@h/x')).toBe('https://ops:***@h/x')
    expect(redactUserInfo('https://h/x')).toBe('https://h/x')
    expect(trackingUriSecret(' https://ops:se%2Fcret@h ')).toBe('se%2Fcret')
    expect(trackingUriSecret('https://ops@h')).toBeUndefined()
  })

  it('a smoke test takes the credentials from the URI', () => {
    const config = parseInputs(reader({ command: 'smoke-test', 'tracking-uri': 'https://u:pw@h.example' }))
    expect(config).toMatchObject({
      trackingUri: 'https://h.example',
      credentials: { username: 'u', password: 'pw' }
    })
  })
})
