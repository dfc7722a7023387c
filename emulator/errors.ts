/**
 * ARM error bodies (`{"error":{"code","message"}}`) with the codes and wording the real services
 * use, so the action's error handling is exercised against what Azure actually says.
 */
import { resourcePath } from './ids.js'

export class ArmError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {}
  ) {
    super(message)
  }

  body(): { error: { code: string; message: string } } {
    return { error: { code: this.code, message: this.message } }
  }
}

export const badRequest = (code: string, message: string): ArmError => new ArmError(400, code, message)
export const conflict = (code: string, message: string): ArmError => new ArmError(409, code, message)

export function resourceGroupNotFound(resourceGroup: string): ArmError {
  return new ArmError(404, 'ResourceGroupNotFound', `Resource group '${resourceGroup}' could not be found.`)
}

export function resourceNotFound(id: string, resourceGroup: string): ArmError {
  return new ArmError(
    404,
    'ResourceNotFound',
    `The Resource '${resourcePath(id)}' under resource group '${resourceGroup}' was not found. ` +
      'For more details please go to https://aka.ms/ARMResourceNotFoundFix'
  )
}

export function parentResourceNotFound(parentId: string): ArmError {
  return new ArmError(
    404,
    'ParentResourceNotFound',
    `Can not perform requested operation on nested resource. Parent resource '${resourcePath(parentId)}' not found.`
  )
}

export function locationRequired(): ArmError {
  return badRequest('LocationRequired', 'The location property is required for this definition.')
}

export function invalidRequestContent(detail: string): ArmError {
  return badRequest(
    'InvalidRequestContent',
    `The request content was invalid and could not be deserialized: ${detail}`
  )
}

/**
 * The service's own "busy" answer for a resource type: what both a real lock conflict and an
 * injected 409 look like. `path` is any request path or id naming the resource.
 */
export function operationInProgress(
  path: string,
  origin = 'https://management.azure.com',
  operationId = '00000000-0000-0000-0000-000000000000'
): ArmError {
  const lower = path.toLowerCase()
  const name = decodeURIComponent(path.split('/').filter(Boolean).pop() ?? '')
  if (lower.includes('/microsoft.app/jobs/')) {
    // hashicorp/terraform-provider-azurerm#31796 (a job PUT while its create ran).
    const job = /\/jobs\/([^/]+)/i.exec(path)?.[1] ?? name
    return conflict(
      'ContainerAppsJobOperationInProgress',
      `Cannot modify a container apps job '${job}' because there is an active provisioning operation in progress. OperationId: '${operationId}'.`
    )
  }
  if (lower.includes('/microsoft.app/containerapps/')) {
    const app = /\/containerapps\/([^/]+)/i.exec(path)?.[1] ?? name
    return conflict(
      'ContainerAppLockConflict',
      `Cannot modify container App '${app}' because another modification is in progress. Please retry the operation.`
    )
  }
  if (lower.includes('/microsoft.app/managedenvironments/')) {
    const env = /\/managedenvironments\/([^/]+)/i.exec(path)?.[1] ?? name
    return conflict(
      'ManagedEnvironmentOperationInProgress',
      `Cannot modify Container Apps environment ${env} because another operation is in progress.`
    )
  }
  if (lower.includes('/microsoft.dbforpostgresql/flexibleservers/')) {
    // Azure/azure-postgresql#134 (api 2025-08-01); 409 as for every "busy" conflict [status unverified].
    const server = /\/flexibleservers\/([^/]+)/i.exec(path)?.[1] ?? name
    return conflict(
      'ServerIsBusy',
      `Cannot complete operation while server '${server}' is busy processing another operation. Try again later.`
    )
  }
  if (lower.includes('/microsoft.network/')) {
    const sub = /\/subscriptions\/([^/]+)/i.exec(path)?.[1] ?? '00000000-0000-0000-0000-000000000000'
    return conflict(
      'AnotherOperationInProgress',
      'Another operation on this or dependent resource is in progress. To retrieve status of the operation use uri: ' +
        `${origin}/subscriptions/${sub}/providers/Microsoft.Network/locations/global/operations/00000000-0000-0000-0000-000000000000?api-version=2026-01-01.`
    )
  }
  return conflict(
    'OperationInProgress',
    `An operation is currently in progress on resource '${name}'. Please retry the operation later.`
  )
}

/**
 * A resource keeps the region it was created in. ARM's words (azure-service-operator#784,
 * azure-docs#70422); the status is not shown in those captures, 409 is what ARM uses for conflicts
 * with existing state [unverified].
 */
export function invalidResourceLocation(
  name: string,
  existing: string,
  resourceGroup: string,
  requested: string
): ArmError {
  return conflict(
    'InvalidResourceLocation',
    `The resource '${name}' already exists in location '${existing}' in resource group '${resourceGroup}'. A resource with the same name cannot be created in location '${requested}'. Please select a new resource name.`
  )
}
