/**
 * The real services behind some ARM resources when `--runtime mlflow` runs: PostgreSQL clusters
 * for flexible servers and Azurite for storage accounts. With the stand-in runtime there are none,
 * and the resource modules only keep ARM state.
 */
import type { BlobBackend } from './blob.js'
import type { PostgresBackend } from './postgres.js'

export interface Backends {
  postgres?: PostgresBackend
  blob?: BlobBackend
}
