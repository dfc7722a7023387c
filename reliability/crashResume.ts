import type { Scenario } from './suite.js'

export const crashResume: Scenario = {
  name: 'crashResume',
  runtime: 'standin',
  async run() {}
}
