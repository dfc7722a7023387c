import type { Scenario } from './suite.js'

export const badInput: Scenario = {
  name: 'badInput',
  runtime: 'standin',
  async run() {}
}
