/**
 * How an Azure Machine Learning workspace is named to the smoke test: by its name (with the stack's
 * `resource-group` and `subscription-id`), or by the `azureml://` tracking URI its clients use.
 */

/**
 * Workspace names: 3–33 characters, letters, digits, hyphens and underscores, starting with a
 * letter or digit (the `workspaceName` pattern of the 2024-10-01 spec's path parameter,
 * `^[a-zA-Z0-9][a-zA-Z0-9_-]{2,32}$`).
 */
const WORKSPACE_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_-]{2,32}$/
export const WORKSPACE_NAME_RULE =
  'must be an Azure Machine Learning workspace name: 3-33 letters, digits, hyphens and underscores, starting with a letter or digit'

export function isValidWorkspaceName(name: string): boolean {
  return WORKSPACE_NAME.test(name)
}

/** A workspace as the tracking URI names it. */
export interface AzureMlWorkspaceRef {
  subscriptionId: string
  resourceGroup: string
  name: string
}

/**
 * `azureml://<host>/mlflow/v1.0/subscriptions/<sub>/resourceGroups/<rg>/providers/
 * Microsoft.MachineLearningServices/workspaces/<name>` (MicrosoftDocs azure-ai-docs,
 * machine-learning-mlflow-configure-tracking.md). The host is `<region>.api.azureml.ms` for a public
 * workspace; a private-link workspace answers another one, so any host name is taken.
 */
const TRACKING_URI =
  /^azureml:\/\/([a-z0-9.-]+(?::\d{1,5})?)\/mlflow\/v1\.0\/subscriptions\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/resourceGroups\/([-\w._()]{1,90})\/providers\/Microsoft\.MachineLearningServices\/workspaces\/([^/?#]+)$/i
export const AZUREML_URI_RULE =
  'must be the workspace MLflow tracking URI, azureml://<region>.api.azureml.ms/mlflow/v1.0/subscriptions/<subscription>/resourceGroups/<group>/providers/Microsoft.MachineLearningServices/workspaces/<name> (the workspace properties.mlFlowTrackingUri)'

export function isAzureMlUri(text: string): boolean {
  return /^azureml:\/\//i.test(text.trim())
}

export function parseAzureMlUri(text: string): (AzureMlWorkspaceRef & { host: string }) | 'invalid' {
  const m = TRACKING_URI.exec(text.trim())
  if (!m) return 'invalid'
  const [, host, subscriptionId, resourceGroup, name] = m
  if (!isValidWorkspaceName(name!) || resourceGroup!.endsWith('.')) return 'invalid'
  return {
    host: host!.toLowerCase(),
    subscriptionId: subscriptionId!,
    resourceGroup: resourceGroup!,
    name: name!
  }
}
