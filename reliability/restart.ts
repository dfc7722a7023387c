import type { Scenario } from './suite.js'

export const restart: Scenario = {
  name: 'restart',
  runtime: 'standin',
  async run() {}
}
