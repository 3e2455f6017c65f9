/**
 * The per-node service proxy in iptables mode (upstream kube-proxy `--proxy-mode=iptables`): informers on Services
 * and EndpointSlices feed {@link buildRules}; the payload is applied with `iptables-restore --noflush` (every own
 * chain rewritten in full, stale SVC/SEP chains deleted, all in one atomic transaction), and the jumps from the
 * built-in chains are installed idempotently (`iptables -C`, then `-I`).
 *
 * Timing follows upstream's BoundedFrequencyRunner: a change after a quiet period syncs at once, a burst coalesces
 * into at most one sync per `minSyncIntervalMs` (default 500 ms, so rules follow endpoint changes within 1 s), and
 * a full resync (re-reading the host's chains and re-checking the jumps) runs every `fullSyncIntervalMs` (30 s).
 */

import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Service } from 'kubernetes-types/core/v1.js';
import { defaultLogger, Informer, type DynamicClient, type Logger } from '../../client/index.js';
import { execHost, RestoreError, type JumpRule, type ProxyHost } from './host.js';
import { buildCleanup, buildRules, validateChainPrefix, type ServicePortInfo } from './rules.js';

/** Options of {@link startKubeProxy}. */
export interface KubeProxyOptions {
  client: DynamicClient;
  nodeName: string;
  /** This node's addresses (logged; NodePorts answer on every local address via `addrtype LOCAL`, as upstream). */
  nodeIPs: string[];
  /** The pod network (e.g. 10.42.0.0/16): ClusterIP traffic from outside it is masqueraded. */
  clusterCIDR: string;
  /** Chain prefix (default `SKIFF`): chains are `<P>-SERVICES`, `<P>-SVC-…` and so on. */
  chainPrefix?: string;
  /** Minimum time between two syncs (default 500 ms). */
  minSyncIntervalMs?: number;
  /** Period of the full resync (default 30 000 ms). */
  fullSyncIntervalMs?: number;
  /** Answer NodePorts on 127.0.0.1 too (sets `route_localnet=1`, as upstream's default). Default true. */
  localhostNodePorts?: boolean;
  log?: Logger;
  /** The iptables/sysctl/conntrack runner (default: the real binaries); tests pass a fake. */
  host?: ProxyHost;
}

/** A running proxy. */
export interface KubeProxy {
  /** Stops watching and syncing; the rules stay (as when kube-proxy exits). */
  stop(): Promise<void>;
  /** Runs a full sync now (after any in-flight one); rejects when it fails. */
  syncNow(): Promise<void>;
  /** Stops, then removes every chain and jump this proxy created (`kube-proxy --cleanup`). */
  cleanup(): Promise<void>;
}

/** The jumps from built-in chains into the prefix's chains (upstream `iptablesJumpChains`). */
export function jumpRules(p: string): JumpRule[] {
  const portals = ['-m', 'comment', '--comment', 'skiff service portals', '-j', `${p}-SERVICES`];
  const newPortals = ['-m', 'conntrack', '--ctstate', 'NEW', ...portals];
  return [
    { table: 'nat', chain: 'PREROUTING', args: portals },
    { table: 'nat', chain: 'OUTPUT', args: portals },
    { table: 'nat', chain: 'POSTROUTING', args: ['-m', 'comment', '--comment', 'skiff postrouting rules', '-j', `${p}-POSTROUTING`] },
    { table: 'filter', chain: 'INPUT', args: newPortals },
    { table: 'filter', chain: 'FORWARD', args: newPortals },
    { table: 'filter', chain: 'OUTPUT', args: newPortals },
    { table: 'filter', chain: 'FORWARD', args: ['-m', 'comment', '--comment', 'skiff forwarding rules', '-j', `${p}-FORWARD`] },
    { table: 'filter', chain: 'INPUT', args: ['-j', `${p}-FIREWALL`] },
    { table: 'filter', chain: 'OUTPUT', args: ['-j', `${p}-FIREWALL`] },
  ];
}

