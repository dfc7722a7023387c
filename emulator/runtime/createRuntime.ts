/** Picks the runtime named by `--runtime`. New runtimes plug in here with their own adapter. */
import type { Backends } from '../backends/index.js'
import type { RuntimeKind } from '../context.js'
import type { Latency } from '../latency.js'
import { defaultVenvRoot, MlflowAdapter } from './mlflowAdapter.js'
import { ProcessRuntime } from './processRuntime.js'
import { StandinAdapter } from './standinAdapter.js'
import type { PlatformReach, RevisionRuntime } from './types.js'

export function createRuntime(
  kind: RuntimeKind,
  latency: Latency,
  opts: {
    stateDir: string
    backends: Backends
    crashImages?: string[]
    reach: (environmentId?: string) => PlatformReach
  }
): RevisionRuntime {
  // Spawning a process takes real time whatever the scale: never give it less than 15 s.
  const healthDeadlineMs = Math.max(15_000, latency.ms('revisionHealthDeadline'))
  switch (kind) {
    case 'standin':
      return new ProcessRuntime(
        new StandinAdapter(latency.ms('revisionStartup'), opts.crashImages ?? [], opts.reach),
        healthDeadlineMs
      )
    case 'mlflow':
      // Real MLflow takes real time: its deadline comes from the container's startup probe.
      return new ProcessRuntime(
        new MlflowAdapter({
          stateDir: opts.stateDir,
          venvRoot: defaultVenvRoot(),
          postgres: opts.backends.postgres,
          reach: opts.reach
        }),
        300_000
      )
  }
}
