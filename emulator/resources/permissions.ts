/**
 * `GET /subscriptions/{sub}/resourcegroups/{rg}/providers/Microsoft.Authorization/permissions`
 * (api-version 2022-04-01, `permissions.listForResourceGroup` of `@azure/arm-authorization`): what
 * the caller — the deploying principal, the only one ARM knows here — may do in the group. A
 * missing group is 404 `ResourceGroupNotFound` (the front door's check, as for every group route).
 * The answer is one page (`PermissionGetResult` without `nextLink`): `authorization.ts`.
 */
import { deployerPermissions } from '../authorization.js'
import type { EmulatorContext } from '../context.js'
import type { ArmResponse, Router } from '../router.js'

export function registerPermissions(ctx: EmulatorContext, router: Router): void {
  router.add(
    'GET',
    '/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}/providers/Microsoft.Authorization/permissions',
    (): ArmResponse => ({ status: 200, body: deployerPermissions(ctx.config.denyActions) })
  )
}
