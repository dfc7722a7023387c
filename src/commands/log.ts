/** What commands may say to the person running them. `main.ts` backs it with `@actions/core`. */
export interface Log {
  info(message: string): void
  warning(message: string): void
  debug(message: string): void
  /** Registers a secret with the runner so it is masked everywhere; call before it can reach output. */
  mask(secret: string): void
  /** A folded group printed at once, so groups of parallel work do not interleave. */
  group(title: string, lines: string[]): void
}

export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`
}
