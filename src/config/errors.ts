/** One rejected input: which input, what it held, and the rule it broke. */
export interface InputProblem {
  input: string
  value: string
  rule: string
}

export function describeProblem(p: InputProblem): string {
  return `Input '${p.input}' has value '${p.value}': ${p.rule}`
}

/**
 * Every bad input of a run at once, so a user fixes them in one go instead of one per run. Thrown
 * before any request that writes to Azure.
 */
export class InputError extends Error {
  readonly problems: InputProblem[]

  constructor(problems: InputProblem[]) {
    super(
      problems.length === 1
        ? describeProblem(problems[0]!)
        : `${problems.length} inputs are invalid:\n${problems.map((p) => `- ${describeProblem(p)}`).join('\n')}`
    )
    this.name = 'InputError'
    this.problems = problems
  }
}
