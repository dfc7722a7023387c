import type { Scenario } from './suite.js'

export const networkRules: Scenario = {
  name: 'networkRules',
  runtime: 'standin',
  async run() {}
}
