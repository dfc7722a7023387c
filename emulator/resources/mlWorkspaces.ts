/**
 * Azure Machine Learning workspaces (`Microsoft.MachineLearningServices/workspaces`, api 2024-10-01
 * and whatever other api-version a client sends, as for the other kinds). Not to be confused with
 * Log Analytics workspaces (`workspaces.ts`). The action only reads them (`@azure/arm-resources`
 * `resources.get(rg, 'Microsoft.MachineLearningServices', '', 'workspaces', name, '2024-10-01')`);
 * tests create them. The MLflow endpoint each workspace has is `amlEndpoint.ts`.
 *
 * Rules (spec `specification/machinelearningservices/resource-manager/Microsoft.MachineLearningServices/
 * stable/2024-10-01/workspaceRP.json`, "the spec" below, and its examples Workspace/create.json,
 * Workspace/get.json):
 * - name: `WorkspaceNameParameter` pattern `^[a-zA-Z0-9][a-zA-Z0-9_-]{2,32}$` (3–33 chars); the code
 *   of the refusal is not documented: 400 `InvalidResourceName` [unverified code];
 * - location: a known region (`regions.ts`), answered as the name (get.json: `eastus2euap`);
 * - `properties.storageAccount`: the spec makes no property required, but a workspace stores its run
 *   artifacts there (and the service creates one when the portal is used): required here, and it
 *   must be the id of a storage account of this emulator (stricter) [unverified code
 *   `ValidationError`]; "cannot be changed once the workspace has been created" (the spec's
 *   description), likewise `keyVault`;
 * - `properties.keyVault`: required [unverified: the spec marks nothing required; Microsoft Learn
 *   "Azure Machine Learning workspace" lists Key Vault among the associated resources a workspace
 *   needs — stricter], a `Microsoft.KeyVault/vaults` id; `applicationInsights` (optional, spec)
 *   a `Microsoft.Insights/components` id; `containerRegistry` (optional, nullable, spec) a
 *   `Microsoft.ContainerRegistry/registries` id. The emulator has none of those kinds, so only the
 *   id's form is checked, not that the resource exists;
 * - `properties.publicNetworkAccess`: `Enabled` (default) | `Disabled` (the spec's enum);
 * - create: 202 + `Location` (the spec's PUT answers 200 | 202 with Location; create.json), the
 *   workspace `Creating` until the operation ends (90 s realistic [unverified duration], scaled),
 *   then `Succeeded`; an update of an existing workspace answers 200 at once. DELETE 202 + Location,
 *   204 for a workspace that does not exist (the spec's "does not exist in the subscription").
 * - read-only: `workspaceId` (a GUID fixed at creation), `discoveryUrl`
 *   `https://<location>.api.azureml.ms/discovery` and `mlFlowTrackingUri`
 *   `azureml://<location>.api.azureml.ms/mlflow/v1.0/subscriptions/…/workspaces/<name>`
 *   (next-capabilities §8: a real trace, api 2021-10-01; MicrosoftDocs
 *   machine-learning-mlflow-configure-tracking.md), `tenantId`, `storageHnsEnabled`,
 *   `privateLinkCount`, `privateEndpointConnections`, `provisioningState` (the spec's read-only
 *   WorkspaceProperties).
 */
import type { EmulatorContext } from '../context.js'
import { ArmError, badRequest } from '../errors.js'
import { idKey, parseResourceId, providerResourceId } from '../ids.js'
import { asString, objectAt, stringAt, type JsonObject } from '../json.js'
import { randomGuid, tenantOf } from '../random.js'
import { param, type ArmResponse, type Router } from '../router.js'
import type { ResourceRecord } from '../store.js'
import {
  assertIdle,
  identityView,
  newRecord,
  propertiesOf,
  requireBody,
  resolveLocation,
  startLro,
  subscriptionOf,
  tagsOf,
  routedResourceId,
  addStoredReads
} from './common.js'
import { STORAGE_TYPE } from './storageAccounts.js'

export const ML_WORKSPACE_TYPE = 'Microsoft.MachineLearningServices/workspaces'
export const ML_NS = 'Microsoft.MachineLearningServices'
const BASE =
  '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.MachineLearningServices/workspaces'
