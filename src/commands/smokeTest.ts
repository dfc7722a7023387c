/**
 * `smoke-test`: proves a deployed MLflow works the way a user would use it. Each step is timed;
 * the first failure stops the test and says which step failed and why.
 */
import { randomBytes } from 'node:crypto'
import type { AzurePort } from '../azure/port.js'
import type { SmokeConfig } from '../config/inputs.js'
import { stackAddresses } from '../stack/graph.js'
import {
  MlflowHttp,
  answer,
  describeFetchError,
  diagnose,
  IP_RESTRICTION_ADVICE,
  isInternalIngressHost,
  isIpRestrictionRefusal,
  isUnresolvedName,
  type Credentials
} from '../smoke/http.js'
import { restRoundTrip } from '../smoke/roundTrip.js'
import { ensureMlflowClient } from '../smoke/venv.js'
import { pollUntil } from '../util/poll.js'
import { runProcess, tail } from '../util/process.js'
import { formatSeconds, type Log } from './log.js'

export interface SmokeStep {
  name: string
  status: 'passed' | 'failed' | 'skipped'
  durationMs: number
  detail: string
}

export interface SmokeResult {
  command: 'smoke-test'
  trackingUri: string
  version?: string
  passed: boolean
  steps: SmokeStep[]
  /** What was tested when it is not a server of this action's: e.g. an Azure ML workspace. */
  target?: string
  /**
   * Set when the server's name is an internal ingress name that does not resolve from this runner:
   * the test could not reach the server at all (what pr-up reports as not run rather than failed).
   */
  unreachable?: string
}

export interface SmokeDeps {
  log: Log
  env: NodeJS.ProcessEnv
  /** Needed only to find the tracking URI of a stack when none is given. */
  port?: AzurePort
  credentials?: Credentials
}

const DEMO_EXPERIMENT = 'MLflow Demo'

export async function findTrackingUri(config: SmokeConfig, port: AzurePort | undefined): Promise<string> {
  if (config.trackingUri) return config.trackingUri
  if (!port || !config.names)
    throw new Error("smoke-test needs 'tracking-uri' or the 'stack-name' of a deployed stack")
  const app = await port.handlers.containerApp.get(stackAddresses(config.names).containerApp)
  if (!app?.outputs.fqdn) {
    throw new Error(
      `Stack ${config.stackName} has no deployed container app ${config.names.containerApp}: deploy it first`
    )
  }
  return `https://${app.outputs.fqdn}`
}

/** The runner cannot see an internal ingress name: what that means, and what to do instead. */
export function internalIngressAdvice(trackingUri: string, seen: string): string {
  return (
    `${new URL(trackingUri).hostname} is an internal ingress name (ingress: internal): it resolves only ` +
    `inside the Container Apps environment, and this runner is outside it (${seen}). Run smoke-test from ` +
    `a runner inside the environment's network, or leave the smoke test out for an internal stack ` +
    `(the deploy's health gate relies on Azure's health probes for it).`
  )
}

/** A health answer that settles the question at once: polling would only wait for the deadline. */
class Unreachable extends Error {}

