/**
 * Runs a dependency graph with bounded parallelism: a node starts as soon as everything it needs
 * has finished, so the wall time approaches the critical path. After a failure no new node starts;
 * the ones running finish, and the rest are reported as skipped, so a rerun picks up from there.
 */
export interface DagNode<K extends string> {
  key: K
  dependsOn: readonly K[]
}

export interface TimelineEntry<K extends string> {
  key: K
  status: 'done' | 'failed' | 'skipped'
  startMs: number
  endMs: number
  error?: unknown
}

export class DagError<K extends string> extends Error {
  constructor(
    readonly failures: { key: K; error: unknown }[],
    readonly timeline: TimelineEntry<K>[]
  ) {
    super(
      failures
        .map((f) => `${f.key}: ${f.error instanceof Error ? f.error.message : String(f.error)}`)
        .join('\n')
    )
    this.name = 'DagError'
  }
}

export async function runDag<K extends string>(
  nodes: readonly DagNode<K>[],
  run: (key: K) => Promise<void>,
  opts: { concurrency: number; now?: () => number }
): Promise<TimelineEntry<K>[]> {
  const now = opts.now ?? Date.now
  const keys = new Set(nodes.map((n) => n.key))
  // Dependencies outside the graph (e.g. resources that need no change) count as satisfied.
  const waitingOn = new Map(nodes.map((n) => [n.key, new Set(n.dependsOn.filter((d) => keys.has(d)))]))
  const timeline: TimelineEntry<K>[] = []
  const failures: { key: K; error: unknown }[] = []
  const running = new Set<Promise<void>>()
  const origin = now()

  const ready = (): K[] => [...waitingOn].filter(([, deps]) => deps.size === 0).map(([k]) => k)

  while (waitingOn.size > 0 || running.size > 0) {
    if (failures.length === 0) {
      for (const key of ready()) {
        if (running.size >= opts.concurrency) break
        waitingOn.delete(key)
        const startMs = now() - origin
        const task: Promise<void> = run(key).then(
          () => {
            timeline.push({ key, status: 'done', startMs, endMs: now() - origin })
            for (const deps of waitingOn.values()) deps.delete(key)
          },
          (error: unknown) => {
            timeline.push({ key, status: 'failed', startMs, endMs: now() - origin, error })
            failures.push({ key, error })
          }
        )
        const tracked = task.finally(() => running.delete(tracked))
        running.add(tracked)
      }
    }
    if (running.size === 0) break
    await Promise.race(running)
  }

  for (const key of waitingOn.keys()) {
    const t = now() - origin
    timeline.push({ key, status: 'skipped', startMs: t, endMs: t })
  }
  if (failures.length > 0) throw new DagError(failures, timeline)
  if (waitingOn.size > 0) throw new Error(`dependency cycle among: ${[...waitingOn.keys()].join(', ')}`)
  return timeline
}
