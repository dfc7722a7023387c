/** `npm run local` shows the action's workflow commands the way the runner would show them. */
import { describe, expect, it } from '@jest/globals'
import { createRenderer } from '../../scripts/workflow-commands.mjs'

function show(lines: string[], verbose = false): string[] {
  const render = createRenderer({ verbose })
  return lines.map(render).filter((l): l is string => l !== null)
}

describe('workflow commands for a person', () => {
  it('turns groups into headings and drops their end markers', () => {
    expect(show(['::group::containerApp app: created in 1.0s', 'change: x', '::endgroup::'])).toEqual([
      '\n▸ containerApp app: created in 1.0s',
      'change: x'
    ])
  })

  it('never prints ::add-mask:: lines, and masks the value from then on', () => {
    const out = show(['::add-mask::s3cret-value', 'password is s3cret-value', '::error::bad s3cret-value'])
    expect(out).toEqual(['password is ***', 'Error: bad ***'])
    expect(out.join('\n')).not.toContain('s3cret-value')
  })

  it('shows debug lines only when verbose, and decodes escaped command data', () => {
    expect(show(['::debug::detail'])).toEqual([])
    expect(show(['::debug::detail'], true)).toEqual(['  debug: detail'])
    expect(show(['::error::line one%0Aline two 100%25'])).toEqual(['Error: line one\nline two 100%'])
    expect(show(['::warning file=x::careful'])).toEqual(['Warning: careful'])
  })
})
