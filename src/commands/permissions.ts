/**
 * The permission check before a run's first write: the deploying identity's permissions in the
 * stack's resource group (read once per run), against what the run needs (`stack/permissions.ts`).
 * A missing action refuses the run with each action, its scope and what needs it. When the
 * permissions cannot be read (a 403: rare, any principal may normally read its own), the run goes
 * on with a warning, and Azure's own refusal names the action if one comes.
 */
import { authorizationFailure, describeAzureError, isNotFound, isRestError } from '../azure/errors.js'
import type { AzurePort, PermissionSet } from '../azure/port.js'
import { describeMissing, missingActions, type NeededAction } from '../stack/permissions.js'
import type { Log } from './log.js'

export class PermissionsMissingError extends Error {
  constructor(
    message: string,
    readonly missing: NeededAction[]
  ) {
    super(message)
    this.name = 'PermissionsMissingError'
  }
}

/**
 * The identity's permissions in `resourceGroup`; undefined when the group does not exist (nothing
 * can be read before it is created) or when Azure will not say (a warning then).
 */
export async function readPermissions(
  port: AzurePort,
  resourceGroup: string,
  log: Log
): Promise<PermissionSet[] | undefined> {
  try {
    return await port.listPermissions(resourceGroup)
  } catch (error) {
    if (isNotFound(error)) return undefined
    // The check only says early what Azure would refuse anyway: without it, the run goes on.
    if (authorizationFailure(error) || isRestError(error)) {
      log.warning(
        `Could not read the deploying identity's permissions in resource group ${resourceGroup} ` +
          `(${describeAzureError(error)}): going on without checking them first; a permission it lacks ` +
          'fails the run at the step that needs it.'
      )
      return undefined
    }
    throw error
  }
}

/** Refuses the run when the identity lacks any needed action. */
export function refuseMissing(
  lead: string,
  needed: readonly NeededAction[],
  permissions: readonly PermissionSet[] | undefined
): void {
  if (!permissions) return
  const missing = missingActions(needed, permissions)
  if (missing.length > 0) throw new PermissionsMissingError(describeMissing(lead, missing), missing)
}
