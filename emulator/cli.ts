/** The command line of `node .build/emulator/main.js`; other tools rely on these exact names. */
import { resolve } from 'node:path'
import { parseArgs as parseNodeArgs } from 'node:util'
import type { EmulatorConfig, RuntimeKind } from './context.js'
import { parseFaultSpec } from './faults.js'
import { parsePropagation } from './propagation.js'

export const USAGE =
  'usage: main.js --state DIR [--port N] [--time-scale X] [--faults SPEC] [--seed N] [--runtime standin|mlflow] ' +
  '[--unregistered NS1,NS2] [--taken-names name1,name2] [--fail-operations kind=Code,...] [--crash-images img1,img2] ' +
  '[--propagation storageKey=S,roleAssignment=S,principal=S] [--client-ip A.B.C.D] [--deny-actions A1,A2]'

/** The runner's public address unless `--client-ip` says otherwise (RFC 5737 TEST-NET-3). */
export const DEFAULT_CLIENT_IP = '203.0.113.10'

const RUNTIMES: RuntimeKind[] = ['standin', 'mlflow']

const OPTIONS = {
  state: { type: 'string' },
  port: { type: 'string' },
  'time-scale': { type: 'string' },
  faults: { type: 'string' },
  seed: { type: 'string' },
  runtime: { type: 'string' },
  unregistered: { type: 'string' },
  'taken-names': { type: 'string' },
  'fail-operations': { type: 'string' },
  'crash-images': { type: 'string' },
  propagation: { type: 'string' },
  'client-ip': { type: 'string' },
  'deny-actions': { type: 'string' }
} as const

/**
 * `--deny-actions Microsoft.App/containerApps/write,Microsoft.App/register/action,...`: ARM actions
 * (role-definition syntax, `*` wildcards) the deploying principal lacks (authorization.ts).
 */
function parseDenyActions(list: string[]): string[] {
  for (const action of list) {
    if (!/^[\w.*-]+(\/[\w.*-]+)*$/.test(action) || (!action.includes('/') && action !== '*'))
      throw new Error(
        `--deny-actions: '${action}' is not an ARM action such as Microsoft.App/containerApps/write`
      )
  }
  return list
}

/**
 * `--fail-operations postgresServers.put=QuotaExceeded,...`: every operation of that kind fails
 * with that code — a failure that is not a passing fault (quota, policy, a restricted region), for
 * tests of what a caller does with a permanent failure. Kinds are the LRO kinds of `resources/`.
 */
function parseFailures(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  for (const part of (text ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const m = /^([\w.]+)=(\w+)$/.exec(part)
    if (!m) throw new Error(`--fail-operations: '${part}' is not <operation kind>=<ErrorCode>`)
    out[m[1]!] = m[2]!
  }
  return out
}

export function parseArgs(argv: string[]): EmulatorConfig {
  let values: Partial<Record<keyof typeof OPTIONS, string>>
  try {
    values = parseNodeArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false }).values
  } catch (err) {
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n${USAGE}`, { cause: err })
  }
  const state = values.state
  if (!state) throw new Error(`--state DIR is required\n${USAGE}`)
  const number = (key: keyof typeof OPTIONS, fallback: number, ok: (n: number) => boolean): number => {
    const raw = values[key]
    if (raw === undefined) return fallback
    const n = Number(raw)
    if (!Number.isFinite(n) || !ok(n)) throw new Error(`--${key}: '${raw}' is not a valid value`)
    return n
  }
  const list = (key: keyof typeof OPTIONS): string[] =>
    (values[key] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
  const runtime = (values.runtime ?? 'standin') as RuntimeKind
  if (!RUNTIMES.includes(runtime))
    throw new Error(`--runtime: '${runtime}' is not one of ${RUNTIMES.join(', ')}`)
  const clientIp = values['client-ip'] ?? DEFAULT_CLIENT_IP
  const octets = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(clientIp)
  if (!octets || octets.slice(1).some((o) => Number(o) > 255))
    throw new Error(`--client-ip: '${clientIp}' is not an IPv4 address`)
  const port =
    values.port !== undefined
      ? number('port', 0, (n) => Number.isInteger(n) && n >= 0 && n < 65536)
      : undefined
  return {
    stateDir: resolve(state),
    ...(port !== undefined ? { port } : {}),
    timeScale: number('time-scale', 1, (n) => n > 0),
    faults: parseFaultSpec(values.faults),
    seed: number('seed', 0, Number.isInteger),
    runtime,
    unregistered: list('unregistered'),
    takenNames: list('taken-names'),
    crashImages: list('crash-images'),
    failOperations: parseFailures(values['fail-operations']),
    propagation: parsePropagation(values.propagation),
    clientIp,
    denyActions: parseDenyActions(list('deny-actions'))
  }
}
