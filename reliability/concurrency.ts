import type { Scenario } from './suite.js'

export const concurrency: Scenario = {
  name: 'concurrency',
  runtime: 'standin',
  async run() {}
}
