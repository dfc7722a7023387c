/**
 * Typed readers for single inputs. Each records a problem instead of throwing, so `parseInputs` can
 * report every bad input of a run at once.
 */
import type { InputProblem } from './errors.js'

export type InputReader = (name: string) => string

export class Fields {
  readonly problems: InputProblem[] = []

  constructor(private readonly read: InputReader) {}

  raw(name: string): string {
    return this.read(name).trim()
  }

  problem(input: string, value: string, rule: string): void {
    this.problems.push({ input, value, rule })
  }

  required(name: string, rule: string): string {
    const value = this.raw(name)
    if (value === '') this.problem(name, value, `is required; it ${rule}`)
    return value
  }

  optional(name: string): string | undefined {
    const value = this.raw(name)
    return value === '' ? undefined : value
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const value = this.raw(name)
    if (value === '') return fallback
    if ((allowed as readonly string[]).includes(value)) return value as T
    this.problem(name, value, `must be one of ${allowed.map((a) => `'${a}'`).join(', ')}`)
    return fallback
  }

  /** Exactly `true` or `false`: anything else is ambiguous and refused. */
  boolean(name: string, fallback: boolean): boolean {
    const value = this.raw(name)
    if (value === '') return fallback
    if (value === 'true' || value === 'false') return value === 'true'
    this.problem(name, value, "must be 'true' or 'false'")
    return fallback
  }

  integer(name: string, min: number, max: number, fallback: number): number {
    const value = this.raw(name)
    if (value === '') return fallback
    const n = Number(value)
    if (/^\d+$/.test(value) && n >= min && n <= max) return n
    this.problem(name, value, `must be a whole number from ${min} to ${max}`)
    return fallback
  }

  number(name: string, min: number, max: number, fallback: number): number {
    const value = this.raw(name)
    if (value === '') return fallback
    const n = Number(value)
    if (/^\d+(\.\d+)?$/.test(value) && n >= min && n <= max) return n
    this.problem(name, value, `must be a number from ${min} to ${max}`)
    return fallback
  }

  matching(name: string, pattern: RegExp, rule: string, fallback: string): string {
    const value = this.raw(name)
    if (value === '') return fallback
    if (pattern.test(value)) return value
    this.problem(name, value, rule)
    return fallback
  }
}
