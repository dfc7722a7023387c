/**
 * Who may use the MLflow server, and who can reach it. The default is basic authentication; an
 * MLflow without authentication that the internet could reach is refused unless the user says, in
 * so many words, that this is what they want.
 */
import type { Fields } from './fields.js'

export const AUTH_MODES = ['basic', 'oidc', 'none'] as const
export type AuthMode = (typeof AUTH_MODES)[number]

export const ADMIN_USERNAME = 'admin'

/** Inputs whose values are secrets: masked before anything else happens. */
export const SECRET_INPUTS = ['admin-password', 'oidc-client-secret', 'github-token'] as const

export type AuthSettings =
  | { mode: 'none'; allowAnonymous: boolean }
  /** `adminPassword` is absent only for `plan`, which then keeps whatever the app has. */
  | { mode: 'basic'; adminPassword?: string }
  | {
      mode: 'oidc'
      discoveryUrl: string
      clientId: string
      clientSecret: string
      scope: string
      userGroup: string
      adminGroup: string
      providerName: string
    }

/** MLflow refuses shorter passwords, and the one it used to ship as default. */
const MIN_PASSWORD = 12
const LEGACY_DEFAULT_PASSWORD = 'password1234'

/** A secret's value never goes into an error message: say how long it was instead. */
function redacted(value: string): string {
  return value === '' ? '' : `(${value.length} characters, hidden)`
}

export function parseAuth(
  f: Fields,
  ingress: 'external' | 'internal',
  command: 'deploy' | 'plan' = 'deploy'
): AuthSettings {
  const mode = f.oneOf('auth', AUTH_MODES, 'basic')
  const allowAnonymous = f.boolean('allow-anonymous', false)
  if (mode === 'none') {
    if (ingress === 'external' && !allowAnonymous) {
      f.problem(
        'auth',
        'none',
        "would put an MLflow that anyone can read and write on the internet (ingress 'external'). " +
          "Use auth 'basic' (with admin-password) or 'oidc', or ingress 'internal', " +
          "or set allow-anonymous 'true' to accept an open server"
      )
    }
    return { mode, allowAnonymous }
  }
  if (mode === 'basic') {
    const adminPassword = f.raw('admin-password')
    // A plan only reads: it needs no secret to show what a deploy would change.
    if (adminPassword === '' && command === 'plan') return { mode }
    if (adminPassword === '') {
      f.problem(
        'admin-password',
        '',
        "is required with auth 'basic': it becomes the password of the MLflow user 'admin'"
      )
    } else if (adminPassword.length < MIN_PASSWORD || adminPassword === LEGACY_DEFAULT_PASSWORD) {
      f.problem(
        'admin-password',
        redacted(adminPassword),
        `must be at least ${MIN_PASSWORD} characters and not MLflow's old default password`
      )
    }
    return { mode, adminPassword }
  }
  const discoveryUrl = f.raw('oidc-discovery-url')
  if (!/^https?:\/\/\S+\/\.well-known\/openid-configuration$/.test(discoveryUrl)) {
    f.problem(
      'oidc-discovery-url',
      discoveryUrl,
      "is required with auth 'oidc' and must be the provider's …/.well-known/openid-configuration URL"
    )
  }
  const clientId = f.raw('oidc-client-id')
  if (clientId === '') f.problem('oidc-client-id', '', "is required with auth 'oidc'")
  const clientSecret = f.raw('oidc-client-secret')
  if (clientSecret === '') f.problem('oidc-client-secret', '', "is required with auth 'oidc'")
  return {
    mode,
    discoveryUrl,
    clientId,
    clientSecret,
    scope: f.raw('oidc-scope') || 'openid,email,profile',
    userGroup: f.raw('oidc-group') || 'mlflow',
    adminGroup: f.raw('oidc-admin-group') || 'mlflow-admin',
    providerName: f.raw('oidc-provider-name') || 'Sign in'
  }
}

export const ALLOWED_IPS_RULE =
  'must be IPv4 addresses or CIDR ranges (e.g. 203.0.113.0/24), separated by commas or new lines, at most 100'

/** `allowed-ips`: the only client addresses the ingress lets through; empty means all. */
export function parseAllowedIps(f: Fields): string[] {
  const raw = f.raw('allowed-ips')
  const entries = raw
    .split(/[\s,]+/)
    .map((e) => e.trim())
    .filter((e) => e !== '')
  const valid = (e: string): boolean => {
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(e)
    if (!m) return false
    const octetsOk = m.slice(1, 5).every((o) => Number(o) <= 255)
    return octetsOk && (m[5] === undefined || Number(m[5]) <= 32)
  }
  const bad = entries.find((e) => !valid(e))
  if (bad !== undefined || entries.length > 100) {
    f.problem('allowed-ips', bad ?? raw, ALLOWED_IPS_RULE)
    return []
  }
  return entries.map((e) => (e.includes('/') ? e : `${e}/32`))
}
