/** Types of `workflow-commands.mjs`, for the tests that import it. */
export function createRenderer(options?: { verbose?: boolean }): (line: string) => string | null
