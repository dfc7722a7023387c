import { describe, expect, it } from '@jest/globals'
import { deriveNames, isValidStackName, isValidStorageAccountName } from '../../src/config/naming.js'

const SUB = '00000000-0000-4000-8000-000000000001'

describe('deriveNames', () => {
  it.each(['abc', 'team-a', 'a'.repeat(24), 'x1-y2-z3'])(
    'keeps every name of stack %s within its service rule',
    (stack) => {
      expect(isValidStackName(stack)).toBe(true)
      const n = deriveNames({ stackName: stack, subscriptionId: SUB })
      expect(isValidStorageAccountName(n.storageAccount)).toBe(true)
      expect(n.containerApp.length).toBeLessThanOrEqual(32)
      expect(n.containerApp).toMatch(/^[a-z][a-z0-9-]*[a-z0-9]$/)
      expect(n.containerApp).not.toContain('--')
      expect(n.managedEnvironment.length).toBeLessThanOrEqual(60)
      expect(n.postgresServer).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/)
      expect(n.postgresServer.length).toBeLessThanOrEqual(63)
      expect(n.logAnalytics.length).toBeGreaterThanOrEqual(4)
      expect(n.logAnalytics.length).toBeLessThanOrEqual(63)
      expect(n.privateDnsZone).toMatch(/\.private\.postgres\.database\.azure\.com$/)
      expect(n.blobContainer).toMatch(/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/)
    }
  )

  it('is stable for a stack and differs across subscriptions for global names', () => {
    const a = deriveNames({ stackName: 'team-a', subscriptionId: SUB })
    expect(deriveNames({ stackName: 'team-a', subscriptionId: SUB })).toEqual(a)
    const other = deriveNames({ stackName: 'team-a', subscriptionId: '00000000-0000-4000-8000-000000000002' })
    expect(other.storageAccount).not.toBe(a.storageAccount)
    expect(other.postgresServer).not.toBe(a.postgresServer)
    expect(other.containerApp).toBe(a.containerApp)
  })

  it('honours a given resource group and storage account', () => {
    const n = deriveNames({
      stackName: 'team-a',
      subscriptionId: SUB,
      resourceGroup: 'shared',
      storageAccount: 'mystore'
    })
    expect(n.resourceGroup).toBe('shared')
    expect(n.storageAccount).toBe('mystore')
  })
})
