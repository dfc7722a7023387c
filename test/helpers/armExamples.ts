/**
 * Replays Microsoft's own REST examples (Azure/azure-rest-api-specs, saved verbatim under
 * `test/fixtures/arm-examples/`) against the local ARM emulator over raw HTTPS, and compares the
 * emulator's answers with the examples' response shapes.
 */
import { readFileSync } from 'node:fs'
import { request } from 'node:https'
import { join } from 'node:path'
import { ROOT } from './root.js'

export const FIXTURES = join(ROOT, 'test', 'fixtures', 'arm-examples')

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
export type JsonObject = { [key: string]: Json }

export interface ManifestEntry {
  group: string
  operationId: string
  apiVersion: string
  method: 'GET' | 'PUT' | 'PATCH' | 'POST' | 'DELETE'
  /** The operation's path in the spec, `{name}` for each path parameter. */
  pathTemplate: string
  /** The example parameter that holds the request body, or null when the operation has none. */
  bodyParameter: string | null
  /** Query parameters of the operation (besides api-version) sent when the example gives them. */
  queryParameters: string[]
  /** Path in Azure/azure-rest-api-specs (and under FIXTURES), or null when no example is stored. */
  file: string | null
  commit: string | null
  note?: string
  /** Why the entry is replayed later (shown as a skipped test). */
  pending?: string
  /** Every change made to the example's request, exactly as `prepareRequest` words it. */
  adaptations?: string[]
  /** Paths of the example's success body that only operations the emulator does not model create. */
  unmodeled?: Unmodeled[]
}

export interface Unmodeled {
  /** Dotted path into the success body; `key[]` stands for every element of that array. */
  path: string
  reason: string
}

export interface Manifest {
  source: string
  description: string
  entries: ManifestEntry[]
}

export interface ArmExample {
  parameters: JsonObject
  responses: Record<string, { body?: Json; headers?: Record<string, string> } | undefined>
  operationId?: string
  title?: string
}

export function loadManifest(): Manifest {
  return JSON.parse(readFileSync(join(FIXTURES, 'manifest.json'), 'utf8')) as Manifest
}

export function loadExample(file: string): ArmExample {
  return JSON.parse(readFileSync(join(FIXTURES, file), 'utf8')) as ArmExample
}

export function fileName(file: string): string {
  return file.split('/').pop() ?? file
}

// ---------------------------------------------------------------------------------------------
// Subscription placeholders
// ---------------------------------------------------------------------------------------------

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const SUBSCRIPTION_SEGMENT = /\/subscriptions\/([^/]+)/gi

/**
 * Examples often name the subscription with a placeholder (`subid`, `subscriptionId`, ...). ARM
 * refuses any subscription id that is not a GUID (the emulator too: 400 InvalidSubscriptionId),
 * so every non-GUID subscription is read as the emulator's own; GUIDs are kept as given (the
 * emulator serves any subscription).
 */
export function subscriptionFor(value: string, emulatorSubscription: string): string {
  return GUID.test(value) ? value : emulatorSubscription
}

/** Applies subscriptionFor to every `/subscriptions/<x>` segment of an ARM id or path. */
export function mapSubscriptions(text: string, emulatorSubscription: string): string {
  return text.replace(
    SUBSCRIPTION_SEGMENT,
    (_m, sub: string) => `/subscriptions/${subscriptionFor(sub, emulatorSubscription)}`
  )
}

/** The same mapping over every string of a JSON value (ARM ids inside request bodies). */
export function mapSubscriptionsDeep(value: Json, emulatorSubscription: string): Json {
  if (typeof value === 'string') return mapSubscriptions(value, emulatorSubscription)
  if (Array.isArray(value)) return value.map((v) => mapSubscriptionsDeep(v, emulatorSubscription))
  if (value !== null && typeof value === 'object') {
    const out: JsonObject = {}
    for (const [k, v] of Object.entries(value)) out[k] = mapSubscriptionsDeep(v, emulatorSubscription)
    return out
  }
  return value
}

// ---------------------------------------------------------------------------------------------
// Building the request from the example
// ---------------------------------------------------------------------------------------------

