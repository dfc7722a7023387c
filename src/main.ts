/**
 * The only module that talks to the Actions runner: it reads inputs, masks secrets, builds the
 * Azure port, runs the command and writes outputs and the job summary. Everything below it takes
 * plain typed values, so the same code runs from tests and local runs.
 */
import * as core from '@actions/core'
import { createAzurePort, describeAzureError } from './azure/index.js'
import { createCredential, staticTokenCredential } from './azure/credential.js'
import type { AzurePort } from './azure/port.js'
import { deploy, type DeployResult } from './commands/deploy.js'
import { DeployFailedError } from './commands/execute.js'
import { rollback } from './commands/rollback.js'
import { destroy } from './commands/destroy.js'
import type { Log } from './commands/log.js'
import { ADMIN_USERNAME, SECRET_INPUTS } from './config/auth.js'
import { parseInputs, trackingUriSecret, type Config, type Command } from './config/inputs.js'
import { smokeTestAzureMl } from './commands/smokeAzureMl.js'
import { smokeTest, type SmokeResult } from './commands/smokeTest.js'
import {
  deploySummary,
  destroySummary,
  failureSummary,
  gcSummary,
  prDownSummary,
  smokeSummary
} from './report/summary.js'
import { readPullRequestEvent } from './github/event.js'
import { prUp } from './commands/prUp.js'
import { prDown } from './commands/prDown.js'
import { gc } from './commands/gc.js'
import { postPlanComment, postPrEnvironmentComment } from './commands/prComments.js'

const OIDC_AUDIENCE = 'api://AzureADTokenExchange'

/** Every value masked so far: scrubbed from the summary too, whatever text reaches it. */
const maskedValues = new Set<string>()

export const actionsLog: Log = {
  info: (m) => core.info(m),
  warning: (m) => core.warning(m),
  debug: (m) => core.debug(m),
  mask: (secret) => {
    if (secret === '') return
    maskedValues.add(secret)
    core.setSecret(secret)
  },
  group: (title, lines) => {
    core.startGroup(title)
    for (const line of lines) core.info(line)
    core.endGroup()
  }
}

function connect(config: Config, env: NodeJS.ProcessEnv): AzurePort {
  const accessToken = env.AZURE_ACCESS_TOKEN || undefined
  if (accessToken) actionsLog.mask(accessToken)
  const credential = createCredential({
    clientId: config.azure.clientId,
    tenantId: config.azure.tenantId,
    getIdToken: () => core.getIDToken(OIDC_AUDIENCE),
    accessToken
  })
  // A static ARM token cannot sign blob requests; the local Azure hands out a storage one beside it.
  const storageToken = env.AZURE_STORAGE_ACCESS_TOKEN || undefined
  if (storageToken) actionsLog.mask(storageToken)
  return createAzurePort({
    storageCredential: storageToken ? staticTokenCredential(storageToken) : credential,
    endpoint: config.azure.endpoint,
    subscriptionId: config.azure.subscriptionId,
    credential,
    tokenScope: config.azure.tokenScope,
    pollIntervalMs: config.azure.pollIntervalMs,
    userAgentPrefix: 'mlflow-azure-action',
    retry: {
      deadlineMs: config.command === 'smoke-test' ? config.timeoutMs : config.waitTimeoutMs,
      onRetry: (info) =>
        actionsLog.info(
          `Retrying ${info.label} (attempt ${info.attempt + 1}) after: ${describeAzureError(info.error)}`
        )
    }
  })
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

/** The text with every value masked so far replaced: for summaries and PR comments. */
function scrub(markdown: string): string {
  let text = markdown
  for (const secret of [...maskedValues].sort((a, b) => b.length - a.length))
    text = text.split(secret).join('***')
  return text
}

async function writeSummary(markdown: string): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return
  await core.summary.addRaw(scrub(markdown)).write()
}

async function reportSmoke(result: SmokeResult): Promise<void> {
  core.setOutput('tracking-uri', result.trackingUri)
  core.setOutput('smoke-result', result.passed ? 'passed' : 'failed')
  await writeSummary(smokeSummary(result))
  const failed = result.steps.find((s) => s.status === 'failed')
  if (failed) core.setFailed(`Smoke test failed at step '${failed.name}': ${failed.detail}`)
}

