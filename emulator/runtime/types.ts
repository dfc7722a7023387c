/**
 * The port between the emulated Container Apps control plane and whatever actually runs a
 * container. A revision's container is a server (`start`: health-probed, `running` once it answers,
 * watched for exits); a job execution's container runs to completion (`run`: an exit code). Both
 * write their output, secrets masked, to the log file the control plane names (one per replica and
 * container: what the log stream serves). `--runtime standin` runs tiny node processes;
 * `--runtime mlflow` runs the real MLflow of the image's version behind the same interface.
 */

export interface ContainerEnvVar {
  name: string
  /** Plain value, or the app secret's value when the container referenced it by `secretRef`. */
  value: string
  /** True when the value came from a secret: it must never be logged. */
  secret?: boolean
}

export interface RevisionContainer {
  name: string
  image: string
  command: string[]
  args: string[]
  env: ContainerEnvVar[]
  /** Ingress target port, when the app has ingress. */
  targetPort?: number
  /** The container's health probes as written (times in seconds). */
  probes?: ContainerProbe[]
}

export interface ContainerProbe {
  type: string
  path?: string
  port?: number
  initialDelaySeconds?: number
  periodSeconds?: number
  failureThreshold?: number
}

export type RuntimeStatus =
  /** The process answers its health endpoint; `url` is where it listens locally. */
  | { kind: 'running'; url: string }
  /** It never became healthy: image pull failure, crash during start-up, health deadline. */
  | { kind: 'failed'; reason: string }
  /** It was running and then stopped on its own. */
  | { kind: 'exited'; reason: string }

export interface RevisionInput {
  appName: string
  /** The app's managed environment: its replicas reach the platform from inside it (`reachEnv`). */
  environmentId?: string
  revisionName: string
  /** The replica this process is (names its working directory). */
  replicaName?: string
  location: string
  container: RevisionContainer
  minReplicas: number
  maxReplicas: number
  /** Where the container's output goes, one `<ISO time> <text>` line per line, secrets masked. */
  logPath?: string
  /** Status changes of this start; never called after `stop` of the handle. */
  onStatus(status: RuntimeStatus): void
}

export interface RevisionHandle {
  readonly revisionName: string
}

/** A container that runs to completion: one container of a job execution's replica. */
export interface RunInput {
  jobName: string
  /** The job's managed environment (as `RevisionInput.environmentId`). */
  environmentId?: string
  executionName: string
  replicaName: string
  location: string
  container: RevisionContainer
  logPath: string
  /** The process was spawned (its image was "pulled"). */
  onStart(): void
  /** How it ended; never called after `stop` of the handle. */
  onExit(result: RunResult): void
}

export type RunResult =
  /** It ran and exited: `code` is null when a signal ended it. */
  | { kind: 'exited'; code: number | null; signal?: string; lastLine: string }
  /** It never ran: the image could not be pulled, or the process could not be spawned. */
  | { kind: 'failed'; reason: string }

export interface RunHandle {
  readonly replicaName: string
}

export interface RevisionRuntime {
  start(input: RevisionInput): RevisionHandle
  /** Runs one container to completion (a job replica's container). */
  run(input: RunInput): RunHandle
  stop(handle: RevisionHandle | RunHandle): Promise<void>
  /** Emulator shutdown: every process this runtime started goes away. */
  stopAll(): Promise<void>
}

/**
 * How a container reaches the platform's endpoints the way it would on Azure: an account's
 * `https://<account>.blob.core.windows.net` through the emulator's CONNECT proxy (what DNS does on
 * Azure), trusting the emulator's CA (Node: `caCert` as NODE_EXTRA_CA_CERTS; Python: `caBundle`,
 * the machine's CAs plus the emulator's). The proxy URL of a replica carries its environment's
 * credentials (`networkRules.ts`): its requests come from inside that environment, so it reaches
 * the environment's internal apps and is judged by its subnet address by IP restrictions.
 */
export interface PlatformReach {
  proxy: string
  caBundle: string
  caCert: string
}

/** The env a container's process gets so that platform hosts resolve and verify. */
export function reachEnv(reach: PlatformReach): Record<string, string> {
  const noProxy = '127.0.0.1,localhost'
  return {
    HTTPS_PROXY: reach.proxy,
    https_proxy: reach.proxy,
    NO_PROXY: noProxy,
    no_proxy: noProxy,
    NODE_EXTRA_CA_CERTS: reach.caCert,
    REQUESTS_CA_BUNDLE: reach.caBundle,
    SSL_CERT_FILE: reach.caBundle
  }
}
