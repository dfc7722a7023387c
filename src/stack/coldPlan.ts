/**
 * The steps of a first deploy of a stack that does not exist yet: its plan against an empty
 * subscription (the group as it is, if it exists), made with the same pure steps the real plan uses.
 * What such a deploy will need is known from it before anything is written.
 */
import type { Observed } from '../azure/port.js'
import type { DeployConfig } from '../config/inputs.js'
import { plan } from '../engine/plan.js'
import { desiredState, type DesiredResource } from './desired.js'
import { immutableChanges } from './replacements.js'
import { planApp, planSteps, type Step } from './steps.js'

export function coldDeploySteps(config: DeployConfig, group?: Observed<'resourceGroup'>): Step[] {
  const desired = desiredState(config, { postgresPasswordIsNew: true, postgresServerExists: false })
  if (config.resourceGroupGiven && group) desired[0]!.managed = false
  const entries = plan(desired, group ? { resourceGroup: group } : {}, immutableChanges)
  const app = planApp({
    desired: desired.find((d) => d.key === 'containerApp') as DesiredResource<'containerApp'>,
    observed: undefined,
    revisions: [],
    configChanges: [],
    version: config.image.version,
    run: config.run,
    allowDowngrade: config.allowDowngrade
  })
  return planSteps({ entries, desired, observedApp: undefined, app })
}
