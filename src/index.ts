import { run } from './main.js'

// A second net under run()'s own catch: nothing may end the step as a silent success.
process.on('unhandledRejection', (reason) => {
  process.exitCode = 1
  console.error(`::error::Unhandled rejection: ${reason instanceof Error ? reason.message : String(reason)}`)
})

await run()
