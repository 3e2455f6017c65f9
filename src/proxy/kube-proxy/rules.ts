/**
 * The pure half of the iptables proxier: Services + EndpointSlices in, one `iptables-restore --noflush` payload out
 * (upstream kube-proxy `pkg/proxy/iptables/proxier.go` `syncProxyRules`). Keeping it pure makes every rule shape
 * unit-testable without root; {@link startKubeProxy} only feeds it state and applies the text.
 *
 * Chain layout (upstream names with `KUBE` replaced by the prefix `P`):
 * - nat `P-SERVICES` (from PREROUTING and OUTPUT): one rule per ClusterIP / externalIP / LoadBalancer IP and port,
 *   then, last, `-m addrtype --dst-type LOCAL -j P-NODEPORTS`.
 * - nat `P-SVC-<hash>` per service port: masquerade ClusterIP traffic from outside the cluster CIDR, session
 *   affinity (`-m recent --rcheck`), then an even random spread over `P-SEP-<hash>` chains.
 * - nat `P-EXT-<hash>` per service port with external destinations (NodePort, externalIPs, LoadBalancer IPs):
 *   mark for masquerade, then the SVC chain (externalTrafficPolicy Cluster); with policy Local it keeps the client
 *   address and jumps to `P-SVL-<hash>` (local endpoints only), except for pod and node-local traffic.
 * - nat `P-SEP-<hash>` per endpoint: hairpin masquerade (a pod reaching itself) and the DNAT.
 * - nat `P-MARK-MASQ` / `P-POSTROUTING` (from POSTROUTING): mark bit, then MASQUERADE marked packets.
 * - filter `P-SERVICES` (from INPUT/FORWARD/OUTPUT for new connections): REJECT for service ports without
 *   endpoints, DROP for traffic-policy Local without local endpoints; `P-FORWARD` accepts marked and established
 *   traffic when FORWARD's policy is DROP; `P-FIREWALL` drops martian localhost traffic (the guard upstream adds
 *   with `route_localnet=1`).
 */

import { createHash } from 'node:crypto';
import net from 'node:net';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Service, ServicePort } from 'kubernetes-types/core/v1.js';

/** Default fwmark bit for "needs SNAT" (upstream `--iptables-masquerade-bit` default 14 → 0x4000). */
export const DEFAULT_MASQUERADE_MARK = '0x4000';
/** Upstream default `sessionAffinityConfig.clientIP.timeoutSeconds` (3 hours). */
export const DEFAULT_AFFINITY_TIMEOUT_SECONDS = 10800;
/** The EndpointSlice label naming its Service. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** Everything one sync needs. */
export interface ProxyState {
  /** Chain name prefix, e.g. `SKIFF` (at most 7 characters so `P-SVC-<16>` fits iptables' 28-character limit). */
  chainPrefix: string;
  /** The pod network; ClusterIP traffic from outside it is masqueraded (upstream `--cluster-cidr`). */
  clusterCIDR: string;
  /** This node, for endpoints' `nodeName` (traffic policy Local). */
  nodeName: string;
  services: Service[];
  endpointSlices: EndpointSlice[];
  /** nat chains with this prefix present on the host now; those not rebuilt are flushed and deleted. */
  existingNatChains?: string[];
  /** filter chains with this prefix present on the host now. */
  existingFilterChains?: string[];
  /** fwmark used for masquerade (default {@link DEFAULT_MASQUERADE_MARK}). */
  masqueradeMark?: string;
}

/** One resolved endpoint of a service port. */
export interface ResolvedEndpoint {
  ip: string;
  port: number;
  nodeName?: string;
  /** `${ip}:${port}` */
  key: string;
}

/** One service port with everything the rules need; also returned so callers (conntrack cleanup) can diff. */
export interface ServicePortInfo {
  /** `namespace/name:portName` as upstream's ServicePortName prints it. */
  name: string;
  protocol: 'TCP' | 'UDP' | 'SCTP';
  clusterIP: string;
  port: number;
  nodePort?: number;
  /** externalIPs and LoadBalancer status IPs. */
  externalIPs: string[];
  affinityTimeout?: number;
  internalLocal: boolean;
  externalLocal: boolean;
  /** Endpoints that get traffic: ready ones, or serving+terminating ones when none is ready. */
  endpoints: ResolvedEndpoint[];
}