function parameter(example: ArmExample, name: string): Json | undefined {
  if (name in example.parameters) return example.parameters[name]
  // Some examples spell a parameter with another case than the spec (e.g. `JobEnvelope`).
  const key = Object.keys(example.parameters).find((k) => k.toLowerCase() === name.toLowerCase())
  return key === undefined ? undefined : example.parameters[key]
}

/**
 * The only adaptations the harness makes to an example's request (each is reported, and each entry
 * of the manifest lists the ones its example needs):
 * - a subscription placeholder that is not a GUID becomes the emulator's subscription;
 * - a container-app name that breaks the service's naming rule only by its upper case is
 *   lower-cased (the service answers 400 ContainerAppInvalidName to the name as written);
 * - a revision name written `<app>-<suffix>` is written `<app>--<suffix>`, as the service names
 *   revisions (the app part lower-cased with the app's name); one written after another app than
 *   the path's is named after the path's app, since a revision belongs to its app;
 * - a Container Apps job name that breaks the naming rule jobs share with container apps only by
 *   its upper case is lower-cased;
 * - a job execution name that no start can have returned (the service names executions
 *   `<job>-<7 lower-case letters>`, Job_Start.json) is the one the prerequisite start returned;
 * - a body's `location` that is a canary region (`eastus2euap`: Early Updates Access Program,
 *   open only to allow-listed subscriptions, so ARM refuses it to any other) is the public region
 *   it is the canary of (`eastus2`).
 */
const APP_NAME = /^[a-z][a-z0-9-]{0,30}[a-z0-9]$/
/** A canary (EUAP) region: `<region>euap`, e.g. `eastus2euap`, `centraluseuap`. */
const CANARY_REGION = /^([a-z]+[0-9]*)euap$/i

function appNameOk(name: string): boolean {
  return APP_NAME.test(name) && !name.includes('--')
}

/** What the prerequisites made that a request may have to name instead of the example's value. */
export interface ReplayContext {
  /** The execution the prerequisite `start` of a job returned. */
  executionName?: string
}

class Adapter {
  readonly adaptations: string[] = []

  constructor(
    private readonly emulatorSubscription: string,
    /** The container app (or job) of the request path, as the example writes it. */
    private readonly appName: string | undefined,
    private readonly context: ReplayContext = {}
  ) {}

  private note(text: string): void {
    if (!this.adaptations.includes(text)) this.adaptations.push(text)
  }

  subscription(value: string): string {
    const mapped = subscriptionFor(value, this.emulatorSubscription)
    if (mapped !== value) this.note(`subscription placeholder '${value}' → the emulator's subscription`)
    return mapped
  }

  subscriptionsIn(text: string): string {
    return text.replace(SUBSCRIPTION_SEGMENT, (_m, sub: string) => `/subscriptions/${this.subscription(sub)}`)
  }

  subscriptionsDeep(value: Json): Json {
    if (typeof value === 'string') return this.subscriptionsIn(value)
    if (Array.isArray(value)) return value.map((v) => this.subscriptionsDeep(v))
    if (value !== null && typeof value === 'object') {
      const out: JsonObject = {}
      for (const [k, v] of Object.entries(value)) out[k] = this.subscriptionsDeep(v)
      return out
    }
    return value
  }

  app(name: string): string {
    if (appNameOk(name) || !appNameOk(name.toLowerCase())) return name
    this.note(
      `container-app name '${name}' → '${name.toLowerCase()}' (upper case breaks the service's naming rule: 400 ContainerAppInvalidName)`
    )
    return name.toLowerCase()
  }

  job(name: string): string {
    if (appNameOk(name) || !appNameOk(name.toLowerCase())) return name
    this.note(
      `job name '${name}' → '${name.toLowerCase()}' (upper case breaks the naming rule jobs share with container apps)`
    )
    return name.toLowerCase()
  }

  execution(name: string, job: string): string {
    const given = this.context.executionName
    if (!given || new RegExp(`^${job.toLowerCase()}-[a-z]{7}$`).test(name)) return name
    this.note(
      `execution name '${name}' → the one the prerequisite start returned (the service names executions <job>-<7 lower-case letters>)`
    )
    return given
  }

