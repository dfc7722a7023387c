/**
 * What the deploying principal may not do (`--deny-actions`): ARM's authorization, checked by the
 * front door after the token and before anything else, as ARM checks it before a request reaches a
 * resource provider. The principal otherwise holds every action (Owner-like, `actions: ['*']`).
 *
 * Each request is mapped to the one ARM action it performs (the operation names of "Azure resource
 * provider operations"):
 * - PUT/PATCH → `<type>/write`, DELETE → `<type>/delete`, GET/HEAD → `<type>/read`, where `<type>` is
 *   the namespace of the path's last `providers/{ns}` (an extension resource such as a role
 *   assignment under an account is `Microsoft.Authorization/roleAssignments`) followed by the type
 *   segments below it (`Microsoft.Network/virtualNetworks/subnets`); a collection GET names its
 *   own type (`…/storageAccounts`); paths without a provider are `Microsoft.Resources/subscriptions/…`
 *   (`Microsoft.Resources/subscriptions/resourcegroups/write`, as ARM words it);
 * - POST `…/<name>` → `<type>/<name>/action` (`Microsoft.Storage/storageAccounts/listKeys/action`,
 *   `Microsoft.App/containerApps/revisions/deactivate/action`), and a provider's own action
 *   (`/subscriptions/{sub}/providers/Microsoft.App/register`) → `Microsoft.App/register/action`.
 *
 * The scope ARM names is the resource the action is on: the path for reads, writes and deletes,
 * the path without the action's segment for a POST, the subscription for a provider's register.
 *
 * Denied patterns may hold `*` anywhere, as a role definition's `actions`/`notActions` do
 * (`Microsoft.App/*`, `Microsoft.Network/*` + `/write`), and match case-insensitively.
 *
 * The answer is ARM's: 403 `AuthorizationFailed` "The client '<id>' with object id '<id>' does not
 * have authorization to perform action '<action>' over scope '<scope>' or the scope is invalid. If
 * access was recently granted, please refresh your credentials." (Azure/azure-cli#32165 and #30800
 * for a resource group write; hashicorp/terraform-provider-azurerm#4799 and #24804 for
 * `<ns>/register/action` over `/subscriptions/<id>`; pulumi/pulumi-azure#595 and
 * elastic/apm-agent-dotnet#1692 for a role assignment write, whose scope is the assignment's own
 * path). For a service principal ARM shows its object id in both places (elastic/apm-agent-dotnet
 * #1692, Azure/terraform-azurerm-avm-res-keyvault-vault#110), and so does this emulator.
 *
 * Linked access checks (e.g. `Microsoft.Network/virtualNetworks/subnets/join/action` when an
 * environment is put into a subnet: 403 `LinkedAuthorizationFailed`) are not emulated.
 */
import { ArmError } from './errors.js'
import type { JsonObject } from './json.js'

export interface ArmAction {
  /** e.g. `Microsoft.App/containerApps/write` */
  action: string
  /** The resource the action is on, as ARM quotes it. */
  scope: string
}

const VERBS: Record<string, string> = {
  GET: 'read',
  HEAD: 'read',
  PUT: 'write',
  PATCH: 'write',
  DELETE: 'delete'
}

/** The ARM action a request performs, or undefined for a path that is not an ARM resource path. */
export function actionOf(method: string, path: string): ArmAction | undefined {
  const parts = path.split('/').filter(Boolean)
  if (parts[0]?.toLowerCase() !== 'subscriptions' || parts.length < 2) return undefined
  const verb = method.toUpperCase()
  const lastProviders = parts.map((p) => p.toLowerCase()).lastIndexOf('providers')
  const post = verb === 'POST'
  if (!post && VERBS[verb] === undefined) return undefined
  const scopeOf = (n: number): string => `/${parts.slice(0, n).join('/')}`

  if (lastProviders < 0 || lastProviders + 1 >= parts.length) {
    // `/subscriptions/{sub}[/resourcegroups[/{rg}]]`, `/subscriptions/{sub}/operationresults/{id}`,
    // `/subscriptions/{sub}/providers` (the list of providers).
    const below = parts.slice(2)
    const types = below.filter((_, i) => i % 2 === 0).map((t) => t.toLowerCase())
    if (post) {
      const name = below.pop()
      const kept = below.filter((_, i) => i % 2 === 0).map((t) => t.toLowerCase())
      return {
        action: ['Microsoft.Resources/subscriptions', ...kept, name, 'action'].join('/'),
        scope: scopeOf(parts.length - 1)
      }
    }
    return {
      action: ['Microsoft.Resources/subscriptions', ...types, VERBS[verb]].join('/'),
      scope: scopeOf(parts.length)
    }
  }

  const namespace = parts[lastProviders + 1]!
  const rest = parts.slice(lastProviders + 2)
  if (post && rest.length % 2 === 1) {
    const name = rest[rest.length - 1]!
    const types = rest.slice(0, -1).filter((_, i) => i % 2 === 0)
    // A provider's own action (`register`) is on the subscription, as ARM says.
    const scope = types.length === 0 ? scopeOf(lastProviders) : scopeOf(parts.length - 1)
    return { action: [namespace, ...types, name, 'action'].join('/'), scope }
  }
  if (rest.length === 0) {
    // `GET /subscriptions/{sub}/providers/{ns}`: reading a provider's registration.
    return {
      action: `Microsoft.Resources/subscriptions/providers/${VERBS[verb] ?? 'action'}`,
      scope: scopeOf(parts.length)
    }
  }
  const types = rest.filter((_, i) => i % 2 === 0)
  return { action: [namespace, ...types, VERBS[verb] ?? 'action'].join('/'), scope: scopeOf(parts.length) }
}

/** A role definition's action pattern (`*` anywhere) against one action, case-insensitively. */
export function actionMatches(pattern: string, action: string): boolean {
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*')
  return new RegExp(`^${source}$`, 'i').test(action)
}

export class Authorization {
  constructor(
    private readonly denied: readonly string[],
    private readonly principal: () => { principalId: string }
  ) {}

  /** Throws ARM's 403 when the deploying principal lacks the request's action. */
  check(method: string, path: string): void {
    if (this.denied.length === 0) return
    const wanted = actionOf(method, path)
    if (!wanted) return
    if (!this.denied.some((pattern) => actionMatches(pattern, wanted.action))) return
    const id = this.principal().principalId
    throw new ArmError(
      403,
      'AuthorizationFailed',
      `The client '${id}' with object id '${id}' does not have authorization to perform action ` +
        `'${wanted.action}' over scope '${wanted.scope}' or the scope is invalid. ` +
        'If access was recently granted, please refresh your credentials.'
    )
  }
}

/**
 * `permissions.listForResourceGroup` (2022-04-01, `PermissionGetResult`): the deploying principal's
 * effective permissions, Owner's minus what is denied. Data actions the principal holds through
 * data roles are not listed (fewer than Azure would list: the strict side).
 */
export function deployerPermissions(denied: readonly string[]): JsonObject {
  return {
    value: [{ actions: ['*'], notActions: [...denied], dataActions: [], notDataActions: [] }]
  }
}
