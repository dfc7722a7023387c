/**
 * The stand-in job container: prints its image and command line, then the command line with its
 * `$NAME` / `${NAME}` expanded from its env the way `bash -x` traces it (`+ …`: the line a secret
 * reaches the log by, to be masked), and exits 0 — or, with the test knobs `STANDIN_RUN_MS` /
 * `STANDIN_EXIT_CODE` in its env, runs that long and exits with that code. It exits when the
 * emulator that started it is gone.
 */
const argv = process.argv.slice(2)
const sep = argv.indexOf('--')
const opts = sep >= 0 ? argv.slice(0, sep) : argv
const command = sep >= 0 ? argv.slice(sep + 1) : []
const get = (name: string): string | undefined => {
  const i = opts.indexOf(`--${name}`)
  return i >= 0 ? opts[i + 1] : undefined
}
const parentPid = Number(get('parent-pid') ?? process.ppid)
const image = get('image') ?? ''
const runMs = Number(process.env['STANDIN_RUN_MS'] ?? '0') || 0
const exitCode = Number(process.env['STANDIN_EXIT_CODE'] ?? '0') || 0

process.stdout.write(`stand-in job ${image}: ${command.length > 0 ? command.join(' ') : '(image default)'}\n`)
if (command.length > 0) {
  const expand = (s: string): string =>
    s.replace(
      /\$\{(\w+)\}|\$(\w+)/g,
      (_m, a: string | undefined, b: string | undefined) => process.env[a ?? b ?? ''] ?? ''
    )
  process.stdout.write(`+ ${command.map(expand).join(' ')}\n`)
}

setInterval(() => {
  let gone = process.ppid !== parentPid
  try {
    process.kill(parentPid, 0)
  } catch {
    gone = true
  }
  if (gone) process.exit(0)
}, 500)

setTimeout(() => {
  if (exitCode !== 0) process.stderr.write(`stand-in job: exiting with code ${exitCode} as asked\n`)
  process.exit(exitCode)
}, runMs)

process.on('SIGTERM', () => process.exit(143))