export async function smokeTest(config: SmokeConfig, deps: SmokeDeps): Promise<SmokeResult> {
  const { log } = deps
  const trackingUri = await findTrackingUri(config, deps.port)
  const http = new MlflowHttp(trackingUri, deps.credentials)
  const steps: SmokeStep[] = []
  let version: string | undefined
  let unreachable: string | undefined
  const id = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`

  const plan: SmokePlan = [
    [
      'health',
      async () => {
        // A fresh revision may still be warming up behind the ingress: poll, don't guess. Two
        // answers are final, though: the ingress refusing this runner's address (allowed-ips), and
        // an internal ingress name that does not exist from here.
        const r = await pollUntil(
          async () => {
            const res = await http
              .request('GET', '/health', undefined, { anonymous: true })
              .catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))))
            if (!(res instanceof Error)) {
              if (isIpRestrictionRefusal(res))
                throw new Unreachable(`GET /health answered ${answer(res)} — ${IP_RESTRICTION_ADVICE}`)
              // Where an internal name does resolve outside (to the environment's public ingress),
              // that ingress does not serve it there: 404 for a host it has no app for.
              if (res.status === 404 && isInternalIngressHost(trackingUri)) {
                unreachable = internalIngressAdvice(trackingUri, `GET /health answered ${answer(res)}`)
                throw new Unreachable(unreachable)
              }
              return res.status === 200
                ? { done: true as const, value: res }
                : { done: false as const, status: answer(res) }
            }
            if (isInternalIngressHost(trackingUri) && isUnresolvedName(res)) {
              unreachable = internalIngressAdvice(trackingUri, describeFetchError(res))
              throw new Unreachable(unreachable)
            }
            return { done: false as const, status: describeFetchError(res) }
          },
          {
            intervalMs: 2000,
            timeoutMs: Math.min(config.timeoutMs, 120_000),
            what: `${trackingUri}/health to answer 200`
          }
        )
        return `GET /health → ${answer(r)}`
      }
    ],
    [
      'version',
      async () => {
        const r = await http.request('GET', '/version')
        if (r.status !== 200) throw new Error(`GET /version returned ${answer(r)}${diagnose(r)}`)
        version = r.text.trim()
        return `MLflow ${version}`
      }
    ],
    ['authentication', () => checkAuthentication(http, deps.credentials !== undefined)]
  ]
  if (config.demo) {
    plan.push(
      [
        'mlflow client',
        async () => {
          const { installed } = await ensureMlflowClient({
            version: version!,
            env: deps.env,
            timeoutMs: config.timeoutMs,
            log: (l) => log.info(l)
          })
          return installed ? `installed mlflow==${version}` : `mlflow==${version} from the cache`
        }
      ],
      ['mlflow demo', () => runDemo(trackingUri, version!, http, config, deps)]
    )
  }
  plan.push([
    'REST round trip',
    async () => {
      const r = await restRoundTrip(http, id)
      for (const w of r.warnings) log.warning(`smoke-test clean-up: ${w}`)
      return `experiment ${r.experimentId}, run ${r.runId}: param, metric and a ${r.artifactBytes}-byte artifact round-tripped`
    }
  ])

  await runSmokeSteps(plan, steps, log)
  return {
    command: 'smoke-test',
    trackingUri,
    version,
    passed: steps.every((s) => s.status !== 'failed'),
    steps,
    ...(unreachable ? { unreachable } : {})
  }
}

/** A step of a smoke test: its name, and what it does (its detail on success; it throws on failure). */
export type SmokePlan = [string, () => Promise<string>][]

/** Runs the steps in order into `steps`; after a failure the rest are skipped, not run. */
export async function runSmokeSteps(plan: SmokePlan, steps: SmokeStep[], log: Log): Promise<void> {
  for (const [name, step] of plan) {
    if (steps.some((s) => s.status === 'failed')) {
      steps.push({ name, status: 'skipped', durationMs: 0, detail: 'an earlier step failed' })
      continue
    }
    const t0 = Date.now()
    try {
      const detail = await step()
      recordStep(steps, log, { name, status: 'passed', durationMs: Date.now() - t0, detail })
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error)
      recordStep(steps, log, { name, status: 'failed', durationMs: Date.now() - t0, detail })
    }
  }
}

const STEP_MARK: Record<SmokeStep['status'], string> = { passed: '✔', failed: '✘', skipped: '–' }

export function recordStep(steps: SmokeStep[], log: Log, step: SmokeStep): void {
  steps.push(step)
  log.info(`${STEP_MARK[step.status]} ${step.name} (${formatSeconds(step.durationMs)}): ${step.detail}`)
}

async function runDemo(
  trackingUri: string,
  version: string,
  http: MlflowHttp,
  config: SmokeConfig,
  deps: SmokeDeps
): Promise<string> {
  const { mlflow } = await ensureMlflowClient({
    version,
    env: deps.env,
    timeoutMs: config.timeoutMs,
    log: () => {}
  })
  const env: NodeJS.ProcessEnv = {
    ...deps.env,
    // Fail fast instead of retrying a broken server for minutes.
    MLFLOW_HTTP_REQUEST_MAX_RETRIES: '1',
    MLFLOW_HTTP_REQUEST_TIMEOUT: '60'
  }
  if (deps.credentials) {
    env.MLFLOW_TRACKING_USERNAME = deps.credentials.username
    env.MLFLOW_TRACKING_PASSWORD = deps.credentials.password
  }
  const r = await runProcess(mlflow, ['demo', '--tracking-uri', trackingUri, '--no-browser'], {
    env,
    timeoutMs: config.timeoutMs,
    onLine: (line) => deps.log.debug(`mlflow demo: ${line}`)
  })
  if (r.exitCode !== 0) {
    throw new Error(
      `mlflow demo exited with ${r.timedOut ? 'a timeout' : r.exitCode}:\n${tail(r.stderr || r.stdout)}`
    )
  }
  const exp = await http.request(
    'GET',
    `/api/2.0/mlflow/experiments/get-by-name?experiment_name=${encodeURIComponent(DEMO_EXPERIMENT)}`
  )
  if (exp.status !== 200)
    throw new Error(
      `mlflow demo succeeded but the '${DEMO_EXPERIMENT}' experiment is missing: ${answer(exp)}`
    )
  const experimentId = (JSON.parse(exp.text) as { experiment: { experiment_id: string } }).experiment
    .experiment_id
  return `'${DEMO_EXPERIMENT}' is experiment ${experimentId}`
}

/**
 * With credentials, an anonymous API call must be refused (401, or a redirect to a sign-in page);
 * without them the server must be open, or the rest of the test could not work anyway.
 */
async function checkAuthentication(http: MlflowHttp, expectAuth: boolean): Promise<string> {
  const r = await http.request('GET', '/api/2.0/mlflow/experiments/search?max_results=1', undefined, {
    anonymous: true
  })
  const refused = r.status === 401 || (r.status >= 300 && r.status < 400)
  if (expectAuth) {
    if (!refused) {
      throw new Error(
        `an anonymous API request returned ${answer(r)}: the server does not require authentication`
      )
    }
    return `anonymous API request refused (${r.status})`
  }
  if (refused) {
    throw new Error(
      `the server requires authentication (${r.status}): give the smoke test the admin-password`
    )
  }
  if (r.status !== 200) throw new Error(`an API request returned ${answer(r)}${diagnose(r)}`)
  return 'the server accepts anonymous requests (no authentication configured)'
}
