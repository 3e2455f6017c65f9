/**
 * IPv4 CIDR arithmetic shared by the node IPAM controller and the node agent's pod network (upstream
 * `k8s.io/utils/net` and the cidrset allocator's index math). IPv6 is not supported: Skiff's pod network is IPv4.
 */

/** A parsed IPv4 CIDR: network address as an unsigned 32-bit integer and prefix length. */
export interface Cidr4 {
  base: number;
  prefix: number;
}

/** Parses a dotted-quad IPv4 address to an unsigned 32-bit integer; throws on anything else. */
export function parseIPv4(s: string): number {
  const parts = s.trim().split('.');
  if (parts.length !== 4) throw new Error(`invalid IPv4 address ${JSON.stringify(s)}`);
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) throw new Error(`invalid IPv4 address ${JSON.stringify(s)}`);
    n = n * 256 + Number(p);
  }
  return n >>> 0;
}

export function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** Parses `a.b.c.d/n`; host bits must be zero (as net.ParseCIDR's network, upstream rejects a misaligned cluster CIDR). */
export function parseCidr(s: string): Cidr4 {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(s.trim());
  if (!m || Number(m[2]) > 32) throw new Error(`invalid CIDR ${JSON.stringify(s)}`);
  const prefix = Number(m[2]);
  const ip = parseIPv4(m[1]!);
  const base = (ip & mask(prefix)) >>> 0;
  if (base !== ip) throw new Error(`invalid CIDR ${JSON.stringify(s)}: host bits set (network is ${formatIPv4(base)}/${prefix})`);
  return { base, prefix };
}

export function formatCidr(c: Cidr4): string {
  return `${formatIPv4(c.base)}/${c.prefix}`;
}

/** Whether `ip` (dotted quad) lies in `c`. */
export function cidrContains(c: Cidr4, ip: string | number): boolean {
  const n = typeof ip === 'number' ? ip : parseIPv4(ip);
  return ((n & mask(c.prefix)) >>> 0) === c.base;
}

/** Whether `inner` is entirely inside `outer`. */
export function cidrWithin(outer: Cidr4, inner: Cidr4): boolean {
  return inner.prefix >= outer.prefix && cidrContains(outer, inner.base);
}

/** The `index`-th subnet of size `/subPrefix` inside `c`. */
export function subnetAt(c: Cidr4, subPrefix: number, index: number): Cidr4 {
  return { base: (c.base + index * 2 ** (32 - subPrefix)) >>> 0, prefix: subPrefix };
}

/** The index of `sub` among the `/sub.prefix` subnets of `c` (undefined when not an aligned subnet of it). */
export function subnetIndex(c: Cidr4, sub: Cidr4, subPrefix: number): number | undefined {
  if (sub.prefix !== subPrefix || !cidrWithin(c, sub)) return undefined;
  return (sub.base - c.base) / 2 ** (32 - subPrefix);
}

/** The first usable host address of a subnet (the gateway the bridge gets, `.1` of a /24). */
export function firstHost(c: Cidr4): string {
  return formatIPv4((c.base + 1) >>> 0);
}
