/** The command line of `node .build/emulator/main.js`; other tools rely on these exact names. */
import { resolve } from 'node:path'
import type { EmulatorConfig, RuntimeKind } from './context.js'
import { parseFaultSpec } from './faults.js'

export const USAGE =
  'usage: main.js --state DIR [--port N] [--time-scale X] [--faults SPEC] [--seed N] [--runtime standin|mlflow] ' +
  '[--unregistered NS1,NS2] [--taken-names name1,name2]'

const RUNTIMES: RuntimeKind[] = ['standin', 'mlflow']

export function parseArgs(argv: string[]): EmulatorConfig {
  const values = new Map<string, string>()
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? ''
    if (!arg.startsWith('--')) throw new Error(`unexpected argument '${arg}'\n${USAGE}`)
    const eq = arg.indexOf('=')
    if (eq > 0) values.set(arg.slice(2, eq), arg.slice(eq + 1))
    else {
      const next = argv[i + 1]
      if (next === undefined || next.startsWith('--')) throw new Error(`${arg} needs a value\n${USAGE}`)
      values.set(arg.slice(2), next)
      i++
    }
  }
  const known = ['state', 'port', 'time-scale', 'faults', 'seed', 'runtime', 'unregistered', 'taken-names']
  for (const key of values.keys())
    if (!known.includes(key)) throw new Error(`unknown option --${key}\n${USAGE}`)

  const state = values.get('state')
  if (!state) throw new Error(`--state DIR is required\n${USAGE}`)
  const number = (key: string, fallback: number, ok: (n: number) => boolean): number => {
    const raw = values.get(key)
    if (raw === undefined) return fallback
    const n = Number(raw)
    if (!Number.isFinite(n) || !ok(n)) throw new Error(`--${key}: '${raw}' is not a valid value`)
    return n
  }
  const list = (key: string): string[] =>
    (values.get(key) ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
  const runtime = (values.get('runtime') ?? 'standin') as RuntimeKind
  if (!RUNTIMES.includes(runtime))
    throw new Error(`--runtime: '${runtime}' is not one of ${RUNTIMES.join(', ')}`)
  const port = values.has('port')
    ? number('port', 0, (n) => Number.isInteger(n) && n >= 0 && n < 65536)
    : undefined
  return {
    stateDir: resolve(state),
    ...(port !== undefined ? { port } : {}),
    timeScale: number('time-scale', 1, (n) => n > 0),
    faults: parseFaultSpec(values.get('faults')),
    seed: number('seed', 0, Number.isInteger),
    runtime,
    unregistered: list('unregistered'),
    takenNames: list('taken-names')
  }
}
