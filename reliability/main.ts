/**
 * `npm run reliability [-- --short] [-- --seed N] [-- --only NAME,…]`: the reliability suite against
 * the local Azure. One line per check with its figure, then the secrecy scan over every text the
 * suite produced; exits 1 when any check is missed. `--short` is CI's run: fewer seeded
 * repetitions of the same checks.
 */
import { parseArgs } from 'node:util'
import { SCENARIOS } from './scenarios.js'
import { SecretLedger, type CheckResult, type Suite } from './suite.js'

const { values } = parseArgs({
  options: {
    short: { type: 'boolean', default: false },
    seed: { type: 'string', default: '1' },
    only: { type: 'string' }
  }
})
const seed = Number(values.seed)
if (!Number.isInteger(seed)) throw new Error(`--seed: '${values.seed}' is not an integer`)
const only = values.only?.split(',').map((s) => s.trim())
const unknown = only?.filter((name) => name !== 'secrecy' && !SCENARIOS.some((s) => s.name === name)) ?? []
if (unknown.length) {
  console.error(
    `--only: unknown scenario ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`
  )
  process.exit(2)
}

const results: CheckResult[] = []
const suite: Suite = {
  options: { short: values.short, seed },
  ledger: new SecretLedger(),
  report(result) {
    results.push(result)
    console.log(`${result.ok ? 'ok  ' : 'MISS'}  ${result.name} — ${result.figure}`)
    if (!result.ok && result.detail) console.log(result.detail.replace(/^/gm, '        '))
  }
}

const started = Date.now()
console.log(`reliability suite: seed ${seed}${values.short ? ', short run' : ''}`)
for (const scenario of SCENARIOS.filter((s) => !only || only.includes(s.name))) {
  const t0 = Date.now()
  console.log(`\n== ${scenario.name} (${scenario.runtime} runtime)`)
  try {
    await scenario.run(suite)
  } catch (error) {
    suite.report({
      name: `${scenario.name}: runs to the end`,
      ok: false,
      figure: 'stopped by an unexpected error',
      detail: error instanceof Error ? (error.stack ?? error.message) : String(error)
    })
  }
  console.log(`   (${((Date.now() - t0) / 1000).toFixed(1)} s)`)
}

if (!only || only.includes('secrecy')) {
  const { secrets, texts, bytes } = suite.ledger.counts
  const findings = suite.ledger.findings()
  console.log('\n== secrecy')
  suite.report({
    name: 'secrecy: no secret value in any log, output, summary, PR comment or container command line',
    ok: findings.length === 0 && secrets > 0 && texts > 0,
    figure: `${findings.length} hits for ${secrets} secret values in ${texts} texts (${(bytes / 1e6).toFixed(1)} MB)`,
    ...(findings.length ? { detail: findings.slice(0, 20).join('\n') } : {})
  })
}

const missed = results.filter((r) => !r.ok)
console.log(
  `\n${results.length - missed.length} of ${results.length} checks met, ${missed.length} missed ` +
    `(${((Date.now() - started) / 60_000).toFixed(1)} min, seed ${seed})`
)
for (const m of missed) console.log(`missed: ${m.name}`)
process.exit(missed.length ? 1 : 0)
