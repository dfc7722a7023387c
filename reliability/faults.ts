import type { Scenario } from './suite.js'

export const faults: Scenario = {
  name: 'faults',
  runtime: 'standin',
  async run() {}
}
