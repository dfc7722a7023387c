/**
 * `smoke-test` of an Azure Machine Learning workspace: the workspace's MLflow endpoint tested the
 * way its users use it, through the `azureml-mlflow` plugin, signed in with the action's own Azure
 * sign-in (no secret of its own). `mlflow demo` is reported as skipped: Azure ML has no MLflow
 * tracing, which the demo writes (reference next-capabilities.md §8).
 */
import { randomBytes } from 'node:crypto'
import { describeAzureError } from '../azure/errors.js'
import type { AzurePort } from '../azure/port.js'
import type { AzureMlWorkspaceRef } from '../config/azureMl.js'
import type { SmokeConfig } from '../config/inputs.js'
import { AZUREML_CHECKS_SCRIPT, AZUREML_STEPS } from '../smoke/azureMlChecks.js'
import { reportedSteps, withCause } from '../smoke/azureMl.js'
import { AZUREML_CLIENT, ensureAzureMlClient } from '../smoke/venv.js'
import { runProcess, tail } from '../util/process.js'
import type { Log } from './log.js'
import { recordStep, runSmokeSteps, type SmokePlan, type SmokeResult, type SmokeStep } from './smokeTest.js'

export const DEMO_SKIPPED =
  'skipped: Azure Machine Learning does not support MLflow tracing (its trace endpoints answer 403), ' +
  'and mlflow demo writes traces'

export interface AzureMlSmokeDeps {
  log: Log
  env: NodeJS.ProcessEnv
  port: AzurePort
}

function describeWorkspace(w: AzureMlWorkspaceRef): string {
  return `workspace '${w.name}' in resource group '${w.resourceGroup}' of subscription ${w.subscriptionId}`
}

/** The tracking URI of a workspace named by `aml-workspace`, read from ARM. */
async function workspaceTrackingUri(port: AzurePort, w: AzureMlWorkspaceRef): Promise<string> {
  let found
  try {
    found = await port.getMlWorkspace({ resourceGroup: w.resourceGroup, name: w.name })
  } catch (error) {
    throw new Error(`reading ${describeWorkspace(w)} failed: ${describeAzureError(error)}`, { cause: error })
  }
  if (!found) {
    throw new Error(
      `${describeWorkspace(w)} does not exist: check aml-workspace, resource-group and subscription-id`
    )
  }
  if (!found.mlFlowTrackingUri) {
    throw new Error(
      `${describeWorkspace(w)} reports no MLflow tracking URI (provisioning state '${found.provisioningState}')`
    )
  }
  return found.mlFlowTrackingUri
}

/** The environment of the checks: the runner's, without the action's inputs (secrets among them). */
function checksEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(env)) if (!k.startsWith('INPUT_')) out[k] = v
  // Fail fast instead of retrying a refusing workspace for minutes.
  out.MLFLOW_HTTP_REQUEST_MAX_RETRIES = '1'
  out.MLFLOW_HTTP_REQUEST_TIMEOUT = '60'
  return out
}

export async function smokeTestAzureMl(config: SmokeConfig, deps: AzureMlSmokeDeps): Promise<SmokeResult> {
  const target = config.azureMl
  if (!target) throw new Error('smokeTestAzureMl needs an Azure Machine Learning workspace')
  const { log, port } = deps
  const w = target.workspace
  const steps: SmokeStep[] = []
  let trackingUri = target.trackingUri ?? ''
  let token: { token: string; expiresOnTimestamp: number } | undefined
  let python = ''

  const plan: SmokePlan = [
    [
      'workspace',
      async () => {
        if (target.trackingUri) return `${describeWorkspace(w)}, by its tracking URI`
        trackingUri = await workspaceTrackingUri(port, w)
        return `${describeWorkspace(w)}: ${trackingUri}`
      }
    ],
    [
      'sign-in',
      async () => {
        try {
          token = await port.armAccessToken()
        } catch (error) {
          throw new Error(
            `the Azure sign-in gave no token: ${error instanceof Error ? error.message : String(error)} — ` +
              'check client-id, tenant-id and the id-token: write permission',
            { cause: error }
          )
        }
        log.mask(token.token)
        return `a token of the Azure sign-in (valid until ${new Date(token.expiresOnTimestamp).toISOString()})`
      }
    ],
    [
      'azureml-mlflow client',
      async () => {
        const r = await ensureAzureMlClient({
          env: deps.env,
          timeoutMs: config.timeoutMs,
          log: (l) => log.info(l)
        })
        python = r.python
        const what = AZUREML_CLIENT.requirements.join(', ')
        return r.installed ? `installed ${what}` : `${what} from the cache`
      }
    ]
  ]
  await runSmokeSteps(plan, steps, log)

  if (steps.every((s) => s.status === 'passed') && token) {
    await runChecks(trackingUri, token, python, config, deps, steps)
  } else {
    for (const name of AZUREML_STEPS)
      steps.push({ name, status: 'skipped', durationMs: 0, detail: 'an earlier step failed' })
  }
  steps.push({ name: 'mlflow demo', status: 'skipped', durationMs: 0, detail: DEMO_SKIPPED })
  log.info(`– mlflow demo: ${DEMO_SKIPPED}`)

  return {
    command: 'smoke-test',
    trackingUri: trackingUri || `azureml workspace ${w.name}`,
    target: `Azure Machine Learning ${describeWorkspace(w)}`,
    passed: steps.every((s) => s.status !== 'failed'),
    steps
  }
}

async function runChecks(
  trackingUri: string,
  token: { token: string; expiresOnTimestamp: number },
  python: string,
  config: SmokeConfig,
  deps: AzureMlSmokeDeps,
  steps: SmokeStep[]
): Promise<void> {
  const input = JSON.stringify({
    trackingUri,
    token: token.token,
    expiresOn: Math.floor(token.expiresOnTimestamp / 1000),
    id: `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`
  })
  const t0 = Date.now()
  const r = await runProcess(python, ['-c', AZUREML_CHECKS_SCRIPT], {
    env: checksEnv(deps.env),
    timeoutMs: config.timeoutMs,
    stdin: input,
    onLine: (line) => deps.log.debug(`azureml checks: ${line}`)
  })
  const reported = reportedSteps(r.stdout)
  for (const s of reported) {
    recordStep(steps, deps.log, {
      name: s.step,
      status: s.status,
      durationMs: s.ms,
      detail: s.status === 'failed' ? withCause(s.detail) : s.detail
    })
  }
  const failedReported = reported.some((s) => s.status === 'failed')
  const missing = AZUREML_STEPS.filter((name) => !reported.some((s) => s.step === name))
  // The script itself broke (an import, a timeout) before it could report a step: the first step it
  // did not reach carries what it printed.
  if (!failedReported && (r.exitCode !== 0 || r.timedOut)) {
    const name = missing.shift() ?? 'clean-up'
    const why = r.timedOut ? `timed out after ${config.timeoutMs / 1000} s` : `exited with ${r.exitCode}`
    recordStep(steps, deps.log, {
      name,
      status: 'failed',
      durationMs: Date.now() - t0,
      detail: withCause(`the azureml-mlflow checks ${why}:\n${tail(r.stderr || r.stdout)}`)
    })
  }
  for (const name of missing) {
    // Clean-up is reported only once something was made; before that there is nothing to skip.
    if (name === 'clean-up' && !reported.some((s) => s.step === 'experiment' && s.status === 'passed'))
      continue
    steps.push({ name, status: 'skipped', durationMs: 0, detail: 'an earlier step failed' })
  }
}
