/**
 * Address plan of the stack's VNet: the Container Apps subnet takes the first /23 of the address
 * space, the database subnet the /24 right after it. A /22 or larger space holds both.
 */
export interface AddressPlan {
  addressSpace: string
  acaSubnet: string
  dbSubnet: string
}

export const ADDRESS_SPACE_RULE =
  'must be an IPv4 CIDR block of size /22 or larger (prefix 8 to 22) on its network boundary, e.g. 10.42.0.0/16'

function toInt(ip: string): number | undefined {
  const parts = ip.split('.')
  if (parts.length !== 4) return undefined
  let n = 0
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined
    n = n * 256 + Number(p)
  }
  return n
}

function toIp(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.')
}

export function planAddresses(cidr: string): AddressPlan | undefined {
  const match = /^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})$/.exec(cidr)
  if (!match) return undefined
  const base = toInt(match[1]!)
  const prefix = Number(match[2])
  if (base === undefined || prefix < 8 || prefix > 22) return undefined
  if (base % 2 ** (32 - prefix) !== 0) return undefined
  return {
    addressSpace: cidr,
    acaSubnet: `${toIp(base)}/23`,
    dbSubnet: `${toIp(base + 512)}/24`
  }
}

/**
 * Ranges the Container Apps subnet must not overlap: those Azure Kubernetes Service keeps for itself
 * (learn.microsoft.com/azure/container-apps/custom-virtual-networks, "Subnet address range
 * restrictions"; the same four AKS documents for its own networks).
 */
export const CONTAINER_APPS_RESERVED = ['169.254.0.0/16', '172.30.0.0/16', '172.31.0.0/16', '192.0.2.0/24']

function range(cidr: string): [number, number] | undefined {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})$/.exec(cidr)
  const base = m ? toInt(m[1]!) : undefined
  if (!m || base === undefined) return undefined
  return [base, base + 2 ** (32 - Number(m[2])) - 1]
}

/** The reserved range the plan's Container Apps subnet overlaps, if any. */
export function reservedOverlap(plan: AddressPlan): string | undefined {
  const aca = range(plan.acaSubnet)
  if (!aca) return undefined
  return CONTAINER_APPS_RESERVED.find((r) => {
    const [lo, hi] = range(r)!
    return aca[0] <= hi && lo <= aca[1]
  })
}
