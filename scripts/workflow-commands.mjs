// Renders the workflow commands an action prints (`::group::`, `::add-mask::`, `::error::`, ...)
// for a person at a terminal, the way the runner would show them: groups become headings, masked
// values are replaced by *** from the moment they are registered, `::add-mask::` lines themselves
// never appear, and debug lines only with `verbose`.

/** Undoes the escaping `@actions/core` applies to command data. */
function unescapeData(text) {
  return text.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%')
}

export function createRenderer({ verbose = false } = {}) {
  const secrets = new Set()
  const hide = (text) => {
    let out = text
    // Longest first, so a secret that contains another is hidden whole.
    for (const s of [...secrets].sort((a, b) => b.length - a.length)) out = out.split(s).join('***')
    return out
  }
  /** One line of the action's stdout → the text to show, or null to show nothing. */
  return function render(line) {
    const m = /^::([a-z-]+)(?: [^:]*)?::(.*)$/.exec(line)
    if (!m) return hide(line)
    const [, command, data] = m
    const text = unescapeData(data)
    switch (command) {
      case 'add-mask':
        if (text !== '') secrets.add(text)
        return null
      case 'group':
        return `\n▸ ${hide(text)}`
      case 'endgroup':
        return null
      case 'debug':
        return verbose ? `  debug: ${hide(text)}` : null
      case 'error':
        return `Error: ${hide(text)}`
      case 'warning':
        return `Warning: ${hide(text)}`
      case 'notice':
        return `Notice: ${hide(text)}`
      default:
        return hide(line)
    }
  }
}
