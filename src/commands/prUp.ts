/**
 * `pr-up`: the pull request's own MLflow on its base stack — planned and rolled out like a deploy
 * (its parts are a stack's own parts; the base's are read, never written), then smoke-tested, then
 * reported in the PR's sticky comment, also when it failed.
 */
import type { AzurePort } from '../azure/port.js'
import { ADMIN_USERNAME } from '../config/auth.js'
import type { DeployConfig, PrSettings } from '../config/inputs.js'
import { deploy, type DeployOptions, type DeployResult } from './deploy.js'
import type { Log } from './log.js'
import { postPrEnvironmentComment, type PostedComment, type Scrub } from './prComments.js'
import { smokeTest, type SmokeResult } from './smokeTest.js'

export interface PrUpResult {
  deploy?: DeployResult
  smoke?: SmokeResult
  comment?: PostedComment
  /** Why it failed (the deploy's error, or the smoke test's failing step). */
  failure?: unknown
}

export async function prUp(
  config: DeployConfig & { pr: PrSettings },
  port: AzurePort,
  log: Log,
  opts: DeployOptions & { env: NodeJS.ProcessEnv; scrub: Scrub }
): Promise<PrUpResult> {
  let result: DeployResult | undefined
  let failure: unknown
  try {
    result = await deploy(config, port, log, opts)
  } catch (error) {
    failure = error
  }
  let smoke: SmokeResult | undefined
  if (result?.trackingUri) {
    smoke = await smokeTest(
      {
        command: 'smoke-test',
        trackingUri: result.trackingUri,
        stackName: config.stackName,
        azure: config.azure,
        demo: config.pr.demo,
        timeoutMs: config.waitTimeoutMs
      },
      {
        log,
        env: opts.env,
        ...(config.auth.mode === 'basic' && config.auth.adminPassword
          ? { credentials: { username: ADMIN_USERNAME, password: config.auth.adminPassword } }
          : {})
      }
    )
    const failed = smoke.steps.find((s) => s.status === 'failed')
    if (smoke.unreachable && config.ingress === 'internal') {
      // An internal PR environment is not reachable from a runner outside its environment: as the
      // deploy's gate does, pr-up then leaves the check to Azure's probes and says so; it is not a
      // failed smoke test (nor a passed one: no smoke result is reported).
      log.warning(`pr-up did not smoke-test PR #${config.pr.number}: ${smoke.unreachable}`)
      smoke = undefined
    } else if (failed)
      failure = new Error(
        `Smoke test of PR #${config.pr.number} failed at step '${failed.name}': ${failed.detail}`
      )
  }
  const comment = await postPrEnvironmentComment(
    config,
    {
      prNumber: config.pr.number,
      state: failure ? 'failed' : 'ready',
      appName: config.names.containerApp,
      ...(result?.trackingUri ? { trackingUri: result.trackingUri } : {}),
      ...(result?.revision ? { revision: result.revision } : {}),
      ...(smoke ? { smoke: { passed: smoke.passed, steps: smoke.steps } } : {}),
      ...(result ? { expiresAt: config.pr.expiresAt } : {}),
      ...(failure ? { reason: failure instanceof Error ? failure.message : String(failure) } : {})
    },
    log,
    opts.scrub
  )
  return {
    ...(result ? { deploy: result } : {}),
    ...(smoke ? { smoke } : {}),
    ...(comment ? { comment } : {}),
    ...(failure ? { failure } : {})
  }
}
