/**
 * The lower bound of each benchmarked operation: the longest chain of Azure's own durations (the
 * local Azure's latency table, `emulator/latency.ts`) through the dependencies Azure imposes, and
 * the few the action's promises add (a schema migrated before a server uses it, a revision healthy
 * before it gets traffic). No tool can finish sooner than this on Azure; the benchmark divides the
 * measured wall time by it.
 *
 * The graphs are written out here, independent of the action's own step graph, so a needless
 * ordering in the action shows up as a ratio above 1 instead of being copied into the bound.
 */
import { REALISTIC_SECONDS as S } from '../emulator/latency.js'

export interface Task {
  /** Realistic seconds (time scale 1). */
  seconds: number
  dependsOn: string[]
  /** Where the dependency comes from, for the docs. */
  why?: string
}

export type TaskGraph = Record<string, Task>

export interface CriticalPath {
  seconds: number
  /** The tasks on the longest chain, first to last. */
  path: string[]
}

/** The longest path through a DAG of durations (each task starts when all it depends on ended). */
export function criticalPath(graph: TaskGraph): CriticalPath {
  const finish = new Map<string, { at: number; via?: string }>()
  const visit = (key: string, stack: string[]): number => {
    const known = finish.get(key)
    if (known) return known.at
    if (stack.includes(key)) throw new Error(`cycle through ${[...stack, key].join(' → ')}`)
    const task = graph[key]
    if (!task) throw new Error(`unknown task ${key} (needed by ${stack.at(-1)})`)
    let start = 0
    let via: string | undefined
    for (const dep of task.dependsOn) {
      const end = visit(dep, [...stack, key])
      if (end > start) [start, via] = [end, dep]
    }
    const at = start + task.seconds
    finish.set(key, { at, ...(via ? { via } : {}) })
    return at
  }
  let last = ''
  let seconds = 0
  for (const key of Object.keys(graph)) {
    const at = visit(key, [])
    if (at > seconds) [seconds, last] = [at, key]
  }
  const path: string[] = []
  for (let k: string | undefined = last; k; k = finish.get(k)?.via) path.unshift(k)
  return { seconds, path }
}

/** The sum of all durations: what a tool that does one thing at a time needs at the least. */
export function serialSeconds(graph: TaskGraph): number {
  return Object.values(graph).reduce((n, t) => n + t.seconds, 0)
}

/**
 * A cold deploy of the whole stack (access keys, basic auth), from an empty subscription to a
 * healthy first revision serving.
 */
export function coldDeploy(): TaskGraph {
  return {
    resourceGroup: { seconds: S.resourceGroupPut, dependsOn: [] },
    virtualNetwork: { seconds: S.virtualNetworkPut, dependsOn: ['resourceGroup'] },
    // One operation per VNet at a time (409 AnotherOperationInProgress, azure-arm-contract.md):
    // the subnets go one after the other, the database's first.
    dbSubnet: { seconds: S.subnetPut, dependsOn: ['virtualNetwork'], why: 'child of the VNet' },
    acaSubnet: {
      seconds: S.subnetPut,
      dependsOn: ['virtualNetwork', 'dbSubnet'],
      why: 'one operation per VNet at a time'
    },
    privateDnsZone: { seconds: S.privateDnsZonePut, dependsOn: ['resourceGroup'] },
    privateDnsLink: {
      seconds: S.privateDnsLinkPut,
      dependsOn: ['privateDnsZone', 'virtualNetwork'],
      why: 'links the zone to the VNet'
    },
    logAnalytics: { seconds: S.workspacePut, dependsOn: ['resourceGroup'] },
    storageAccount: { seconds: S.storageAccountCreate, dependsOn: ['resourceGroup'] },
    blobContainer: { seconds: S.blobContainer, dependsOn: ['storageAccount'] },
    postgresServer: {
      seconds: S.postgresServerPut,
      dependsOn: ['dbSubnet', 'privateDnsLink'],
      why: 'a VNet-integrated server needs its delegated subnet and a private DNS zone linked to the VNet (concepts-networking-private; hotosm/raw-data-api#83)'
    },
    postgresDatabase: { seconds: S.postgresDatabasePut, dependsOn: ['postgresServer'] },
    authDatabase: { seconds: S.postgresDatabasePut, dependsOn: ['postgresServer'] },
    managedEnvironment: {
      seconds: S.managedEnvironmentPut,
      dependsOn: ['acaSubnet', 'logAnalytics'],
      why: 'its infrastructure subnet and its Log Analytics workspace'
    },
    migrationJob: { seconds: S.jobPut, dependsOn: ['managedEnvironment'] },
    migrate: {
      seconds: S.jobStart,
      dependsOn: ['migrationJob', 'postgresDatabase', 'authDatabase'],
      why: 'the job runs in its environment against the databases'
    },
    containerApp: {
      seconds: S.containerAppPut,
      dependsOn: ['managedEnvironment', 'blobContainer', 'migrate'],
      why: 'the action’s promise: no server runs on a schema it has not migrated'
    },
    healthy: { seconds: S.revisionStartup, dependsOn: ['containerApp'], why: 'the revision starts' }
  }
}