  location(region: string): string {
    const canary = CANARY_REGION.exec(region)
    if (!canary?.[1]) return region
    const adapted = canary[1].toLowerCase()
    this.note(
      `location '${region}' → '${adapted}' (a canary region, open only to allow-listed subscriptions: the public region it is the canary of)`
    )
    return adapted
  }

  revision(name: string): string {
    const app = this.appName
    if (!app || name.includes('--')) return name
    const prefix = `${app}-`
    if (name.toLowerCase().startsWith(prefix.toLowerCase()) && name.length > prefix.length) {
      const adapted = `${app.toLowerCase()}--${name.slice(prefix.length)}`
      this.note(`revision name '${name}' → '${adapted}' (the service names revisions <app>--<suffix>)`)
      return adapted
    }
    // A revision named after another app than the one in the path: a revision belongs to its app.
    const dash = name.lastIndexOf('-')
    if (dash <= 0 || dash === name.length - 1) return name
    const adapted = `${app.toLowerCase()}--${name.slice(dash + 1)}`
    this.note(
      `revision name '${name}' → '${adapted}' (a revision is named after its own app, the one in the path: <app>--<suffix>)`
    )
    return adapted
  }
}

function pathValue(entry: ManifestEntry, example: ArmExample, name: string): string {
  const value = parameter(example, name)
  if (typeof value !== 'string' && typeof value !== 'number') {
    throw new Error(`example ${entry.file} has no value for path parameter '${name}'`)
  }
  return String(value)
}

export interface PreparedRequest {
  path: string
  query: URLSearchParams
  body: Json | undefined
  /** What was changed, in the words the manifest's `adaptations` must repeat. */
  adaptations: string[]
}

export function prepareRequest(
  entry: ManifestEntry,
  example: ArmExample,
  emulatorSubscription: string,
  context: ReplayContext = {}
): PreparedRequest {
  const app = entry.pathTemplate.includes('{containerAppName}')
    ? pathValue(entry, example, 'containerAppName')
    : undefined
  const adapter = new Adapter(emulatorSubscription, app, context)
  let job = ''
  const path = entry.pathTemplate.replace(/\{([^}]+)\}/g, (_m, name: string) => {
    const text = pathValue(entry, example, name)
    const adapted =
      name === 'subscriptionId'
        ? adapter.subscription(text)
        : name === 'containerAppName'
          ? adapter.app(text)
          : name === 'revisionName'
            ? adapter.revision(text)
            : name === 'jobName'
              ? (job = adapter.job(text))
              : name === 'jobExecutionName'
                ? adapter.execution(text, job)
                : text
    return encodeURIComponent(adapted)
  })
  let body: Json | undefined
  if (entry.bodyParameter) {
    const given = parameter(example, entry.bodyParameter)
    if (given !== undefined) {
      body = adapter.subscriptionsDeep(given)
      // The resource's region: a canary region becomes the public one.
      const top = objectIn(body)
      const location = top?.['location']
      if (top && typeof location === 'string') top['location'] = adapter.location(location)
      // Revision names inside a container app's body: its traffic targets.
      const ingress = objectIn(objectIn(objectIn(body, 'properties'), 'configuration'), 'ingress')
      const traffic = ingress?.['traffic']
      if (Array.isArray(traffic)) {
        for (const t of traffic) {
          const target = objectIn(t)
          const name = target?.['revisionName']
          if (target && typeof name === 'string') target['revisionName'] = adapter.revision(name)
        }
      }
    }
  }
  return { path, query: buildQuery(entry, example), body, adaptations: adapter.adaptations }
}

function objectIn(value: Json | undefined, key?: string): JsonObject | undefined {
  const v =
    key === undefined
      ? value
      : value && typeof value === 'object' && !Array.isArray(value)
        ? value[key]
        : undefined
  return v && typeof v === 'object' && !Array.isArray(v) ? v : undefined
}

