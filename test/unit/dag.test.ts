import { describe, expect, it } from '@jest/globals'
import { DagError, runDag } from '../../src/engine/dag.js'

/** A controllable task: resolves when the test says so, and records the order things started in. */
function harness() {
  const started: string[] = []
  const pending = new Map<string, { resolve: () => void; reject: (e: Error) => void }>()
  const run = (key: string) =>
    new Promise<void>((resolve, reject) => {
      started.push(key)
      pending.set(key, { resolve, reject })
    })
  const settle = async () => {
    for (let i = 0; i < 5; i++) await Promise.resolve()
  }
  return { started, pending, run, settle }
}

describe('runDag', () => {
  it('starts independent nodes together and dependents only after their dependencies', async () => {
    const h = harness()
    const nodes = [
      { key: 'rg', dependsOn: [] },
      { key: 'vnet', dependsOn: ['rg'] },
      { key: 'logs', dependsOn: ['rg'] },
      { key: 'env', dependsOn: ['vnet', 'logs'] }
    ]
    const done = runDag(nodes, h.run, { concurrency: 4 })
    await h.settle()
    expect(h.started).toEqual(['rg'])
    h.pending.get('rg')!.resolve()
    await h.settle()
    expect(h.started).toEqual(['rg', 'vnet', 'logs'])
    h.pending.get('vnet')!.resolve()
    await h.settle()
    expect(h.started).not.toContain('env')
    h.pending.get('logs')!.resolve()
    await h.settle()
    expect(h.started).toContain('env')
    h.pending.get('env')!.resolve()
    const timeline = await done
    expect(timeline.map((t) => t.status)).toEqual(['done', 'done', 'done', 'done'])
  })

  it('never runs more than the concurrency bound', async () => {
    const h = harness()
    const nodes = ['a', 'b', 'c', 'd', 'e'].map((key) => ({ key, dependsOn: [] }))
    const done = runDag(nodes, h.run, { concurrency: 2 })
    await h.settle()
    expect(h.started).toHaveLength(2)
    for (const key of ['a', 'b', 'c', 'd', 'e']) {
      await h.settle()
      h.pending.get(key)?.resolve()
      await h.settle()
      const running = h.started.filter(
        (k) => !['a', 'b', 'c', 'd', 'e'].slice(0, ['a', 'b', 'c', 'd', 'e'].indexOf(key) + 1).includes(k)
      )
      expect(running.length).toBeLessThanOrEqual(2)
    }
    await done
    expect(h.started).toHaveLength(5)
  })

  it('after a failure starts nothing new, lets running work finish, and reports skipped nodes', async () => {
    const h = harness()
    const nodes = [
      { key: 'a', dependsOn: [] },
      { key: 'b', dependsOn: [] },
      { key: 'c', dependsOn: ['a'] }
    ]
    const done = runDag(nodes, h.run, { concurrency: 4 })
    await h.settle()
    h.pending.get('a')!.reject(new Error('boom'))
    await h.settle()
    expect(h.started).toEqual(['a', 'b'])
    h.pending.get('b')!.resolve()
    const error = await done.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(DagError)
    const dag = error as DagError<string>
    expect(dag.message).toBe('a: boom')
    expect(dag.timeline.find((t) => t.key === 'b')!.status).toBe('done')
    expect(dag.timeline.find((t) => t.key === 'c')!.status).toBe('skipped')
  })

  it('treats dependencies outside the graph as met', async () => {
    const timeline = await runDag([{ key: 'app', dependsOn: ['env'] }], async () => {}, { concurrency: 1 })
    expect(timeline).toHaveLength(1)
  })
})
