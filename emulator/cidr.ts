/** IPv4 CIDR arithmetic for the network rules (subnet inside VNet, no overlaps, minimum size). */

export interface Cidr {
  base: number
  bits: number
}

export function parseCidr(text: string): Cidr | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(text.trim())
  if (!m) return undefined
  const octets = m.slice(1, 5).map(Number)
  const bits = Number(m[5])
  if (octets.some((o) => o > 255) || bits > 32) return undefined
  const ip = octets.reduce((acc, o) => acc * 256 + o, 0)
  const size = 2 ** (32 - bits)
  return { base: ip - (ip % size), bits }
}

const size = (c: Cidr): number => 2 ** (32 - c.bits)

export function contains(outer: Cidr, inner: Cidr): boolean {
  return (
    inner.bits >= outer.bits &&
    inner.base >= outer.base &&
    inner.base + size(inner) <= outer.base + size(outer)
  )
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return a.base < b.base + size(b) && b.base < a.base + size(a)
}

export function formatIp(ip: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(ip / 2 ** shift) % 256).join('.')
}

/** An address inside the range, skipping the five Azure reserves at the start. */
export function addressIn(c: Cidr, offset: number): string {
  return formatIp(c.base + Math.min(4 + offset, size(c) - 2))
}