/** workspaceRP.json 2024-10-01, `WorkspaceNameParameter.pattern`. */
const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_-]{2,32}$/
/** A workspace create on Azure takes a minute or two [unverified figure]; scaled by --time-scale. */
const CREATE_SECONDS = 90
const DELETE_SECONDS = 30
/** The operation segment of the Location URL [unverified: not in the examples ("example_location")]. */
const OPERATION_SEGMENT = 'workspaceOperationsStatus'

/** The data-plane host of a region: `<region>.api.azureml.ms` (next-capabilities §8). */
export const amlHost = (location: string): string => `${location}.api.azureml.ms`

export function trackingUri(record: ResourceRecord): string {
  const p = parseResourceId(record.id)
  const location = asString(record.body['location']) ?? ''
  return (
    `azureml://${amlHost(location)}/mlflow/v1.0/subscriptions/${p?.subscriptionId ?? ''}` +
    `/resourceGroups/${p?.resourceGroup ?? ''}/providers/${ML_NS}/workspaces/${asString(record.body['name']) ?? ''}`
  )
}

/** The workspace record of sub/rg/name (case-insensitive), if any. */
export function mlWorkspaceOf(
  ctx: EmulatorContext,
  subscriptionId: string,
  resourceGroup: string,
  name: string
): ResourceRecord | undefined {
  return ctx.store.get(providerResourceId(subscriptionId, resourceGroup, ML_NS, ['workspaces', name]))
}

function validation(message: string): ArmError {
  return badRequest('ValidationError', message)
}

/** An ARM id of `type` (namespace/type, case-insensitive), or a 400 naming the property. */
function armIdOf(value: unknown, property: string, type: string): string {
  const id = asString(value)
  const parsed = id ? parseResourceId(id) : undefined
  const actual = parsed ? `${parsed.namespace}/${parsed.segments.map((s) => s.type).join('/')}` : ''
  if (!id || !parsed || parsed.segments.length !== 1 || actual.toLowerCase() !== type.toLowerCase()) {
    throw validation(
      `The value '${String(value)}' of property '${property}' is not a valid ARM resource id of type '${type}'.`
    )
  }
  return id
}

