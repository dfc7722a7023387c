/**
 * Resource provider registration (`@azure/arm-resources` providers.get/register, api-version
 * 2025-04-01). `--unregistered` namespaces start NotRegistered; register moves them through
 * Registering to Registered after the provider-register latency. Resource types: providerTypes.ts.
 */
import type { EmulatorContext, ProviderCheck } from '../context.js'
import { canonicalNamespace } from '../ids.js'
import type { JsonObject } from '../json.js'
import { param, type ArmResponse, type Router } from '../router.js'
import type { ProviderRecord } from '../store.js'
import { resourceTypesOf } from './providerTypes.js'

export class ProviderRegistry implements ProviderCheck {
  constructor(private readonly ctx: EmulatorContext) {}

  /** Seeds the `--unregistered` namespaces once; later starts keep whatever state they reached. */
  seedUnregistered(subscriptionId: string, namespaces: string[]): void {
    for (const ns of namespaces) {
      const key = this.key(subscriptionId, ns)
      if (!this.ctx.store.state.providers[key]) {
        this.ctx.store.state.providers[key] = {
          subscriptionId,
          namespace: canonicalNamespace(ns),
          registrationState: 'NotRegistered'
        }
      }
    }
  }

  get(subscriptionId: string, namespace: string): ProviderRecord {
    const key = this.key(subscriptionId, namespace)
    let record = this.ctx.store.state.providers[key]
    if (!record) {
      const unregistered = this.ctx.config.unregistered.some(
        (n) => n.toLowerCase() === namespace.toLowerCase()
      )
      record = {
        subscriptionId,
        namespace: canonicalNamespace(namespace),
        registrationState: unregistered ? 'NotRegistered' : 'Registered'
      }
      this.ctx.store.state.providers[key] = record
    }
    if (record.registrationState === 'Registering' && (record.registeredAt ?? 0) <= this.ctx.now()) {
      record.registrationState = 'Registered'
      delete record.registeredAt
    }
    return record
  }

  isRegistered(subscriptionId: string, namespace: string): boolean {
    return this.get(subscriptionId, namespace).registrationState === 'Registered'
  }

  register(subscriptionId: string, namespace: string): ProviderRecord {
    const record = this.get(subscriptionId, namespace)
    if (record.registrationState === 'NotRegistered') {
      record.registrationState = 'Registering'
      record.registeredAt = this.ctx.now() + this.ctx.latency.ms('providerRegister')
    }
    return record
  }

  private key(subscriptionId: string, namespace: string): string {
    return `${subscriptionId.toLowerCase()}/${namespace.toLowerCase()}`
  }
}

function view(record: ProviderRecord): JsonObject {
  const resourceTypes = resourceTypesOf(record.namespace)
  return {
    id: `/subscriptions/${record.subscriptionId}/providers/${record.namespace}`,
    namespace: record.namespace,
    registrationState: record.registrationState,
    registrationPolicy: 'RegistrationRequired',
    ...(resourceTypes ? { resourceTypes } : {})
  }
}

export function registerProviders(ctx: EmulatorContext, router: Router, registry: ProviderRegistry): void {
  router.add('GET', '/subscriptions/{subscriptionId}/providers/{namespace}', (req): ArmResponse => {
    return { status: 200, body: view(registry.get(param(req, 'subscriptionId'), param(req, 'namespace'))) }
  })
  router.add('POST', '/subscriptions/{subscriptionId}/providers/{namespace}/register', (req): ArmResponse => {
    return {
      status: 200,
      body: view(registry.register(param(req, 'subscriptionId'), param(req, 'namespace')))
    }
  })
  router.add('GET', '/subscriptions/{subscriptionId}/providers', (req): ArmResponse => {
    const sub = param(req, 'subscriptionId').toLowerCase()
    const known = Object.values(ctx.store.state.providers).filter(
      (p) => p.subscriptionId.toLowerCase() === sub
    )
    return {
      status: 200,
      body: { value: known.map((p) => view(registry.get(p.subscriptionId, p.namespace))) }
    }
  })
}
