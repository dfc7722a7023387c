/** The suite's scenarios, in the order they run (the real-runtime one last: it is the slowest). */
import { badInput } from './badInput.js'
import { concurrency } from './concurrency.js'
import { crashResume } from './crashResume.js'
import { faults } from './faults.js'
import { networkRules } from './networkRules.js'
import { restart } from './restart.js'
import type { Scenario } from './suite.js'

export const SCENARIOS: Scenario[] = [badInput, networkRules, faults, crashResume, concurrency, restart]