export async function run(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  try {
    // Secret inputs are masked before anything, even an input error, could print them.
    for (const name of SECRET_INPUTS) actionsLog.mask(core.getInput(name))
    const uriSecret = trackingUriSecret(core.getInput('tracking-uri'))
    if (uriSecret) {
      actionsLog.mask(uriSecret)
      actionsLog.mask(safeDecode(uriSecret))
    }
    const event = readPullRequestEvent(env)
    const config = parseInputs((name) => core.getInput(name), env, event ? { event } : {})
    // Built on demand: a smoke test of a given URL needs no Azure sign-in at all.
    const azure = (): AzurePort => connect(config, env)
    const commands: Record<Command, () => Promise<void>> = {
      deploy: async () => deployOrPlan(config, azure()),
      plan: async () => deployOrPlan(config, azure()),
      rollback: async () => deployOrPlan(config, azure()),
      'rotate-keys': async () => deployOrPlan(config, azure()),
      'smoke-test': async () => {
        if (config.command !== 'smoke-test') return
        if (config.azureMl) {
          const result = await smokeTestAzureMl(config, { log: actionsLog, env, port: azure() })
          await reportSmoke(result)
          return
        }
        const port = config.trackingUri ? undefined : azure()
        const credentials =
          config.credentials ??
          (config.adminPassword ? { username: ADMIN_USERNAME, password: config.adminPassword } : undefined)
        await reportSmoke(await smokeTest(config, { log: actionsLog, env, port, credentials }))
      },
      destroy: async () => {
        if (config.command !== 'destroy') return
        const result = await destroy(config, azure(), actionsLog)
        core.setOutput('resource-group', result.resourceGroup)
        core.setOutput('app-name', result.appName)
        core.setOutput('changes', String(result.changes))
        await writeSummary(destroySummary(result))
      },
      'pr-up': async () => {
        if (config.command !== 'pr-up' || !config.pr) return
        const pr = { ...config, pr: config.pr }
        const result = await prUp(pr, azure(), actionsLog, {
          waitTimeoutMs: config.waitTimeoutMs,
          env,
          scrub
        })
        core.setOutput('app-name', config.names.containerApp)
        core.setOutput('resource-group', config.names.resourceGroup)
        if (result.comment) core.setOutput('comment-id', String(result.comment.id))
        if (result.deploy) await reportDeploy(result.deploy)
        if (result.smoke) {
          core.setOutput('smoke-result', result.smoke.passed ? 'passed' : 'failed')
          await writeSummary(smokeSummary(result.smoke))
        }
        if (result.failure) throw result.failure
      },
      'pr-down': async () => {
        if (config.command !== 'pr-down') return
        const result = await prDown(config, azure(), actionsLog)
        const comment = await postPrEnvironmentComment(
          config,
          {
            prNumber: config.pr.number,
            state: 'removed',
            appName: config.names.containerApp,
            removedAt: new Date().toISOString(),
            reason:
              config.github.event?.state === 'closed'
                ? `PR #${config.pr.number} was closed`
                : 'pr-down was run'
          },
          actionsLog,
          scrub
        )
        core.setOutput('app-name', result.appName)
        core.setOutput('resource-group', result.resourceGroup)
        core.setOutput('changes', String(result.changes))
        if (comment) core.setOutput('comment-id', String(comment.id))
        await writeSummary(prDownSummary(result))
      },
      gc: async () => {
        if (config.command !== 'gc') return
        const result = await gc(config, azure(), actionsLog)
        for (const removed of result.removed) {
          const decision = result.decisions.find((d) => d.number === removed.prNumber)
          await postPrEnvironmentComment(
            config,
            {
              prNumber: removed.prNumber,
              state: 'removed',
              appName: removed.appName,
              removedAt: new Date().toISOString(),
              reason: `removed by gc: ${decision?.reason ?? 'expired or closed'}`
            },
            actionsLog,
            scrub
          )
        }
        core.setOutput('resource-group', result.resourceGroup)
        core.setOutput('changes', String(result.changes))
        await writeSummary(gcSummary(result))
      }
    }
    await commands[config.command]()
  } catch (error) {
    // Azure's code leads the message (`InternalServerError: …`), so the cause is searchable.
    core.setFailed(describeAzureError(error))
  }
}

/** The outputs and the summary of a run that planned or rolled out a stack (or a PR's). */
async function reportDeploy(result: DeployResult): Promise<void> {
  core.setOutput('resource-group', result.resourceGroup)
  core.setOutput('app-name', result.appName)
  core.setOutput('changes', String(result.changes))
  if (result.trackingUri) core.setOutput('tracking-uri', result.trackingUri)
  if (result.revision) core.setOutput('revision', result.revision)
  if (result.previousRevision) core.setOutput('previous-revision', result.previousRevision)
  core.setOutput('migrated', String(result.migrated))
  if (result.storageKey) core.setOutput('active-key', result.storageKey.active)
  await writeSummary(deploySummary(result))
}

async function deployOrPlan(config: Config, port: AzurePort): Promise<void> {
  if (
    config.command !== 'deploy' &&
    config.command !== 'plan' &&
    config.command !== 'rollback' &&
    config.command !== 'rotate-keys'
  )
    return
  const opts = { waitTimeoutMs: config.waitTimeoutMs }
  let result
  try {
    result =
      config.command === 'rollback'
        ? await rollback(config, port, actionsLog, opts)
        : await deploy(config, port, actionsLog, opts)
  } catch (error) {
    // A failed rollout still says what it did: whether the database was migrated, and where to.
    if (error instanceof DeployFailedError) {
      core.setOutput('migrated', String(error.record.migrated))
      await writeSummary(failureSummary(config, error.record, error.message))
    }
    throw error
  }
  await reportDeploy(result)
  if (config.command === 'plan') {
    const comment = await postPlanComment(
      config,
      { markdown: deploySummary(result), changes: result.changes },
      actionsLog,
      scrub
    )
    if (comment) core.setOutput('comment-id', String(comment.id))
  }
}
