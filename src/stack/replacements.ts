/**
 * Changes Azure cannot make in place. Sending them would fail only after other writes of the same
 * deploy had happened, so the plan marks them "replace required" and deploy refuses the whole run
 * before its first write, saying which input changed, from what to what, and what to do instead.
 * Sources are named per rule; see also `reference/azure-arm-contract.md` and the local Azure.
 */
import type { Observed } from '../azure/port.js'
import { sameValue } from '../engine/diff.js'
import type { ReplacementRule } from '../engine/plan.js'
import type { AnyDesired } from './desired.js'
import type { ResourceKind, SpecByKind } from './specs.js'

interface Immutable<K extends ResourceKind> {
  field: keyof SpecByKind[K] & string
  /** The input that sets the field, if a user can change it. */
  input?: string
  /** Which direction is a change at all (e.g. storage may grow but not shrink). */
  blocks?: (before: SpecByKind[K][keyof SpecByKind[K]], after: SpecByKind[K][keyof SpecByKind[K]]) => boolean
  advice: (before: string, after: string) => string
}

type Rules = { [K in ResourceKind]?: Immutable<K>[] }

const RECREATE = 'destroy the stack and deploy it again (its data goes with it), or keep the current value'

const moveRegion: Immutable<ResourceKind> = {
  field: 'location' as never,
  input: 'location',
  // ARM: a resource keeps the region it was created in (400 InvalidResourceLocation; resource
  // groups: InvalidResourceGroupLocation).
  advice: (before, after) =>
    `cannot be applied: Azure resources keep the region they were created in; deploy a new stack in ${after} and move the data, or keep location ${before}`
}

const RULES: Rules = {
  resourceGroup: [moveRegion as Immutable<'resourceGroup'>],
  virtualNetwork: [
    moveRegion as Immutable<'virtualNetwork'>,
    {
      // The VNet's subnets hold the PostgreSQL server and the Container Apps environment, and
      // neither can move to another subnet (see below); a VNet PUT with a new range is refused
      // (NetcfgSubnetRangeOutsideVnet / InUseSubnetCannotBeUpdated).
      field: 'addressPrefixes',
      input: 'vnet-address-space',
      advice: () =>
        `cannot be applied: the stack's subnets are in use by its PostgreSQL server and Container Apps environment, which cannot move to other subnets; ${RECREATE}`
    }
  ],
  subnet: [
    {
      field: 'addressPrefix',
      input: 'vnet-address-space',
      advice: () => `cannot be applied: a subnet in use cannot change its range; ${RECREATE}`
    }
  ],
  logAnalytics: [moveRegion as Immutable<'logAnalytics'>],
  storageAccount: [moveRegion as Immutable<'storageAccount'>],
  postgresServer: [
    moveRegion as Immutable<'postgresServer'>,
    {
      field: 'version',
      input: 'postgres-version',
      advice: (before, after) =>
        Number(after) > Number(before)
          ? `needs a major-version upgrade, which is its own operation on Azure: take a backup, run ` +
            `\`az postgres flexible-server upgrade --version ${after}\` on the server (minutes of downtime), then deploy with postgres-version ${after}; or keep ${before}`
          : `cannot be applied: PostgreSQL cannot go back to an older major version; restore a backup into a new stack, or keep ${before}`
    },
    {
      field: 'storageSizeGB',
      input: 'postgres-storage-gb',
      // Flexible server storage can grow online but never shrink.
      blocks: (before, after) => Number(after) < Number(before),
      advice: (before) =>
        `cannot be applied: the server's storage can grow but never shrink; keep ${before} GB or more`
    },
    {
      field: 'administratorLogin',
      advice: () => `the administrator login is fixed when the server is created; ${RECREATE}`
    },
    {
      field: 'delegatedSubnetId',
      advice: () => `a server with private access cannot move to another subnet; ${RECREATE}`
    },
    {
      field: 'privateDnsZoneId',
      advice: () => `the private DNS zone of a server is fixed when it is created; ${RECREATE}`
    }
  ],
  postgresDatabase: [
    {
      field: 'charset',
      advice: () => 'a database keeps the encoding it was created with; migrate the data to a new database'
    },
    {
      field: 'collation',
      advice: () => 'a database keeps the collation it was created with; migrate the data to a new database'
    }
  ],
  privateDnsLink: [
    {
      field: 'virtualNetworkId',
      advice: () => `a virtual network link always points to the network it was created for; ${RECREATE}`
    }
  ],
  managedEnvironment: [
    moveRegion as Immutable<'managedEnvironment'>,
    {
      field: 'infrastructureSubnetId',
      advice: () => `an environment cannot move to another subnet; ${RECREATE}`
    },
    {
      field: 'internal',
      advice: () =>
        `an environment is internal or external for its whole life (ingress: internal on the app is the in-place way); ${RECREATE}`
    }
  ],
  containerApp: [
    moveRegion as Immutable<'containerApp'>,
    {
      field: 'environmentId',
      advice: () => `a container app cannot move to another environment; ${RECREATE}`
    }
  ]
}

function show(value: unknown): string {
  if (typeof value === 'string') return value.startsWith('/subscriptions/') ? value.split('/').pop()! : value
  return JSON.stringify(value)
}

export const immutableChanges: ReplacementRule = (desired: AnyDesired, actual: Observed<ResourceKind>) => {
  const rules = (RULES[desired.kind] ?? []) as Immutable<ResourceKind>[]
  const after = desired.spec as unknown as Record<string, unknown>
  const before = actual.spec as unknown as Record<string, unknown>
  const out: string[] = []
  for (const rule of rules) {
    const a = after[rule.field]
    const b = before[rule.field]
    if (a === undefined || sameValue(a, b)) continue
    if (rule.blocks && !rule.blocks(b as never, a as never)) continue
    const from = Array.isArray(b) ? b.join(', ') : show(b)
    const to = Array.isArray(a) ? a.join(', ') : show(a)
    const advice = rule.advice(from, to)
    out.push(
      rule.input
        ? `\`${rule.input}\` ${from} → ${to} ${advice}.`
        : `${desired.kind} ${desired.address.name}: ${rule.field} ${from} → ${to} cannot change in place: ${advice}.`
    )
  }
  return out
}
