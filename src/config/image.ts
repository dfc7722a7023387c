/** MLflow image tags: `ghcr.io/mlflow/mlflow:v<major>.<minor>.<patch>-full`. */

export interface MlflowVersion {
  major: number
  minor: number
  patch: number
}

/** The `-full` image (with DB drivers) exists from 3.9.0 on. */
const FIRST_FULL_IMAGE: MlflowVersion = { major: 3, minor: 9, patch: 0 }

export function compareVersions(a: MlflowVersion, b: MlflowVersion): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch
}

export function formatVersion(v: MlflowVersion): string {
  return `${v.major}.${v.minor}.${v.patch}`
}

/** Returns the version, or the rule the tag breaks. */
export function parseImageTag(tag: string): MlflowVersion | string {
  const m = /^v(\d+)\.(\d+)\.(\d+)$/.exec(tag)
  if (!m) return "must be an MLflow release tag with its 'v' prefix, e.g. v3.18.0"
  const version = { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) }
  if (compareVersions(version, FIRST_FULL_IMAGE) < 0) {
    return `must be v${formatVersion(FIRST_FULL_IMAGE)} or later: older releases have no ghcr.io/mlflow/mlflow:<tag>-full image`
  }
  return version
}

/** Before 3.11 the `-full` image lacks azure-storage-blob, so the server cannot reach Blob Storage. */
export function imageNeedsBlobClientInstall(v: MlflowVersion): boolean {
  return compareVersions(v, { major: 3, minor: 11, patch: 0 }) < 0
}
