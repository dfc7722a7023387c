/**
 * Pure parts of the Azure Machine Learning smoke test: reading the checks' report lines, and naming
 * the likely cause of a failure from what the workspace answered.
 */
import { AZUREML_STEP_PREFIX } from './azureMlChecks.js'

export interface ReportedStep {
  step: string
  status: 'passed' | 'failed'
  ms: number
  detail: string
}

/** The steps the checks reported on stdout, in order; other output (the plugin's logs) is ignored. */
export function reportedSteps(stdout: string): ReportedStep[] {
  const out: ReportedStep[] = []
  for (const line of stdout.split('\n')) {
    if (!line.startsWith(AZUREML_STEP_PREFIX)) continue
    try {
      const r = JSON.parse(line.slice(AZUREML_STEP_PREFIX.length)) as Partial<ReportedStep>
      if (typeof r.step === 'string' && (r.status === 'passed' || r.status === 'failed')) {
        out.push({ step: r.step, status: r.status, ms: Number(r.ms) || 0, detail: String(r.detail ?? '') })
      }
    } catch {
      // A torn line is not a report.
    }
  }
  return out
}

/**
 * What most likely went wrong, from the text of a failure (an MLflow client error carries the HTTP
 * status and the body the workspace answered). Undefined when nothing points anywhere.
 */
export function azureMlCause(detail: string): string | undefined {
  const status = /\b(?:error code|HTTP|status(?: code)?)[: ]+(\d{3})\b/i.exec(detail)?.[1]
  if (/private ?link|public network access/i.test(detail)) {
    return (
      'the workspace is reachable only through its private endpoint (public network access disabled): ' +
      'run the smoke test from a runner inside the virtual network linked to it'
    )
  }
  if (status === '401' || /\b401\b|Unauthorized|UNAUTHENTICATED|InvalidAuthenticationToken/i.test(detail)) {
    return (
      'the workspace refused the sign-in token: check that client-id and tenant-id belong to the ' +
      "workspace's tenant and that the token has not expired"
    )
  }
  if (
    status === '403' ||
    /\b403\b|AuthorizationFailed|PERMISSION_DENIED|does not have authorization|Forbidden/i.test(detail)
  ) {
    return (
      'the signed-in identity lacks a role on the workspace: grant it AzureML Data Scientist (or a role ' +
      'with Microsoft.MachineLearningServices/workspaces/experiments/*) on the workspace'
    )
  }
  // Only a workspace that is not found: a missing run or experiment is no fault of the URI.
  if (
    (status === '404' || /\b404\b|RESOURCE_DOES_NOT_EXIST|NotFound/i.test(detail)) &&
    /workspace/i.test(detail)
  ) {
    return "the workspace in the tracking URI does not exist, or the URI's region is not the workspace's"
  }
  if (
    /Max retries exceeded|ConnectionError|NameResolution|Name or service not known|ENOTFOUND|timed? ?out|SSLError|ProxyError/i.test(
      detail
    )
  ) {
    return (
      "the workspace's endpoint cannot be reached from this runner: a private-link workspace reached " +
      'from outside its network, or a proxy or firewall in the way'
    )
  }
  return undefined
}

/** The detail of a failed step with its likely cause appended. */
export function withCause(detail: string): string {
  const cause = azureMlCause(detail)
  return cause ? `${detail} — likely cause: ${cause}` : detail
}
