/**
 * The only module that talks to the Actions runner: it reads inputs, masks secrets, builds the
 * Azure port, runs the command and writes outputs and the job summary. Everything below it takes
 * plain typed values, so the same code runs from tests and local runs.
 */
import * as core from '@actions/core'
import { createAzurePort, describeAzureError } from './azure/index.js'
import { createCredential, staticTokenCredential } from './azure/credential.js'
import type { AzurePort } from './azure/port.js'
import { deploy } from './commands/deploy.js'
import { DeployFailedError } from './commands/execute.js'
import { rollback } from './commands/rollback.js'
import { destroy } from './commands/destroy.js'
import type { Log } from './commands/log.js'
import { ADMIN_USERNAME, SECRET_INPUTS } from './config/auth.js'
import { parseInputs, trackingUriSecret, type Config, type Command } from './config/inputs.js'
import { smokeTest } from './commands/smokeTest.js'
import { deploySummary, destroySummary, failureSummary, smokeSummary } from './report/summary.js'

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

async function writeSummary(markdown: string): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return
  let text = markdown
  for (const secret of [...maskedValues].sort((a, b) => b.length - a.length))
    text = text.split(secret).join('***')
  await core.summary.addRaw(text).write()
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
    const config = parseInputs((name) => core.getInput(name), env)
    // Built on demand: a smoke test of a given URL needs no Azure sign-in at all.
    const azure = (): AzurePort => connect(config, env)
    const commands: Record<Command, () => Promise<void>> = {
      deploy: async () => deployOrPlan(config, azure()),
      plan: async () => deployOrPlan(config, azure()),
      rollback: async () => deployOrPlan(config, azure()),
      'rotate-keys': async () => deployOrPlan(config, azure()),
      'smoke-test': async () => {
        if (config.command !== 'smoke-test') return
        const port = config.trackingUri ? undefined : azure()
        const credentials =
          config.credentials ??
          (config.adminPassword ? { username: ADMIN_USERNAME, password: config.adminPassword } : undefined)
        const result = await smokeTest(config, { log: actionsLog, env, port, credentials })
        core.setOutput('tracking-uri', result.trackingUri)
        core.setOutput('smoke-result', result.passed ? 'passed' : 'failed')
        await writeSummary(smokeSummary(result))
        const failed = result.steps.find((s) => s.status === 'failed')
        if (failed) core.setFailed(`Smoke test failed at step '${failed.name}': ${failed.detail}`)
      },
      destroy: async () => {
        if (config.command !== 'destroy') return
        const result = await destroy(config, azure(), actionsLog)
        core.setOutput('resource-group', result.resourceGroup)
        core.setOutput('app-name', result.appName)
        core.setOutput('changes', String(result.changes))
        await writeSummary(destroySummary(result))
      }
    }
    await commands[config.command]()
  } catch (error) {
    // Azure's code leads the message (`InternalServerError: …`), so the cause is searchable.
    core.setFailed(describeAzureError(error))
  }
}

async function deployOrPlan(config: Config, port: AzurePort): Promise<void> {
  if (config.command === 'destroy' || config.command === 'smoke-test') return
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