/** Result of {@link buildRules}. */
export interface BuiltRules {
  /** The `iptables-restore --noflush` payload. */
  payload: string;
  /** nat chains written (the next sync's `existingNatChains`). */
  natChains: string[];
  filterChains: string[];
  ports: ServicePortInfo[];
}

const CHAIN_PREFIX_RE = /^[A-Z][A-Z0-9_]{0,6}$/;

/** Throws unless `prefix` is usable as a chain name prefix. */
export function validateChainPrefix(prefix: string): void {
  if (!CHAIN_PREFIX_RE.test(prefix)) {
    throw new Error(`invalid chain prefix "${prefix}": want 1-7 characters of A-Z, 0-9, _ starting with a letter`);
  }
}

/** Names of the fixed chains for a prefix. */
export function fixedChains(p: string): { nat: string[]; filter: string[] } {
  return {
    nat: [`${p}-SERVICES`, `${p}-NODEPORTS`, `${p}-POSTROUTING`, `${p}-MARK-MASQ`],
    filter: [`${p}-SERVICES`, `${p}-FORWARD`, `${p}-FIREWALL`],
  };
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** Upstream's chain hash: base32(sha256(s)) truncated to 16 characters. */
function hash16(s: string): string {
  const buf = createHash('sha256').update(s).digest();
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of buf) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5 && out.length < 16) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    if (out.length >= 16) break;
  }
  return out;
}

const isIPv4 = (s: string | undefined): s is string => !!s && net.isIPv4(s);

/** Services with this label belong to another proxy implementation (upstream honours it the same way). */
export const SERVICE_PROXY_NAME_LABEL = 'service.kubernetes.io/service-proxy-name';

/** Upstream `ShouldSkipService`: headless, ExternalName and other proxies' services get no rules. */
export function skipService(svc: Service): boolean {
  const ip = svc.spec?.clusterIP;
  if (svc.metadata?.labels?.[SERVICE_PROXY_NAME_LABEL] !== undefined) return true;
  return svc.spec?.type === 'ExternalName' || !ip || ip === 'None' || !isIPv4(ip);
}

/**
 * Resolves the service ports of every proxied Service against its EndpointSlices: slice ports are matched by name
 * and protocol (their numbers already carry named targetPorts resolved per pod by the EndpointSlice controller);
 * endpoints are deduplicated by `ip:port`; only IPv4 slices count.
 */
export function resolveServicePorts(services: Service[], slices: EndpointSlice[]): ServicePortInfo[] {
  const slicesBySvc = new Map<string, EndpointSlice[]>();
  for (const s of slices) {
    const svcName = s.metadata?.labels?.[SERVICE_NAME_LABEL];
    if (!svcName || s.addressType !== 'IPv4') continue;
    const key = `${s.metadata?.namespace ?? ''}/${svcName}`;
    const list = slicesBySvc.get(key) ?? [];
    list.push(s);
    slicesBySvc.set(key, list);
  }
  const out: ServicePortInfo[] = [];
  for (const svc of services) {
    if (skipService(svc)) continue;
    const ns = svc.metadata?.namespace ?? '';
    const key = `${ns}/${svc.metadata?.name ?? ''}`;
    const spec = svc.spec!;
    const lbIPs = (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).filter(isIPv4);
    const externalIPs = [...new Set([...(spec.externalIPs ?? []).filter(isIPv4), ...lbIPs])];
    const affinity = spec.sessionAffinity === 'ClientIP'
      ? spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_TIMEOUT_SECONDS
      : undefined;
    for (const sp of spec.ports ?? []) {
      const protocol = (sp.protocol ?? 'TCP') as ServicePortInfo['protocol'];
      out.push({
        name: `${key}:${sp.name ?? ''}`,
        protocol,
        clusterIP: spec.clusterIP!,
        port: sp.port,
        nodePort: (spec.type === 'NodePort' || spec.type === 'LoadBalancer') && sp.nodePort ? sp.nodePort : undefined,
        externalIPs,
        affinityTimeout: affinity,
        internalLocal: spec.internalTrafficPolicy === 'Local',
        externalLocal: spec.externalTrafficPolicy === 'Local',
        endpoints: endpointsFor(sp, protocol, slicesBySvc.get(key) ?? []),
      });
    }
  }
  return out.sort((a, b) => (a.name === b.name ? (a.protocol < b.protocol ? -1 : 1) : a.name < b.name ? -1 : 1));
}

