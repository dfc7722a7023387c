/**
 * Classifying the errors the `@azure/arm-*` clients throw. Two shapes reach us:
 * - `RestError` (HTTP error, `statusCode` + `code` from the ARM body `{"error":{code,message}}`), from
 *   both the modular clients and the postgres client; recognised by shape, not by class, because
 *   several copies of the class may be bundled.
 * - a plain `Error('The long-running operation has failed. <code>. <message>')` for a failed LRO.
 */

import { permissionFix } from '../stack/permissions.js'

export const LRO_FAILED_PREFIX = 'The long-running operation has failed.'

export interface RestErrorLike {
  name: string
  message: string
  statusCode?: number
  code?: string
  response?: { headers?: { get(name: string): string | undefined } }
}

const NOT_FOUND_CODES = new Set([
  'resourcenotfound',
  'resourcegroupnotfound',
  'notfound',
  'parentresourcenotfound',
  'containerappnotfound',
  'managedenvironmentnotfound',
  'resourcedoesnotexist'
])

function isObject(err: unknown): err is Record<string, unknown> {
  return typeof err === 'object' && err !== null
}

/** A `RestError` from any copy of `@azure/core-rest-pipeline` / `@typespec/ts-http-runtime`. */
export function isRestError(err: unknown): err is RestErrorLike & { name: 'RestError' } {
  return isObject(err) && err['name'] === 'RestError' && typeof err['message'] === 'string'
}

/** `code` and `message` of a failed long-running operation, or undefined for any other error. */
export function parseLroFailure(err: unknown): { code: string; message: string } | undefined {
  if (!(err instanceof Error) || isRestError(err)) return undefined
  if (!err.message.startsWith(LRO_FAILED_PREFIX)) return undefined
  const rest = err.message.slice(LRO_FAILED_PREFIX.length).trim()
  const dot = rest.indexOf('. ')
  if (dot < 0) {
    const code = rest.endsWith('.') ? rest.slice(0, -1) : rest
    return { code: code === 'undefined' ? '' : code, message: '' }
  }
  const code = rest.slice(0, dot)
  return { code: code === 'undefined' ? '' : code, message: rest.slice(dot + 2) }
}

/** The ARM error code of an error (RestError `code`, or the code of a failed LRO), if any. */
export function errorCode(err: unknown): string | undefined {
  if (isRestError(err)) return err.code
  const lro = parseLroFailure(err)
  if (lro) return lro.code || undefined
  if (isObject(err) && typeof err['code'] === 'string') return err['code']
  return undefined
}

/**
 * True for "it does not exist": HTTP 404 (incl. `ResourceGroupNotFound`, `ParentResourceNotFound`), or
 * an error carrying a not-found code without a status (e.g. a delete whose LRO reports the resource gone).
 */
export function isNotFound(err: unknown): boolean {
  if (isRestError(err)) {
    if (err.statusCode === 404) return true
    if (err.statusCode !== undefined) return false
    return err.code !== undefined && NOT_FOUND_CODES.has(err.code.toLowerCase())
  }
  const lro = parseLroFailure(err)
  return lro !== undefined && NOT_FOUND_CODES.has(lro.code.toLowerCase())
}

/**
 * The action and scope of ARM's 403 `AuthorizationFailed` ("The client '<id>' with object id
 * '<id>' does not have authorization to perform action '<action>' over scope '<scope>' or the
 * scope is invalid. …", Azure/azure-cli#32165), or undefined for any other error.
 */
export function authorizationFailure(err: unknown): { action: string; scope: string } | undefined {
  if (!isRestError(err)) return undefined
  if (err.statusCode !== 403 && err.code !== 'AuthorizationFailed') return undefined
  const m = /perform action '([^']+)' over scope '([^']*)'/.exec(err.message)
  return m ? { action: m[1]!, scope: m[2]! } : undefined
}

/** One line for logs and reports: `<code>: <message>` (ARM messages carry none of our secrets). */
export function describeAzureError(err: unknown): string {
  const denied = authorizationFailure(err)
  if (denied) {
    // Azure's words name the action, but bury it: say it first, and what to do.
    return (
      `AuthorizationFailed: the deploying identity lacks ${denied.action} on ${denied.scope}; ` +
      `${permissionFix(denied.action)} (Azure: ${(err as RestErrorLike).message})`
    )
  }
  if (isRestError(err)) {
    const code = err.code ?? (err.statusCode !== undefined ? `HTTP ${err.statusCode}` : 'RestError')
    return `${code}: ${err.message}`
  }
  const lro = parseLroFailure(err)
  if (lro)
    return `${lro.code || 'LongRunningOperationFailed'}: ${lro.message || 'the long-running operation has failed'}`
  if (err instanceof Error) {
    const code = errorCode(err)
    return code ? `${code}: ${err.message}` : err.message
  }
  return String(err)
}
