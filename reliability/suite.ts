/**
 * What every reliability scenario is handed: the run's options, a place to report each check with
 * its figure, and the secret ledger the final secrecy check reads. A scenario reports; it never
 * throws for a missed check (an unexpected error is reported as a missed check of its own).
 */
import type { ActionRun } from '../test/helpers/action.js'

export interface SuiteOptions {
  /** CI's short run: fewer seeded repetitions, the same kinds of check. */
  short: boolean
  /** The base seed; every scenario derives its own seeds from it, so a run reproduces. */
  seed: number
}

export interface CheckResult {
  /** `<scenario>: <what is checked>`, one line. */
  name: string
  /** The measured figure, e.g. `12/12 converged`, `0 writes`, `0 hits in 418 texts`. */
  figure: string
  ok: boolean
  /** Shown under a missed check: what differed, and how to reproduce it. */
  detail?: string
}

export interface Suite {
  readonly options: SuiteOptions
  readonly ledger: SecretLedger
  report(result: CheckResult): void
}

/** Secrets that existed during the run, and every text the run produced, for the secrecy check. */
export class SecretLedger {
  private readonly secrets = new Map<string, string>()
  private readonly texts: { where: string; text: string }[] = []

  /** A value that must never be seen; `what` names it in a finding (never the value itself). */
  secret(value: string | undefined, what: string): void {
    // Very short values would match by chance (a `1`, a `true`); no secret of the stack is that short.
    if (value && value.length >= 8 && !this.secrets.has(value)) this.secrets.set(value, what)
  }

  text(text: string, where: string): void {
    this.texts.push({ where, text })
  }

  /** An action run: what it left for a person (logs, outputs, summary) and what it masked. */
  run(run: ActionRun, where: string): void {
    for (const value of run.masked) this.secret(value, `a value ${where} masked`)
    this.text(run.everything, where)
  }

  get counts(): { secrets: number; texts: number; bytes: number } {
    return {
      secrets: this.secrets.size,
      texts: this.texts.length,
      bytes: this.texts.reduce((n, t) => n + t.text.length, 0)
    }
  }

  /** Each (secret, text) pair where the secret appears, as `<what> in <where>`. */
  findings(): string[] {
    const found: string[] = []
    for (const { where, text } of this.texts) {
      for (const [value, what] of this.secrets) {
        if (text.includes(value)) found.push(`${what} in ${where}`)
      }
    }
    return found
  }
}

/** A scenario: a named group of checks. */
export interface Scenario {
  name: string
  /** The runtime it needs: scenarios with the real MLflow are the slow ones. */
  runtime: 'standin' | 'mlflow'
  run(suite: Suite): Promise<void>
}

/** `check(suite, name, ok, figure, detail)` with the scenario's name put in front. */
export function reporter(suite: Suite, scenario: string) {
  return (what: string, ok: boolean, figure: string, detail?: string): void =>
    suite.report({ name: `${scenario}: ${what}`, ok, figure, ...(detail ? { detail } : {}) })
}

/** A seed for one part of a scenario, derived from the base seed so the whole run reproduces. */
export function seedFor(base: number, part: string): number {
  let h = base >>> 0
  for (const c of part) h = (Math.imul(h ^ c.charCodeAt(0), 2654435761) >>> 0) % 2 ** 31
  return h
}

/** Deterministic draws in [0, 1) from a seed (mulberry32). */
export function random(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
}