/** Ready endpoints of one port; serving+terminating ones when none is ready (upstream `CategorizeEndpoints`). */
function endpointsFor(sp: ServicePort, protocol: string, slices: EndpointSlice[]): ResolvedEndpoint[] {
  const ready = new Map<string, ResolvedEndpoint>();
  const terminating = new Map<string, ResolvedEndpoint>();
  for (const slice of slices) {
    const port = (slice.ports ?? []).find((p) => (p.name ?? '') === (sp.name ?? '') && (p.protocol ?? 'TCP') === protocol);
    if (!port?.port) continue;
    for (const ep of slice.endpoints ?? []) {
      const ip = ep.addresses?.[0];
      if (!isIPv4(ip)) continue;
      const r: ResolvedEndpoint = { ip, port: port.port, nodeName: ep.nodeName, key: `${ip}:${port.port}` };
      const c = ep.conditions ?? {};
      if (c.ready !== false) ready.set(r.key, r);
      else if (c.serving === true && c.terminating === true) terminating.set(r.key, r);
    }
  }
  const chosen = ready.size > 0 ? ready : terminating;
  return [...chosen.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** Quotes an iptables-restore argument (comments contain spaces). */
const q = (s: string) => `"${s.replace(/["\\]/g, '')}"`;

const hasExternalDest = (sp: ServicePortInfo) => sp.nodePort !== undefined || sp.externalIPs.length > 0;

/** No endpoints at all → REJECT (connection refused at once); only remote ones under policy Local → DROP (upstream). */
const localOnly = (sp: ServicePortInfo, external = false) => (external ? sp.externalLocal : sp.internalLocal) && sp.endpoints.length > 0;
const verdict = (sp: ServicePortInfo, external = false) => (localOnly(sp, external) ? 'DROP' : 'REJECT --reject-with icmp-port-unreachable');
const noEndpoints = (sp: ServicePortInfo, external = false) =>
  `-m comment --comment ${q(`${sp.name} has no ${localOnly(sp, external) ? 'local ' : ''}endpoints`)}`;

/** Builds the restore payload for `state` (see the module comment for the chain layout). */
export function buildRules(state: ProxyState): BuiltRules {
  const P = state.chainPrefix;
  validateChainPrefix(P);
  const mark = state.masqueradeMark ?? DEFAULT_MASQUERADE_MARK;
  const fixed = fixedChains(P);
  const SERVICES = `${P}-SERVICES`;
  const NODEPORTS = `${P}-NODEPORTS`;
  const MARK_MASQ = `${P}-MARK-MASQ`;
  const POSTROUTING = `${P}-POSTROUTING`;
  const ports = resolveServicePorts(state.services, state.endpointSlices);

  const natChains = [...fixed.nat];
  const nat: string[] = [];
  const filter: string[] = [];

  nat.push(`-A ${MARK_MASQ} -j MARK --or-mark ${mark}`);
  nat.push(`-A ${POSTROUTING} -m mark ! --mark ${mark}/${mark} -j RETURN`);
  // Clear the bit so a packet re-traversing (e.g. an encapsulated one) is not SNATed twice (upstream).
  nat.push(`-A ${POSTROUTING} -j MARK --xor-mark ${mark}`);
  nat.push(`-A ${POSTROUTING} -m comment --comment ${q('skiff service traffic requiring SNAT')} -j MASQUERADE --random-fully`);

  const fServices = `${P}-SERVICES`;
  filter.push(`-A ${P}-FORWARD -m conntrack --ctstate INVALID -j DROP`);
  filter.push(`-A ${P}-FORWARD -m comment --comment ${q('skiff forwarding rules')} -m mark --mark ${mark}/${mark} -j ACCEPT`);
  filter.push(`-A ${P}-FORWARD -m comment --comment ${q('skiff forwarding conntrack rule')} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`);
  filter.push(`-A ${P}-FIREWALL ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment ${q('block incoming localnet connections')} -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP`);

  for (const sp of ports) {
    const proto = sp.protocol.toLowerCase();
    const h = hash16(sp.name + sp.protocol);
    const svcChain = `${P}-SVC-${h}`;
    const extChain = `${P}-EXT-${h}`;
    const svlChain = `${P}-SVL-${h}`;
    const match = (ip: string, port: number) => `-p ${proto} -m ${proto} -d ${ip}/32 --dport ${port}`;
    const localEps = sp.endpoints.filter((e) => e.nodeName === state.nodeName);
    // Upstream's two policy chains: SVC spreads over every endpoint, SVL over this node's only.
    const usesSVC = sp.endpoints.length > 0 && (!sp.internalLocal || (!sp.externalLocal && hasExternalDest(sp)));
    const usesSVL = localEps.length > 0 && (sp.internalLocal || (sp.externalLocal && hasExternalDest(sp)));
    const internalChain = sp.internalLocal ? svlChain : svcChain;
    const internalEps = sp.internalLocal ? localEps : sp.endpoints;
    const externalChain = sp.externalLocal ? svlChain : svcChain;
    const externalEps = sp.externalLocal ? localEps : sp.endpoints;

    // Endpoint chains, shared by both policy chains; only for endpoints some chain uses (upstream).
    const sepOf = new Map<string, string>();
    for (const ep of usesSVC ? sp.endpoints : usesSVL ? localEps : []) {
      const sep = `${P}-SEP-${hash16(sp.name + sp.protocol + ep.key)}`;
      sepOf.set(ep.key, sep);
      natChains.push(sep);
      const c = `-m comment --comment ${q(sp.name)}`;
      nat.push(`-A ${sep} ${c} -s ${ep.ip}/32 -j ${MARK_MASQ}`);
      const recent = sp.affinityTimeout !== undefined ? ` -m recent --name ${sep} --set` : '';
      nat.push(`-A ${sep} ${c} -p ${proto}${recent} -m ${proto} -j DNAT --to-destination ${ep.key}`);
    }
    const spread = (chain: string, eps: ResolvedEndpoint[]) => {
      natChains.push(chain);
      const c = `-m comment --comment ${q(sp.name)}`;
      if (sp.affinityTimeout !== undefined) {
        for (const ep of eps) {
          const sep = sepOf.get(ep.key)!;
          nat.push(`-A ${chain} ${c} -m recent --name ${sep} --rcheck --seconds ${sp.affinityTimeout} --reap -j ${sep}`);
        }
      }
      eps.forEach((ep, i) => {
        const left = eps.length - i;
        const stat = left > 1 ? ` -m statistic --mode random --probability ${(1 / left).toFixed(10)}` : '';
        nat.push(`-A ${chain} -m comment --comment ${q(`${sp.name} -> ${ep.key}`)}${stat} -j ${sepOf.get(ep.key)!}`);
      });
    };
    if (usesSVC) {
      // ClusterIP traffic from outside the pod network (the node itself, other hosts) needs SNAT so replies return.
      nat.push(`-A ${svcChain} -m comment --comment ${q(`${sp.name} cluster IP`)} ${match(sp.clusterIP, sp.port)} ! -s ${state.clusterCIDR} -j ${MARK_MASQ}`);
      spread(svcChain, sp.endpoints);
    }
    if (usesSVL) spread(svlChain, localEps);

    // Cluster-facing destination: the ClusterIP.
    if (internalEps.length > 0) {
      nat.push(`-A ${SERVICES} -m comment --comment ${q(`${sp.name} cluster IP`)} ${match(sp.clusterIP, sp.port)} -j ${internalChain}`);
    } else {
      filter.push(`-A ${fServices} ${noEndpoints(sp)} ${match(sp.clusterIP, sp.port)} -j ${verdict(sp)}`);
    }

    // External destinations: NodePort, externalIPs, LoadBalancer IPs.
    if (!hasExternalDest(sp)) continue;
    const eComment = (what: string) => `-m comment --comment ${q(`${sp.name} ${what}`)}`;
    if (externalEps.length > 0) {
      natChains.push(extChain);
      if (!sp.externalLocal) {
        nat.push(`-A ${extChain} ${eComment('external destinations')} -j ${MARK_MASQ}`);
      } else {
        // Policy Local keeps the client address; pods and the node itself still use every endpoint (upstream).
        if (usesSVC) {
          nat.push(`-A ${extChain} ${eComment('pod traffic for external destinations')} -s ${state.clusterCIDR} -j ${svcChain}`);
          nat.push(`-A ${extChain} ${eComment('masquerade LOCAL traffic')} -m addrtype --src-type LOCAL -j ${MARK_MASQ}`);
          nat.push(`-A ${extChain} ${eComment('route LOCAL traffic to cluster endpoints')} -m addrtype --src-type LOCAL -j ${svcChain}`);
        }
      }
      nat.push(`-A ${extChain} -j ${externalChain}`);
      for (const ip of sp.externalIPs) nat.push(`-A ${SERVICES} ${eComment('external IP')} ${match(ip, sp.port)} -j ${extChain}`);
      if (sp.nodePort !== undefined) nat.push(`-A ${NODEPORTS} ${eComment('node port')} -p ${proto} -m ${proto} --dport ${sp.nodePort} -j ${extChain}`);
    } else {
      const why = noEndpoints(sp, true);
      for (const ip of sp.externalIPs) filter.push(`-A ${fServices} ${why} ${match(ip, sp.port)} -j ${verdict(sp, true)}`);
      if (sp.nodePort !== undefined) {
        filter.push(`-A ${fServices} ${why} -m addrtype --dst-type LOCAL -p ${proto} -m ${proto} --dport ${sp.nodePort} -j ${verdict(sp, true)}`);
      }
    }
  }
  // Must stay the last rule of SERVICES: anything addressed to this node falls through to the node ports.
  nat.push(`-A ${SERVICES} -m comment --comment ${q('skiff service nodeports; must be the last rule')} -m addrtype --dst-type LOCAL -j ${NODEPORTS}`);

  const uniqueNat = [...new Set(natChains)];
  const staleNat = (state.existingNatChains ?? []).filter((c) => !uniqueNat.includes(c));
  const staleFilter = (state.existingFilterChains ?? []).filter((c) => !fixed.filter.includes(c));
  const lines: string[] = ['*filter'];
  for (const c of [...fixed.filter, ...staleFilter]) lines.push(`:${c} - [0:0]`);
  lines.push(...filter);
  for (const c of staleFilter) lines.push(`-X ${c}`);
  lines.push('COMMIT', '*nat');
  for (const c of [...uniqueNat, ...staleNat]) lines.push(`:${c} - [0:0]`);
  lines.push(...nat);
  for (const c of staleNat) lines.push(`-X ${c}`);
  lines.push('COMMIT', '');
  return { payload: lines.join('\n'), natChains: uniqueNat, filterChains: [...fixed.filter], ports };
}

/**
 * A payload that flushes and deletes every chain named in `nat`/`filter` (the chain half of `kube-proxy
 * --cleanup`; the jumps from built-in chains must be removed first).
 */
export function buildCleanup(nat: string[], filter: string[]): string {
  const lines: string[] = [];
  for (const [table, chains] of [['filter', filter], ['nat', nat]] as const) {
    if (chains.length === 0) continue;
    lines.push(`*${table}`, ...chains.map((c) => `:${c} - [0:0]`), ...chains.map((c) => `-X ${c}`), 'COMMIT');
  }
  return lines.length ? lines.join('\n') + '\n' : '';
}