export function buildQuery(entry: ManifestEntry, example: ArmExample): URLSearchParams {
  const query = new URLSearchParams()
  const apiVersion = parameter(example, 'api-version')
  if (typeof apiVersion !== 'string') throw new Error(`example ${entry.file} has no api-version`)
  query.set('api-version', apiVersion)
  for (const name of entry.queryParameters) {
    const value = parameter(example, name)
    if (value !== undefined && value !== null) query.set(name, String(value))
  }
  return query
}

export function statusCodes(example: ArmExample): number[] {
  return Object.keys(example.responses)
    .filter((k) => /^\d{3}$/.test(k))
    .map(Number)
}

// ---------------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------------

export interface HttpAnswer {
  status: number
  headers: Record<string, string>
  text: string
  json: Json | undefined
}

export interface ArmClient {
  readonly endpoint: string
  /** `target` is a path (resolved against the endpoint) or an absolute URL on the endpoint. */
  send(method: string, target: string, body?: Json): Promise<HttpAnswer>
}

export function armClient(endpoint: string, ca: string, token: string): ArmClient {
  return {
    endpoint,
    send(method, target, body) {
      const url = new URL(target, endpoint)
      const payload = body === undefined ? undefined : JSON.stringify(body)
      return new Promise((resolvePromise, reject) => {
        const req = request(
          url,
          {
            method,
            ca,
            headers: {
              Authorization: `Bearer ${token}`,
              Accept: 'application/json',
              ...(payload !== undefined
                ? {
                    'Content-Type': 'application/json',
                    'Content-Length': String(Buffer.byteLength(payload))
                  }
                : {})
            }
          },
          (res) => {
            const chunks: Buffer[] = []
            res.on('data', (c: Buffer) => chunks.push(c))
            res.on('end', () => {
              const text = Buffer.concat(chunks).toString('utf8')
              let json: Json | undefined
              try {
                json = text.trim() ? (JSON.parse(text) as Json) : undefined
              } catch {
                json = undefined
              }
              const headers: Record<string, string> = {}
              for (const [k, v] of Object.entries(res.headers)) {
                if (typeof v === 'string') headers[k.toLowerCase()] = v
                else if (Array.isArray(v)) headers[k.toLowerCase()] = v.join(', ')
              }
              resolvePromise({ status: res.statusCode ?? 0, headers, text, json })
            })
            res.on('error', reject)
          }
        )
        req.on('error', reject)
        if (payload !== undefined) req.write(payload)
        req.end()
      })
    }
  }
}

export function withQuery(path: string, query: URLSearchParams | string): string {
  return `${path}?${typeof query === 'string' ? new URLSearchParams({ 'api-version': query }) : query}`
}

/** `code: message` of an ARM error body, or the raw text. */
export function describeError(answer: HttpAnswer): string {
  const body = answer.json
  if (body && typeof body === 'object' && !Array.isArray(body)) {
    const error = body['error']
    if (error && typeof error === 'object' && !Array.isArray(error)) {
      return `${String(error['code'])}: ${String(error['message'])}`
    }
  }
  return answer.text.length > 400 ? `${answer.text.slice(0, 400)}…` : answer.text || '(empty body)'
}

// ---------------------------------------------------------------------------------------------
// Long-running operations
// ---------------------------------------------------------------------------------------------

const TERMINAL = ['succeeded', 'failed', 'canceled', 'cancelled']
const POLL_MS = 20
const LRO_DEADLINE_MS = 30_000

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

export interface LroUrls {
  asyncOperation?: string
  location?: string
}

export function lroUrls(answer: HttpAnswer): LroUrls {
  return {
    ...(answer.headers['azure-asyncoperation']
      ? { asyncOperation: answer.headers['azure-asyncoperation'] }
      : {}),
    ...(answer.headers['location'] ? { location: answer.headers['location'] } : {})
  }
}

/** ARM's rule: an Azure-AsyncOperation header on any 2xx, or a Location on 201/202, means "poll". */
export function isLongRunning(answer: HttpAnswer): boolean {
  const urls = lroUrls(answer)
  if (answer.status < 200 || answer.status >= 300) return false
  if (urls.asyncOperation) return true
  return urls.location !== undefined && (answer.status === 201 || answer.status === 202)
}

