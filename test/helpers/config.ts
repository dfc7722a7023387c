/** A deploy's typed config from a few inputs, as unit tests of pure planning need it. */
import { parseInputs, type DeployConfig } from '../../src/config/inputs.js'

export const TEST_SUBSCRIPTION = '00000000-0000-4000-8000-000000000001'

/** Stack `team-a` in westeurope; `extra` inputs override or add to those. */
export function deployConfig(extra: Record<string, string> = {}): DeployConfig {
  const inputs: Record<string, string> = {
    'stack-name': 'team-a',
    location: 'westeurope',
    'subscription-id': TEST_SUBSCRIPTION,
    ...extra
  }
  return parseInputs((n) => inputs[n] ?? '') as DeployConfig
}

/** Authentication has its own tests; an open server keeps these graphs to the core stack. */
export const openServer = (extra: Record<string, string> = {}): DeployConfig =>
  deployConfig({ auth: 'none', 'allow-anonymous': 'true', ...extra })
