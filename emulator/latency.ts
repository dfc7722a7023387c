/**
 * How long things take on real Azure (seconds, at --time-scale 1), scaled by the time scale. One
 * table so benchmarks and the action's progress output see plausible relative durations.
 */
export const REALISTIC_SECONDS = {
  providerRegister: 30,
  resourceGroupPut: 2,
  resourceGroupDelete: 60,
  virtualNetworkPut: 8,
  virtualNetworkDelete: 10,
  subnetPut: 8,
  subnetDelete: 10,
  privateDnsZonePut: 40,
  privateDnsZoneDelete: 40,
  privateDnsLinkPut: 40,
  privateDnsLinkDelete: 40,
  workspacePut: 15,
  workspaceDelete: 10,
  storageAccountCreate: 25,
  storageAccountSync: 2,
  blobContainer: 1,
  postgresServerPut: 420,
  postgresServerUpdate: 60,
  postgresServerDelete: 200,
  postgresDatabasePut: 20,
  postgresDatabaseDelete: 20,
  managedEnvironmentPut: 240,
  managedEnvironmentUpdate: 60,
  managedEnvironmentDelete: 180,
  containerAppPut: 45,
  containerAppPatch: 30,
  containerAppDelete: 30,
  /** What a stand-in revision takes to answer /health (a real MLflow server takes about this long). */
  revisionStartup: 20,
  /** The longest a revision may take to become healthy before it is declared failed. */
  revisionHealthDeadline: 600,
  /** Container Apps jobs (Microsoft.App/jobs) writes and actions. */
  jobPut: 20,
  jobPatch: 15,
  jobDelete: 20,
  jobStart: 3,
  jobStop: 5,
  /**
   * A crashed container is restarted after 10 s, doubling to at most 300 s (Kubernetes'
   * CrashLoopBackOff, which ACA replicas run under); the backoff resets after 600 s of running.
   * Job replicas that fail are re-run after the same backoff.
   */
  crashLoopBackoff: 10,
  crashLoopBackoffMax: 300,
  crashLoopStable: 600,
  /** The 429/503 Retry-After the throttling front door asks for. */
  throttleRetryAfter: 10
} as const

export type LatencyKey = keyof typeof REALISTIC_SECONDS

export class Latency {
  constructor(readonly timeScale: number) {}

  ms(key: LatencyKey): number {
    return Math.round(REALISTIC_SECONDS[key] * 1000 * this.timeScale)
  }

  /** How often the action should poll: ARM's usual 10 s hint, scaled, never below 50 ms. */
  pollIntervalSeconds(): number {
    return Math.max(0.05, 10 * this.timeScale)
  }
}