export function registerMlWorkspaces(ctx: EmulatorContext, router: Router): void {
  const wsId = routedResourceId(ctx, ML_NS, 'workspaces', 'workspace')

  router.add(
    'PUT',
    `${BASE}/{workspace}`,
    (req): ArmResponse => {
      const name = param(req, 'workspace')
      if (!NAME.test(name)) {
        throw badRequest(
          'InvalidResourceName',
          `Workspace name '${name}' is invalid. It must match '^[a-zA-Z0-9][a-zA-Z0-9_-]{2,32}$': 3 to 33 characters, letters, digits, '_' and '-', starting with a letter or digit.`
        )
      }
      const body = requireBody(req)
      const id = wsId(req)
      const existing = ctx.store.get(id)
      const location = resolveLocation(body, ML_WORKSPACE_TYPE, existing)
      assertIdle(ctx, req, id)
      const props = propertiesOf(body)
      const before = objectAt(existing?.body, 'properties')

      if (props['storageAccount'] === undefined || props['storageAccount'] === null)
        throw validation(
          "The property 'storageAccount' is required: the workspace stores its artifacts there."
        )
      const storageAccount = armIdOf(props['storageAccount'], 'storageAccount', STORAGE_TYPE)
      const account = ctx.store.get(storageAccount)
      if (!account || account.type !== STORAGE_TYPE)
        throw validation(
          `The storage account '${storageAccount}' of property 'storageAccount' was not found.`
        )
      if (props['keyVault'] === undefined || props['keyVault'] === null)
        throw validation("The property 'keyVault' is required.")
      const keyVault = armIdOf(props['keyVault'], 'keyVault', 'Microsoft.KeyVault/vaults')
      if (props['applicationInsights'] !== undefined && props['applicationInsights'] !== null)
        armIdOf(props['applicationInsights'], 'applicationInsights', 'Microsoft.Insights/components')
      if (props['containerRegistry'] !== undefined && props['containerRegistry'] !== null)
        armIdOf(props['containerRegistry'], 'containerRegistry', 'Microsoft.ContainerRegistry/registries')
      // workspaceRP.json: storageAccount and keyVault "cannot be changed once the workspace has been created".
      for (const [key, value] of [
        ['storageAccount', storageAccount],
        ['keyVault', keyVault]
      ] as const) {
        const was = asString(before?.[key])
        if (was && idKey(was) !== idKey(value))
          throw validation(`The property '${key}' cannot be changed once the workspace has been created.`)
      }
      const access = props['publicNetworkAccess'] ?? 'Enabled'
      if (access !== 'Enabled' && access !== 'Disabled') {
        throw validation(
          `The value '${String(access)}' of property 'publicNetworkAccess' is not valid; allowed: 'Enabled', 'Disabled'.`
        )
      }

      const sub = subscriptionOf(req)
      const view: JsonObject = {
        id,
        name: existing ? (asString(existing.body['name']) ?? name) : name,
        type: ML_WORKSPACE_TYPE,
        location,
        tags: tagsOf(body),
        ...(body['identity'] !== undefined
          ? { identity: identityView(body['identity'], existing?.body['identity'], sub) ?? {} }
          : {}),
        ...(body['sku'] !== undefined ? { sku: body['sku'] } : {}),
        ...(body['kind'] !== undefined ? { kind: body['kind'] } : {}),
        properties: {
          hbiWorkspace: false,
          allowPublicAccessWhenBehindVnet: false,
          v1LegacyMode: false,
          ...props,
          storageAccount,
          keyVault,
          publicNetworkAccess: access,
          workspaceId: stringAt(before, 'workspaceId') ?? randomGuid(),
          tenantId: tenantOf(sub),
          discoveryUrl: `https://${amlHost(location)}/discovery`,
          storageHnsEnabled: false,
          privateLinkCount: 0,
          privateEndpointConnections: [],
          provisioningState: existing ? (stringAt(before, 'provisioningState') ?? 'Succeeded') : 'Creating'
        }
      }
      const record = existing ?? ctx.store.put(newRecord(id, ML_WORKSPACE_TYPE, view))
      record.body = view
      ;(view['properties'] as JsonObject)['mlFlowTrackingUri'] = trackingUri(record)
      if (existing) return { status: 200, body: view }
      const { headers } = startLro(ctx, req, {
        namespace: ML_NS,
        location,
        statusSegment: OPERATION_SEGMENT,
        resultSegment: OPERATION_SEGMENT,
        shape: 'location',
        kind: 'mlWorkspaces.put',
        resourceId: id,
        durationMs: CREATE_SECONDS * 1000 * ctx.latency.timeScale,
        result: 'resource'
      })
      return { status: 202, headers }
    },
    { namespace: ML_NS }
  )

  addStoredReads(ctx, router, { base: BASE, nameParam: 'workspace', idOf: wsId, type: ML_WORKSPACE_TYPE })

  router.add('DELETE', `${BASE}/{workspace}`, (req): ArmResponse => {
    const record = ctx.store.get(wsId(req))
    if (!record) return { status: 204 }
    assertIdle(ctx, req, record.id)
    const props = objectAt(record.body, 'properties')
    if (props) props['provisioningState'] = 'Deleting'
    const { headers } = startLro(ctx, req, {
      namespace: ML_NS,
      location: asString(record.body['location']) ?? 'global',
      statusSegment: OPERATION_SEGMENT,
      resultSegment: OPERATION_SEGMENT,
      shape: 'location',
      kind: 'mlWorkspaces.delete',
      resourceId: record.id,
      durationMs: DELETE_SECONDS * 1000 * ctx.latency.timeScale,
      result: 'noContent'
    })
    return { status: 202, headers }
  })

  ctx.lro.onComplete('mlWorkspaces.put', (op) => {
    const props = objectAt(ctx.store.get(op.resourceId)?.body, 'properties')
    if (props) props['provisioningState'] = op.status === 'Succeeded' ? 'Succeeded' : 'Failed'
  })
  ctx.lro.onComplete('mlWorkspaces.delete', (op) => {
    const record = ctx.store.get(op.resourceId)
    if (!record) return
    if (op.status === 'Succeeded') ctx.store.removeTree(record.id)
    else {
      const props = objectAt(record.body, 'properties')
      if (props) props['provisioningState'] = 'Failed'
    }
  })
}