export interface LroOutcome {
  /** Problems found while polling (status monitor not on the emulator, operation failed, ...). */
  problems: string[]
  /** The last answer of the Location URL, when the operation was polled through it. */
  locationResult?: HttpAnswer
}

function onEmulator(client: ArmClient, url: string): boolean {
  try {
    return new URL(url).origin === new URL(client.endpoint).origin
  } catch {
    return false
  }
}

export async function waitForOperation(client: ArmClient, answer: HttpAnswer): Promise<LroOutcome> {
  const urls = lroUrls(answer)
  const problems: string[] = []
  const deadline = Date.now() + LRO_DEADLINE_MS
  if (urls.asyncOperation) {
    if (!onEmulator(client, urls.asyncOperation)) {
      return { problems: [`Azure-AsyncOperation points outside the emulator: ${urls.asyncOperation}`] }
    }
    for (;;) {
      const poll = await client.send('GET', urls.asyncOperation)
      if (poll.status !== 200) {
        problems.push(`Azure-AsyncOperation poll answered ${poll.status}: ${describeError(poll)}`)
        break
      }
      const status = (poll.json as JsonObject | undefined)?.['status']
      if (typeof status !== 'string') {
        problems.push(`Azure-AsyncOperation body has no string 'status': ${poll.text.slice(0, 300)}`)
        break
      }
      if (TERMINAL.includes(status.toLowerCase())) {
        if (status.toLowerCase() !== 'succeeded') {
          problems.push(
            `operation ended '${status}': ${JSON.stringify((poll.json as JsonObject)['error'] ?? null)}`
          )
        }
        break
      }
      if (Date.now() > deadline) {
        problems.push(`operation still '${status}' after ${LRO_DEADLINE_MS} ms`)
        break
      }
      await sleep(POLL_MS)
    }
    // A Location next to the monitor carries the final result (POST actions, deletes).
    if (urls.location && problems.length === 0 && onEmulator(client, urls.location)) {
      const result = await client.send('GET', urls.location)
      return { problems, locationResult: result }
    }
    return { problems }
  }
  if (urls.location) {
    if (!onEmulator(client, urls.location)) {
      return { problems: [`Location points outside the emulator: ${urls.location}`] }
    }
    for (;;) {
      const poll = await client.send('GET', urls.location)
      if (poll.status !== 202) {
        if (poll.status >= 400) problems.push(`Location poll answered ${poll.status}: ${describeError(poll)}`)
        return { problems, locationResult: poll }
      }
      if (Date.now() > deadline) {
        problems.push(`Location still answers 202 after ${LRO_DEADLINE_MS} ms`)
        return { problems }
      }
      await sleep(POLL_MS)
    }
  }
  return { problems }
}

const BUSY_STATES = [
  'accepted',
  'creating',
  'updating',
  'deleting',
  'inprogress',
  'provisioning',
  'initializationinprogress',
  'infrastructuresetupinprogress',
  'scheduledfordelete',
  'starting',
  'stopping',
  'dropping',
  'restarting',
  'registering',
  'waiting'
]

function busy(body: Json | undefined): string | undefined {
  const props = body && typeof body === 'object' && !Array.isArray(body) ? body['properties'] : undefined
  if (!props || typeof props !== 'object' || Array.isArray(props)) return undefined
  for (const key of ['provisioningState', 'state']) {
    const value = props[key]
    if (typeof value === 'string' && BUSY_STATES.includes(value.toLowerCase())) return `${key} ${value}`
  }
  return undefined
}

/** Re-reads a resource until neither provisioningState nor state is a transitional value. */
export async function waitSettled(client: ArmClient, pathWithQuery: string): Promise<HttpAnswer> {
  const deadline = Date.now() + LRO_DEADLINE_MS
  for (;;) {
    const answer = await client.send('GET', pathWithQuery)
    const state = answer.status === 200 ? busy(answer.json) : undefined
    if (!state) return answer
    if (Date.now() > deadline)
      throw new Error(`${pathWithQuery} still in ${state} after ${LRO_DEADLINE_MS} ms`)
    await sleep(POLL_MS)
  }
}