/** Names of the chains in an `iptables-save` dump that start with `<p>-`. */
function chainsIn(dump: string, p: string): string[] {
  const out: string[] = [];
  for (const line of dump.split('\n')) if (line.startsWith(`:${p}-`)) out.push(line.slice(1).split(' ')[0]);
  return out;
}

/**
 * Removes every `<prefix>-` chain and the jumps into them, whether or not a proxy is running in this process (the
 * `kube-proxy --cleanup` flag). Jumps go first, so the chains are unreferenced when the restore deletes them.
 */
export async function cleanupKubeProxy(o: { chainPrefix?: string; host?: ProxyHost; log?: Logger } = {}): Promise<void> {
  const p = o.chainPrefix ?? 'SKIFF';
  validateChainPrefix(p);
  const host = o.host ?? execHost();
  for (const r of jumpRules(p)) await host.deleteRule(r);
  const nat = chainsIn(await host.save('nat'), p);
  const filter = chainsIn(await host.save('filter'), p);
  const payload = buildCleanup(nat, filter);
  if (payload) await host.restore(payload);
  o.log?.info({ chainPrefix: p, nat: nat.length, filter: filter.length }, 'CLEANUP removed proxy chains');
}

/** Starts the proxy; resolves after both informers synced and the first full sync was applied. */
export async function startKubeProxy(o: KubeProxyOptions): Promise<KubeProxy> {
  const P = o.chainPrefix ?? 'SKIFF';
  validateChainPrefix(P);
  const log = o.log ?? defaultLogger('kube-proxy');
  const host = o.host ?? execHost();
  const minInterval = o.minSyncIntervalMs ?? 500;
  const fullInterval = o.fullSyncIntervalMs ?? 30_000;

  for (const [key, value] of [
    ['net.ipv4.ip_forward', '1'],
    ...(o.localhostNodePorts === false ? [] : [['net.ipv4.conf.all.route_localnet', '1']]),
    // Bridged pod→pod traffic to a ClusterIP only meets the nat table with br_netfilter's hook enabled.
    ['net.bridge.bridge-nf-call-iptables', '1'],
  ] as const) {
    if (!(await host.setSysctl(key, value))) log.info({ key }, 'SYSCTL not present; skipped (is br_netfilter loaded?)');
  }

  const services = new Informer<Service>(o.client.resource<Service>('v1', 'Service'), { logger: log });
  const slices = new Informer<EndpointSlice>(o.client.resource<EndpointSlice>('discovery.k8s.io/v1', 'EndpointSlice'), { logger: log });

  let stopped = false;
  /** False until both caches are filled: the initial list events must not trigger partial syncs. */
  let primed = false;
  let timer: NodeJS.Timeout | undefined;
  let lastSyncAt = 0;
  let wantFull = true;
  let lastNat: string[] | undefined;
  let lastFilter: string[] | undefined;
  let lastPorts: ServicePortInfo[] = [];
  let queue: Promise<void> = Promise.resolve();
  let conntrackMissingLogged = false;

  const exclusive = (fn: () => Promise<void>): Promise<void> => {
    const p = queue.then(fn);
    queue = p.catch(() => undefined);
    return p;
  };

  async function syncOnce(full: boolean): Promise<void> {
    lastSyncAt = Date.now();
    const started = performance.now();
    if (full || !lastNat || !lastFilter) {
      lastNat = chainsIn(await host.save('nat'), P);
      lastFilter = chainsIn(await host.save('filter'), P);
    }
    const built = buildRules({
      chainPrefix: P, clusterCIDR: o.clusterCIDR, nodeName: o.nodeName,
      services: services.lister.list(), endpointSlices: slices.lister.list(),
      existingNatChains: lastNat, existingFilterChains: lastFilter,
    });
    try {
      await host.restore(built.payload);
    } catch (err) {
      lastNat = undefined; // unknown host state: re-read it next time
      if (err instanceof RestoreError) log.error({ err, line: err.line, lineNumber: err.lineNumber }, 'SYNC iptables-restore failed');
      throw err;
    }
    lastNat = built.natChains;
    lastFilter = built.filterChains;
    if (full) {
      for (const r of jumpRules(P).reverse()) {
        if (await host.ensureRule(r)) log.info({ table: r.table, chain: r.chain, target: r.args.at(-1) }, 'SYNC installed jump');
      }
    }
    const prev = lastPorts;
    lastPorts = built.ports;
    await clearStaleUdp(prev, built.ports);
    log.debug({ full, ports: built.ports.length, ms: Math.round(performance.now() - started) }, 'SYNC applied rules');
  }

  /** Upstream's conntrack cleanup: UDP flows pinned to removed endpoints, or to a REJECT that now has endpoints. */
  async function clearStaleUdp(prev: ServicePortInfo[], next: ServicePortInfo[]): Promise<void> {
    const nextBy = new Map(next.map((sp) => [`${sp.name}/${sp.protocol}`, sp]));
    const cmds: string[][] = [];
    for (const old of prev) {
      if (old.protocol !== 'UDP') continue;
      const cur = nextBy.get(`${old.name}/${old.protocol}`);
      const keep = new Set(cur?.endpoints.map((e) => e.key));
      for (const ep of old.endpoints) {
        if (keep.has(ep.key)) continue;
        for (const ip of [old.clusterIP, ...old.externalIPs]) cmds.push(['-D', '-p', 'udp', '--orig-dst', ip, '--dst-nat', ep.ip]);
        if (old.nodePort) cmds.push(['-D', '-p', 'udp', '--dport', String(old.nodePort), '--dst-nat', ep.ip]);
      }
    }
    const prevBy = new Map(prev.map((sp) => [`${sp.name}/${sp.protocol}`, sp]));
    for (const sp of next) {
      if (sp.protocol !== 'UDP' || sp.endpoints.length === 0) continue;
      const old = prevBy.get(`${sp.name}/${sp.protocol}`);
      if (old && old.endpoints.length === 0) cmds.push(['-D', '-p', 'udp', '--orig-dst', sp.clusterIP, '--orig-port-dst', String(sp.port)]);
    }
    for (const args of cmds) {
      try {
        if (!(await host.conntrack(args))) {
          if (!conntrackMissingLogged) log.warn({}, 'CONNTRACK binary not installed; stale UDP flows are not flushed');
          conntrackMissingLogged = true;
          return;
        }
      } catch (err) {
        log.warn({ err }, 'CONNTRACK flush failed');
      }
    }
  }

  const runScheduled = () => {
    timer = undefined;
    const full = wantFull;
    wantFull = false;
    exclusive(() => syncOnce(full)).catch((err) => {
      if (!(err instanceof RestoreError)) log.error({ err }, 'SYNC failed');
      wantFull = true;
      schedule(Math.max(minInterval, 1000));
    });
  };
  /** Coalesces changes: sync now after a quiet period, else once `minInterval` after the last sync began. */
  function schedule(atLeastMs = 0): void {
    if (stopped || timer || !primed) return;
    timer = setTimeout(runScheduled, Math.max(atLeastMs, lastSyncAt + minInterval - Date.now(), 0));
  }
  const onChange = { onAdd: () => schedule(), onUpdate: () => schedule(), onDelete: () => schedule() };

  services.addEventHandler(onChange);
  slices.addEventHandler(onChange);
  services.start();
  slices.start();
  const fullTimer = setInterval(() => {
    wantFull = true;
    schedule();
  }, fullInterval);
  fullTimer.unref();

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    clearInterval(fullTimer);
    if (timer) clearTimeout(timer);
    timer = undefined;
    await Promise.all([services.stop(), slices.stop()]);
    await queue;
  };

  try {
    if (!(await services.waitForSync()) || !(await slices.waitForSync())) throw new Error('kube-proxy: informers stopped before syncing');
    primed = true;
    wantFull = false;
    await exclusive(() => syncOnce(true));
  } catch (err) {
    await stop();
    throw err;
  }
  log.info({ nodeName: o.nodeName, nodeIPs: o.nodeIPs, clusterCIDR: o.clusterCIDR, chainPrefix: P }, 'START kube-proxy (iptables mode)');

  return {
    stop,
    syncNow: () => exclusive(() => syncOnce(true)),
    async cleanup() {
      await stop();
      await cleanupKubeProxy({ chainPrefix: P, host, log });
    },
  };
}
