/**
 * The MLflow server container: how it starts, what it is told through env, and how its health is
 * probed. Secrets only ever arrive through `secretRef` env vars, never in the command line.
 */
import { imageNeedsBlobClientInstall, type MlflowVersion } from '../config/image.js'
import type { ContainerSpec, EnvVar, Probe, SecretSpec } from './specs.js'

export const MLFLOW_PORT = 5000
export const SECRET_BACKEND_STORE_URI = 'backend-store-uri'
export const SECRET_STORAGE_KEY = 'storage-access-key'

/** The release whose blob client the pre-3.11 images get at start-up (the version MLflow 3.11 ships). */
const BLOB_CLIENT_PIN = 'azure-storage-blob==12.31.1'

export interface MlflowContainerInput {
  image: string
  version: MlflowVersion
  fqdn: string
  storageAccount: string
  blobContainer: string
  cpu: number
  memory: string
}

export function backendStoreUri(opts: {
  login: string
  password: string
  host: string
  database: string
}): string {
  return (
    `postgresql://${encodeURIComponent(opts.login)}:${encodeURIComponent(opts.password)}` +
    `@${opts.host}:5432/${opts.database}?sslmode=require`
  )
}

/** Reads the password back out of a backend-store URI written by `backendStoreUri`. */
export function passwordFromBackendStoreUri(uri: string): string | undefined {
  try {
    const url = new URL(uri)
    return url.password === '' ? undefined : decodeURIComponent(url.password)
  } catch {
    return undefined
  }
}

function serverArgs(input: MlflowContainerInput): string[] {
  return [
    'server',
    '--host',
    '0.0.0.0',
    '--port',
    String(MLFLOW_PORT),
    '--artifacts-destination',
    `wasbs://${input.blobContainer}@${input.storageAccount}.blob.core.windows.net/`,
    // The security middleware stays on: only the app's own name may be used to reach it.
    '--allowed-hosts',
    `${input.fqdn},${input.fqdn}:*`,
    '--cors-allowed-origins',
    `https://${input.fqdn}`,
    '--workers',
    '2'
  ]
}

function probes(): Probe[] {
  const probe = (type: Probe['type'], periodSeconds: number, failureThreshold: number): Probe => ({
    type,
    path: '/health',
    port: MLFLOW_PORT,
    initialDelaySeconds: type === 'Startup' ? 5 : 0,
    periodSeconds,
    failureThreshold
  })
  // Start-up allows 5 minutes: a first start migrates an empty database and may pip install.
  return [probe('Startup', 5, 60), probe('Liveness', 30, 3), probe('Readiness', 10, 3)]
}

export function mlflowContainer(input: MlflowContainerInput): ContainerSpec {
  const env: EnvVar[] = [
    { name: 'MLFLOW_BACKEND_STORE_URI', secretRef: SECRET_BACKEND_STORE_URI },
    { name: 'AZURE_STORAGE_ACCESS_KEY', secretRef: SECRET_STORAGE_KEY },
    // The job runner starts several extra processes that a small container cannot hold.
    { name: 'MLFLOW_SERVER_ENABLE_JOB_EXECUTION', value: 'false' }
  ]
  const args = serverArgs(input)
  if (imageNeedsBlobClientInstall(input.version)) {
    const script = `pip install --no-cache-dir ${BLOB_CLIENT_PIN} && exec mlflow ${args.join(' ')}`
    return base(input, ['/bin/bash', '-c'], [script], env)
  }
  return base(input, ['mlflow'], args, env)
}

function base(input: MlflowContainerInput, command: string[], args: string[], env: EnvVar[]): ContainerSpec {
  return {
    name: 'mlflow',
    image: input.image,
    command,
    args,
    env,
    cpu: input.cpu,
    memory: input.memory,
    probes: probes()
  }
}

export function appSecrets(opts: { backendStoreUri: string; storageKey: string }): SecretSpec[] {
  return [
    { name: SECRET_BACKEND_STORE_URI, value: opts.backendStoreUri },
    { name: SECRET_STORAGE_KEY, value: opts.storageKey }
  ]
}