/**
 * An image bump on a running stack: the job moves to the new image and migrates, then the new
 * revision is made at 0 %, becomes healthy, takes the traffic, and the old one is deactivated.
 */
export function imageBump(): TaskGraph {
  return {
    jobImage: { seconds: S.jobPatch, dependsOn: [] },
    migrate: { seconds: S.jobStart, dependsOn: ['jobImage'] },
    revision: {
      seconds: S.containerAppPatch,
      dependsOn: ['migrate'],
      why: 'the action’s promise: the new server starts on a migrated schema'
    },
    healthy: { seconds: S.revisionStartup, dependsOn: ['revision'] },
    traffic: {
      seconds: S.containerAppPatch,
      dependsOn: ['healthy'],
      why: 'the action’s promise: traffic moves only to a healthy revision'
    }
  }
}

/**
 * A key rotation: the key nothing uses is made new and waited for until the blob front ends accept
 * it, a revision that holds it is made, gated and given the traffic; then the key the old revision
 * held is made new as well (after its requests have drained).
 */
export function keyRotation(propagationSeconds: number): TaskGraph {
  return {
    regenerate: { seconds: S.storageAccountSync, dependsOn: [] },
    propagated: {
      seconds: propagationSeconds,
      dependsOn: ['regenerate'],
      why: 'a regenerated key is refused by the blob front ends for a while'
    },
    revision: { seconds: S.containerAppPatch, dependsOn: ['propagated'] },
    healthy: { seconds: S.revisionStartup, dependsOn: ['revision'] },
    traffic: { seconds: S.containerAppPatch, dependsOn: ['healthy'] },
    retire: { seconds: S.storageAccountSync, dependsOn: ['traffic'] }
  }
}

/** A PR environment on a running base: its container, databases and job, then its app. */
export function prEnvironment(): TaskGraph {
  return {
    blobContainer: { seconds: S.blobContainer, dependsOn: [] },
    postgresDatabase: { seconds: S.postgresDatabasePut, dependsOn: [] },
    authDatabase: { seconds: S.postgresDatabasePut, dependsOn: [] },
    migrationJob: { seconds: S.jobPut, dependsOn: [] },
    migrate: {
      seconds: S.jobStart,
      dependsOn: ['migrationJob', 'postgresDatabase', 'authDatabase'],
      why: 'the job makes the PR’s role, hands it its databases and migrates them'
    },
    containerApp: { seconds: S.containerAppPut, dependsOn: ['migrate', 'blobContainer'] },
    healthy: { seconds: S.revisionStartup, dependsOn: ['containerApp'] }
  }
}
