/**
 * Rules on the containers of an app or job template that Container Apps enforces before it
 * accepts a write: probe ranges and the Consumption profile's CPU/memory combinations.
 */
import { badRequest } from '../errors.js'
import { asNumber, asString, objectsOf, type JsonObject } from '../json.js'

interface Range {
  field: string
  /** The service's spelling in its messages and codes. */
  shown: string
  min: number
  max: number
}

/**
 * Probe ranges. The service's own refusal (microsoft/azure-container-apps#1100, 400
 * `ContainerAppProbeFailureThresholdOutOfRange`) says FailureThreshold 1–30; newer reports allow
 * 48 (readiness) and 240 (startup) (hashicorp/terraform-provider-azurerm#31989): 30 for every type
 * is never more lenient than the service. `ContainerAppProbeInitialDelaySecondsOutOfRange` answers
 * ['0', '60'] on the service; the spec's `ContainerAppProbe` says 1–60, the stricter of the two,
 * used here. Period and timeout: the spec's 1–240; their codes follow the same pattern
 * [unverified: no refusal seen].
 */
const PROBE_RANGES: Range[] = [
  { field: 'failureThreshold', shown: 'FailureThreshold', min: 1, max: 30 },
  { field: 'initialDelaySeconds', shown: 'InitialDelaySeconds', min: 1, max: 60 },
  { field: 'periodSeconds', shown: 'PeriodSeconds', min: 1, max: 240 },
  { field: 'timeoutSeconds', shown: 'TimeoutSeconds', min: 1, max: 240 },
  { field: 'successThreshold', shown: 'SuccessThreshold', min: 1, max: 10 }
]

const PROBE_TYPES = ['liveness', 'readiness', 'startup']

function probeError(code: string, message: string): never {
  throw badRequest(code, message)
}

function validateProbes(container: JsonObject): void {
  const name = asString(container['name']) ?? ''
  const seen = new Set<string>()
  for (const probe of objectsOf(container['probes'])) {
    const type = asString(probe['type']) ?? 'Liveness'
    if (!PROBE_TYPES.includes(type.toLowerCase())) {
      probeError('ContainerAppProbeTypeInvalid', `Container '${name}' has a probe of unknown type '${type}'.`)
    }
    // Learn: "only one probe of each type per container".
    if (seen.has(type.toLowerCase())) {
      probeError(
        'ContainerAppDuplicateProbeType',
        `Container '${name}' has more than one '${type}' probe; only one probe of each type is allowed.`
      )
    }
    seen.add(type.toLowerCase())
    for (const r of PROBE_RANGES) {
      const raw = probe[r.field]
      if (raw === undefined || raw === null) continue
      const value = asNumber(raw)
      if (value === undefined || !Number.isInteger(value) || value < r.min || value > r.max) {
        probeError(
          `ContainerAppProbe${r.shown}OutOfRange`,
          `Container '${name}' '${type}' probe's ${r.shown} must be in the range of ['${r.min}', '${r.max}'].`
        )
      }
    }
    // Spec: "Must be 1 for liveness and startup."
    const success = asNumber(probe['successThreshold'])
    if (success !== undefined && success !== 1 && type.toLowerCase() !== 'readiness') {
      probeError(
        'ContainerAppProbeSuccessThresholdOutOfRange',
        `Container '${name}' '${type}' probe's SuccessThreshold must be 1 for liveness and startup probes.`
      )
    }
  }
}

/** Consumption: 0.25 vCPU steps up to 4, memory exactly twice the CPU in Gi (Container Apps docs). */
function validateResources(containers: JsonObject[]): void {
  let cpu = 0
  let memoryGi = 0
  for (const c of containers) {
    const resources = c['resources']
    if (resources === undefined) continue
    const r = resources as JsonObject
    cpu += Number(r['cpu'] ?? 0)
    const memory = asString(r['memory']) ?? '0Gi'
    const m = /^(\d+(?:\.\d+)?)(Gi|Mi)$/.exec(memory)
    memoryGi += m ? Number(m[1]) / (m[2] === 'Mi' ? 1024 : 1) : NaN
  }
  if (cpu === 0 && memoryGi === 0) return
  const valid =
    cpu >= 0.25 &&
    cpu <= 4 &&
    Math.abs(cpu * 4 - Math.round(cpu * 4)) < 1e-9 &&
    Math.abs(memoryGi - cpu * 2) < 1e-9
  if (!valid) {
    // Wording after the service's refusal of a bad combination [unverified wording].
    throw badRequest(
      'ContainerAppInvalidResourceTotal',
      `The total requested CPU and memory resources for this application (CPU: ${cpu}, memory: ${memoryGi}Gi) is invalid. Total CPU and memory for all containers defined in a Container App must add up to one of the following CPU - Memory combinations: [cpu: 0.25, memory: 0.5Gi]; [cpu: 0.5, memory: 1.0Gi]; … [cpu: 4.0, memory: 8.0Gi]`
    )
  }
}

/** `workloadProfileName`: the combinations are the Consumption profile's; dedicated ones differ. */
export function validateContainers(template: JsonObject, workloadProfileName?: string): void {
  const containers = objectsOf(template['containers'])
  for (const c of [...containers, ...objectsOf(template['initContainers'])]) validateProbes(c)
  if (workloadProfileName === undefined || workloadProfileName.toLowerCase() === 'consumption')
    validateResources(containers)
}
