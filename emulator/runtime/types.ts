/**
 * The port between the emulated Container Apps control plane and whatever actually runs a
 * revision's container. `--runtime standin` runs a tiny node server; `--runtime mlflow` runs a real
 * `mlflow server` behind the same interface.
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
  revisionName: string
  location: string
  container: RevisionContainer
  minReplicas: number
  maxReplicas: number
  /** Status changes of this start; never called after `stop` of the handle. */
  onStatus(status: RuntimeStatus): void
}

export interface RevisionHandle {
  readonly revisionName: string
}

export interface RevisionRuntime {
  start(input: RevisionInput): RevisionHandle
  stop(handle: RevisionHandle): Promise<void>
  /** Emulator shutdown: every process this runtime started goes away. */
  stopAll(): Promise<void>
}
