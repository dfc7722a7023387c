/**
 * The Azure Machine Learning smoke test's pure parts: how a workspace is given (inputs), the checks'
 * report lines, and the likely cause named beside a failure.
 */
import { describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { parseAzureMlUri } from '../../src/config/azureMl.js'
import { InputError } from '../../src/config/errors.js'
import { parseInputs, type SmokeConfig } from '../../src/config/inputs.js'
import { azureMlCause, reportedSteps } from '../../src/smoke/azureMl.js'
import { AZUREML_CHECKS_SCRIPT, AZUREML_STEP_PREFIX } from '../../src/smoke/azureMlChecks.js'

const SUB = '00000000-0000-4000-8000-000000000001'
const URI = `azureml://westeurope.api.azureml.ms/mlflow/v1.0/subscriptions/${SUB}/resourceGroups/rg-ml/providers/Microsoft.MachineLearningServices/workspaces/ws-1`

function parse(inputs: Record<string, string>): SmokeConfig {
  return parseInputs((name) => ({ command: 'smoke-test', ...inputs })[name] ?? '') as SmokeConfig
}

function problems(inputs: Record<string, string>): string[] {
  try {
    parse(inputs)
  } catch (error) {
    if (error instanceof InputError) return error.problems.map((p) => `${p.input}: ${p.rule}`)
    throw error
  }
  throw new Error('expected an InputError')
}

describe('smoke-test inputs for an Azure Machine Learning workspace', () => {
  it('takes a workspace by name with its resource group and subscription', () => {
    const c = parse({ 'aml-workspace': 'ws-1', 'resource-group': 'rg-ml', 'subscription-id': SUB })
    expect(c.azureMl).toEqual({ workspace: { subscriptionId: SUB, resourceGroup: 'rg-ml', name: 'ws-1' } })
    expect(c.azure.subscriptionId).toBe(SUB)
    expect(c.stackName).toBe('')
  })

  it('takes a workspace by its azureml:// tracking URI, the subscription coming from the URI', () => {
    const c = parse({ 'tracking-uri': URI })
    expect(c.azureMl).toEqual({
      workspace: { subscriptionId: SUB, resourceGroup: 'rg-ml', name: 'ws-1' },
      trackingUri: URI
    })
    expect(c.azure.subscriptionId).toBe(SUB)
  })

  it.each([
    [
      { 'aml-workspace': 'ws-1', 'subscription-id': SUB },
      /^resource-group: is required with 'aml-workspace'/
    ],
    [{ 'aml-workspace': 'ws-1', 'resource-group': 'rg' }, /^subscription-id: must be the subscription GUID/],
    [
      { 'aml-workspace': '-ws', 'resource-group': 'rg', 'subscription-id': SUB },
      /^aml-workspace: must be an Azure Machine Learning workspace name/
    ],
    [{ 'aml-workspace': 'w'.repeat(34), 'resource-group': 'rg', 'subscription-id': SUB }, /^aml-workspace: /],
    [
      { 'aml-workspace': 'ws-1', 'resource-group': 'rg', 'subscription-id': SUB, 'tracking-uri': URI },
      /^tracking-uri: must not be given with 'aml-workspace'/
    ],
    [
      { 'aml-workspace': 'ws-1', 'resource-group': 'rg', 'subscription-id': SUB, 'stack-name': 'team-a' },
      /^stack-name: must not be given with an Azure Machine Learning workspace/
    ],
    [
      { 'tracking-uri': URI, 'admin-password': 'correct-horse-battery' },
      /^admin-password: is not used with an Azure Machine Learning workspace/
    ],
    [
      { 'tracking-uri': URI.replace('/mlflow/v1.0', '') },
      /^tracking-uri: must be the workspace MLflow tracking URI/
    ],
    [
      { 'tracking-uri': URI.replace(SUB, 'not-a-guid') },
      /^tracking-uri: must be the workspace MLflow tracking URI/
    ],
    [{ 'tracking-uri': `${URI}?auth=x` }, /^tracking-uri: must be the workspace MLflow tracking URI/]
  ])('refuses %j', (inputs, rule) => {
    expect(problems(inputs as Record<string, string>)).toEqual(
      expect.arrayContaining([expect.stringMatching(rule)])
    )
  })

  it('parses the URI forms it should, and no other', () => {
    expect(parseAzureMlUri(URI)).toEqual({
      host: 'westeurope.api.azureml.ms',
      subscriptionId: SUB,
      resourceGroup: 'rg-ml',
      name: 'ws-1'
    })
    expect(parseAzureMlUri(URI.replace('azureml://', 'https://'))).toBe('invalid')
    expect(parseAzureMlUri(`${URI}/experiments/1`)).toBe('invalid')
  })
})

describe('the checks script and its report', () => {
  it('is valid Python (the text the action runs, with its backslashes intact)', () => {
    expect(AZUREML_CHECKS_SCRIPT).toContain('"\\n"')
    execFileSync('python3', ['-c', 'import ast,sys; ast.parse(sys.stdin.read())'], {
      input: AZUREML_CHECKS_SCRIPT
    })
  })

  it('reads the report lines and ignores everything else', () => {
    const out = [
      'WARNING azureml: something',
      `${AZUREML_STEP_PREFIX}{"step":"experiment","status":"passed","ms":12,"detail":"experiment 1"}`,
      `${AZUREML_STEP_PREFIX}{"step":"run and`,
      `${AZUREML_STEP_PREFIX}{"step":"run and parameter","status":"failed","ms":3,"detail":"HTTP 403"}`
    ].join('\n')
    expect(reportedSteps(out)).toEqual([
      { step: 'experiment', status: 'passed', ms: 12, detail: 'experiment 1' },
      { step: 'run and parameter', status: 'failed', ms: 3, detail: 'HTTP 403' }
    ])
  })
})

describe('the likely cause of a failure', () => {
  it.each([
    [
      'API request to endpoint /api/2.0/mlflow/experiments/create failed with error code 401 != 200',
      /refused the sign-in token/
    ],
    [
      'API request failed with error code 403 != 200. Response body: AuthorizationFailed',
      /lacks a role on the workspace: grant it AzureML Data Scientist/
    ],
    ['error code 403 != 200: the workspace is behind a private link', /private endpoint/],
    [
      "HTTPSConnectionPool(host='x.api.azureml.ms', port=443): Max retries exceeded",
      /cannot be reached from this runner/
    ],
    ['error code 404 != 200: WorkspaceNotFound', /does not exist/],
    // What the MLflow client raises for the workspace's refusals (the status put first by the checks).
    [
      'HTTP 401 RestException: UNAUTHENTICATED: Authentication failed: Signature validation failed.',
      /refused the sign-in token/
    ],
    [
      "HTTP 403 RestException: PERMISSION_DENIED: The client 'x' with object id 'x' does not have authorization to perform action 'Microsoft.MachineLearningServices/workspaces/experiments/write'",
      /lacks a role/
    ],
    [
      "HTTP 404 RestException: RESOURCE_DOES_NOT_EXIST: Workspace 'ws-gone' in resource group 'rg' was not found in region 'westeurope'.",
      /does not exist/
    ]
  ])('%s', (detail, cause) => {
    expect(azureMlCause(detail)).toMatch(cause)
  })

  it('names none when nothing points anywhere', () => {
    expect(azureMlCause('AssertionError: tag reads back as None')).toBeUndefined()
    expect(
      azureMlCause("HTTP 404 RestException: RESOURCE_DOES_NOT_EXIST: Run 'abc' not found")
    ).toBeUndefined()
  })
})