// ---------------------------------------------------------------------------------------------
// Prerequisites
// ---------------------------------------------------------------------------------------------

/**
 * A step that makes an example's request valid. Paths and bodies are written with the example's
 * own subscription values; non-GUID placeholders are mapped like the example's request is.
 * - `ensure`: PUT `body` unless a GET already answers 200; then wait until the resource settles.
 * - `put`: always PUT `body` (to set an exact state) and wait.
 * - `post`: an action (e.g. start a job), waited for when long-running.
 * - `absent`: DELETE the resource if a GET finds it, and wait until GET answers 404 (an example
 *   that creates a resource another example already made elsewhere).
 */
export type Step =
  | { kind: 'ensure' | 'put'; path: string; apiVersion: string; body: Json }
  | { kind: 'post'; path: string; apiVersion: string; body?: Json }
  | { kind: 'absent'; path: string; apiVersion: string }

/** Runs the step; a `post` answers what its operation returned (a job start: the execution). */
export async function runStep(
  client: ArmClient,
  step: Step,
  emulatorSubscription: string
): Promise<Json | undefined> {
  const path = mapSubscriptions(step.path, emulatorSubscription)
  const target = withQuery(path, step.apiVersion)
  const body =
    step.kind === 'absent' || step.body === undefined
      ? undefined
      : mapSubscriptionsDeep(step.body, emulatorSubscription)
  const fail = (what: string, answer: HttpAnswer): never => {
    throw new Error(`prerequisite ${what} ${path} → ${answer.status} ${describeError(answer)}`)
  }
  if (step.kind === 'absent') {
    const current = await client.send('GET', target)
    if (current.status === 404) return
    await waitSettled(client, target)
    const answer = await client.send('DELETE', target)
    if (answer.status < 200 || answer.status >= 300) fail('DELETE', answer)
    if (isLongRunning(answer)) {
      const outcome = await waitForOperation(client, answer)
      if (outcome.problems.length > 0) {
        throw new Error(`prerequisite DELETE ${path}: ${outcome.problems.join('; ')}`)
      }
    }
    const after = await client.send('GET', target)
    if (after.status !== 404) fail('GET after DELETE', after)
    return
  }
  if (step.kind !== 'post') {
    // Never write over an operation still running on the resource (ARM answers 409 to that).
    const current = await client.send('GET', target)
    if (current.status === 200) {
      await waitSettled(client, target)
      if (step.kind === 'ensure') return
    }
  }
  const method = step.kind === 'post' ? 'POST' : 'PUT'
  const answer = await client.send(method, target, body)
  if (answer.status < 200 || answer.status >= 300) fail(method, answer)
  let result = answer.json
  if (isLongRunning(answer)) {
    const outcome = await waitForOperation(client, answer)
    if (outcome.problems.length > 0) {
      throw new Error(`prerequisite ${method} ${path}: ${outcome.problems.join('; ')}`)
    }
    result = outcome.locationResult?.json
  }
  if (method === 'POST') return result
  if (method === 'PUT') {
    const settled = await waitSettled(client, target)
    if (settled.status !== 200) fail('GET after PUT', settled)
    const state = (settled.json as JsonObject | undefined)?.['properties']
    const provisioning =
      state && typeof state === 'object' && !Array.isArray(state) ? state['provisioningState'] : undefined
    if (typeof provisioning === 'string' && provisioning.toLowerCase() !== 'succeeded') {
      throw new Error(`prerequisite PUT ${path} ended in provisioningState '${provisioning}'`)
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Shape comparison
// ---------------------------------------------------------------------------------------------

function typeOf(value: Json): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'array'
  return typeof value
}

function child(path: string, key: string): string {
  if (/^[A-Za-z_$][\w$-]*$/.test(key)) return path ? `${path}.${key}` : key
  return `${path}[${JSON.stringify(key)}]`
}

function excerpt(value: Json): string {
  const text = JSON.stringify(value)
  return text.length > 80 ? `${text.slice(0, 80)}…` : text
}

/**
 * Every property path of `expected` must exist in `actual` with the same JSON type. `null` in the
 * example matches anything (also absence). Each element of an actual array is compared with the
 * example's first element; a non-empty example array must not come back empty. Arrays whose
 * example elements differ in shape (workload profiles, scale rules: a union of kinds) also accept
 * an element shaped exactly like one of the other example elements; otherwise the problems against
 * the first element are reported.
 */
export function shapeProblems(expected: Json, actual: Json | undefined, path = ''): string[] {
  if (expected === null) return []
  const where = path || '(body)'
  if (actual === undefined) return [`${where}: missing (example: ${typeOf(expected)})`]
  const want = typeOf(expected)
  const got = typeOf(actual)
  if (want !== got) return [`${where}: expected ${want} but got ${got} ${excerpt(actual)}`]
  if (Array.isArray(expected) && Array.isArray(actual)) {
    const first = expected[0]
    if (first === undefined) return []
    if (actual.length === 0) {
      return [`${where}: expected a non-empty array (example has ${expected.length}) but got []`]
    }
    const others = expected.slice(1)
    return actual.flatMap((item, i) => {
      const problems = shapeProblems(first, item, `${path}[${i}]`)
      if (problems.length === 0) return []
      return others.some((other) => shapeProblems(other, item).length === 0) ? [] : problems
    })
  }
  if (typeof expected === 'object' && typeof actual === 'object' && !Array.isArray(actual)) {
    const actualObject = actual as JsonObject
    return Object.entries(expected as JsonObject).flatMap(([key, value]) =>
      shapeProblems(value, actualObject[key], child(path, key))
    )
  }
  return []
}

// ---------------------------------------------------------------------------------------------
// Unmodeled paths
// ---------------------------------------------------------------------------------------------

interface Segment {
  key: string
  /** `key[]`: every element of the array at `key`. */
  each: boolean
}

function segments(path: string): Segment[] {
  return path.split('.').map((part) => {
    const each = part.endsWith('[]')
    return { key: each ? part.slice(0, -2) : part, each }
  })
}

function asObjectJson(value: Json | undefined): JsonObject | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? value : undefined
}

/** True when `value` has anything at `path` (for `key[]`: a non-empty array). */
export function hasPath(value: Json | undefined, path: string): boolean {
  const walk = (node: Json | undefined, rest: Segment[]): boolean => {
    const [seg, ...tail] = rest
    const object = asObjectJson(node)
    if (!seg || !object) return false
    const child = object[seg.key]
    if (tail.length === 0) return seg.each ? Array.isArray(child) && child.length > 0 : child !== undefined
    if (seg.each) return Array.isArray(child) && child.some((c) => walk(c, tail))
    return walk(child, tail)
  }
  return walk(value, segments(path))
}

/** A copy of `value` without what is at `path` (for `key[]`: the array's elements). */
export function withoutPath(value: Json, path: string): Json {
  const copy = JSON.parse(JSON.stringify(value)) as Json
  const walk = (node: Json | undefined, rest: Segment[]): void => {
    const [seg, ...tail] = rest
    const object = asObjectJson(node)
    if (!seg || !object) return
    const child = object[seg.key]
    if (tail.length === 0) {
      if (seg.each && Array.isArray(child)) object[seg.key] = []
      else delete object[seg.key]
      return
    }
    if (seg.each) {
      if (Array.isArray(child)) for (const c of child) walk(c, tail)
    } else walk(child, tail)
  }
  walk(copy, segments(path))
  return copy
}

/**
 * The shape check with the entry's unmodeled paths set aside: each must be in the example (else the
 * list is stale) and must NOT be in the answer (else the emulator models it now and the entry goes).
 */
export function shapeProblemsExcept(
  expected: Json,
  actual: Json | undefined,
  unmodeled: Unmodeled[]
): string[] {
  const problems: string[] = []
  let pruned = expected
  for (const { path } of unmodeled) {
    if (!hasPath(expected, path)) problems.push(`unmodeled path ${path} is not in the example's body`)
    if (hasPath(actual, path)) {
      problems.push(`unmodeled path ${path} is answered by the emulator: remove it from the manifest entry`)
    }
    pruned = withoutPath(pruned, path)
  }
  return [...problems, ...shapeProblems(pruned, actual)]
}
