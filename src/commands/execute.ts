/**
 * Runs planned steps as a dependency graph with bounded parallelism: each step starts once the
 * steps it needs are done, so the wall time approaches the critical path. One folded log group per
 * step with its duration; after a failure no new step starts, and the error says which steps
 * failed, why, and which were not attempted — a rerun plans again from Azure's state.
 */
import { describeAzureError } from '../azure/errors.js'
import { DagError, runDag, type TimelineEntry } from '../engine/dag.js'
import { formatChange } from '../report/changes.js'
import type { Step, StepKey } from '../stack/steps.js'
import { formatSeconds } from './log.js'
import { runStep, stepTitle, waitForDrain, type RolloutRecord, type StepContext } from './rollout.js'

const VERB: Record<string, string> = {
  create: 'created',
  update: 'updated',
  replace: 'replaced',
  noop: 'unchanged'
}

export async function executeSteps(
  steps: readonly Step[],
  ctx: Omit<StepContext, 'record'>
): Promise<{ timeline: TimelineEntry<StepKey>[]; record: RolloutRecord }> {
  const record: RolloutRecord = { migrated: false, details: {} }
  const context: StepContext = { ...ctx, record }
  const byKey = new Map(steps.map((s) => [s.key, s]))
  // A gate that fails takes its revision out of service when another revision serves.
  const hasFallback = steps.some((s) => s.kind === 'shiftTraffic')
  const run = async (key: StepKey): Promise<void> => {
    const step = byKey.get(key)!
    const lines: string[] = []
    if (step.kind === 'put') {
      for (const change of step.entry.changes) lines.push(`change: ${formatChange(change)}`)
      if (step.entry.note) lines.push(`note: ${step.entry.note}`)
    }
    ctx.beforeStep?.()
    const title = stepTitle(step)
    const t0 = Date.now()
    try {
      for (const revision of step.drain ?? []) lines.push(await waitForDrain(context, revision))
      lines.push(...(await runStep(context, step, hasFallback)))
      const verb = step.kind === 'put' ? VERB[step.entry.action] : 'done'
      ctx.log.group(`${title}: ${verb} in ${formatSeconds(Date.now() - t0)}`, lines)
    } catch (error) {
      lines.push(`error: ${describeAzureError(error)}`)
      ctx.log.group(`${title}: FAILED after ${formatSeconds(Date.now() - t0)}`, lines)
      throw error
    }
  }
  try {
    const timeline = await runDag(
      steps.map((s) => ({ key: s.key, dependsOn: s.dependsOn })),
      run,
      { concurrency: ctx.config.azure.parallelism }
    )
    return { timeline, record }
  } catch (error) {
    if (error instanceof DagError) {
      const failures = error.failures as { key: StepKey; error: unknown }[]
      const skipped = error.timeline.filter((t) => t.status === 'skipped').map((t) => t.key)
      const note =
        skipped.length > 0 ? `\nNot attempted (they depend on the failed ones): ${skipped.join(', ')}.` : ''
      const reasons = failures.map((f) => `${f.key}: ${describeAzureError(f.error)}`).join('\n')
      throw new DeployFailedError(
        `Deploy failed:\n${reasons}${note}\nA rerun continues from here.`,
        record,
        error
      )
    }
    throw error
  }
}

/** A failed run, with what it did before failing (for outputs and the summary). */
export class DeployFailedError extends Error {
  constructor(
    message: string,
    readonly record: RolloutRecord,
    cause: unknown
  ) {
    super(message, { cause })
    this.name = 'DeployFailedError'
  }
}
