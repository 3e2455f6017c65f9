/**
 * The node half of the pod network (what flannel's host-gw backend plus k3s's agent do around the CNI bridge):
 *
 *  - kernel settings: `net.ipv4.ip_forward=1`, and `br_netfilter` with `net.bridge.bridge-nf-call-iptables=1` so
 *    Service rules (kube-proxy) also see traffic between pods on the same bridge;
 *  - masquerade of pod traffic that leaves the cluster CIDR (nat chain `SKNET-MASQ-<BRIDGE>` from POSTROUTING) and
 *    forwarding of cluster traffic (filter chain `SKNET-FWD-<BRIDGE>` from FORWARD), in case the FORWARD policy drops;
 *  - host-gateway routes: for every other Node with a podCIDR, `ip route replace <podCIDR> via <its InternalIP>`
 *    (skipped when the node shares this host's IP — several agents on one machine reach each other's bridges
 *    directly); routes of deleted nodes are removed. The routes it installed are recorded in `<dataDir>/routes.json`
 *    so a restarted agent or {@link cleanupNodeNetwork} can remove them;
 *  - this node's `spec.podCIDR` from the same Node informer (the agent waits for it before starting pods), and the
 *    Node condition `NetworkUnavailable=False` once the network is ready (upstream's route controller sets it).
 *
 * Everything is named after the bridge, so several agents (or test instances) with different bridges coexist.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Node } from 'kubernetes-types/core/v1.js';
import type { DynamicClient } from '../../client/dynamic.js';
import { Informer } from '../../client/informer.js';
import type { Logger } from '../../client/log.js';
import { rfc3339 } from '../../api/time.js';
import { cidrWithin, parseCidr } from '../../api/cidr.js';
import { runCommand } from '../../util/exec.js';

/** Runs a command and returns its stdout; rejects with an `ExecError` (see `util/exec.ts`). */
async function run(cmd: string, args: string[]): Promise<string> {
  return (await runCommand(cmd, args)).stdout;
}

/** iptables chain names for a bridge (≤ 28 characters). */
export function chainNames(bridgeName: string): { masq: string; fwd: string } {
  const tag = bridgeName.toUpperCase().replace(/[^A-Z0-9]/g, '_').slice(0, 15);
  // Not `SKIFF-…`: that prefix belongs to the Service proxy, which deletes the `SKIFF-` chains it does not know.
  return { masq: `SKNET-MASQ-${tag}`, fwd: `SKNET-FWD-${tag}` };
}

/** A host-gw route. */
export interface PodRoute {
  dst: string;
  via: string;
  node: string;
}

function internalIP(n: Node): string | undefined {
  return n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
}

/** The routes this node wants: every other node's podCIDR via its InternalIP (see the module comment). */
export function desiredRoutes(nodes: Node[], self: { nodeName: string; nodeIP: string; clusterCIDR?: string }): PodRoute[] {
  const cluster = self.clusterCIDR ? parseCidr(self.clusterCIDR) : undefined;
  const out: PodRoute[] = [];
  for (const n of nodes) {
    const name = n.metadata?.name;
    const dst = n.spec?.podCIDR;
    const via = internalIP(n);
    if (!name || name === self.nodeName || !dst || !via || via === self.nodeIP || via.includes(':')) continue;
    if (cluster) {
      try {
        if (!cidrWithin(cluster, parseCidr(dst))) continue;
      } catch {
        continue;
      }
    }
    out.push({ dst, via, node: name });
  }
  return out.sort((a, b) => a.dst.localeCompare(b.dst));
}

/** The masquerade/forward rules for a cluster CIDR (iptables-restore-free, one rule per array). */
export function iptablesRules(bridgeName: string, clusterCIDR: string): { nat: string[][]; filter: string[][]; natJump: string[]; filterJump: string[] } {
  const { masq, fwd } = chainNames(bridgeName);
  const comment = ['-m', 'comment', '--comment', `skiff pod network ${bridgeName}`];
  return {
    natJump: ['POSTROUTING', '-s', clusterCIDR, ...comment, '-j', masq],
    filterJump: ['FORWARD', ...comment, '-j', fwd],
    nat: [
      ['-d', clusterCIDR, '-j', 'RETURN'],
      ['-d', '224.0.0.0/4', '-j', 'RETURN'],
      ['-j', 'MASQUERADE', '--random-fully'],
    ],
    filter: [
      ['-s', clusterCIDR, '-j', 'ACCEPT'],
      ['-d', clusterCIDR, '-j', 'ACCEPT'],
    ],
  };
}

async function ensureChain(table: string, chain: string, rules: string[][], jump: string[], insert: boolean): Promise<void> {
  await runCommand('iptables', ['-w', '-t', table, '-N', chain], { okCodes: [1] }); // 1: exists already
  await run('iptables', ['-w', '-t', table, '-F', chain]);
  for (const r of rules) await run('iptables', ['-w', '-t', table, '-A', chain, ...r]);
  const [base, ...rest] = jump;
  const exists = (await runCommand('iptables', ['-w', '-t', table, '-C', base!, ...rest], { okCodes: [1] })).code === 0;
  if (!exists) await run('iptables', ['-w', '-t', table, insert ? '-I' : '-A', base!, ...(insert ? ['1'] : []), ...rest]);
}

function writeSysctl(key: string, value: string): boolean {
  try {
    writeFileSync(`/proc/sys/${key.replace(/\./g, '/')}`, value);
    return true;
  } catch {
    return false;
  }
}

export interface NodeNetworkOptions {
  client: DynamicClient;
  nodeName: string;
  /** This node's InternalIP. */
  nodeIP: string;
  /** Default skiff0. */
  bridgeName?: string;
  /** Default 10.42.0.0/16. */
  clusterCIDR?: string;
  /** Network state directory (`<agent dataDir>/network`). */
  dataDir: string;
  log: Logger;
  /** Called whenever this node's podCIDR becomes known (or changes). */
  onPodCIDR?(cidr: string): void;
}

/** See the module comment. */
export class NodeNetwork {
  readonly bridgeName: string;
  readonly clusterCIDR: string;
  podCIDR?: string;
  private readonly informer: Informer<Node>;
  private readonly routesFile: string;
  private installed: PodRoute[] = [];
  private syncing?: Promise<void>;
  private again = false;
  private stopped = false;
  private cidrWaiters: Array<(c: string) => void> = [];

  constructor(private readonly o: NodeNetworkOptions) {
    this.bridgeName = o.bridgeName ?? 'skiff0';
    this.clusterCIDR = o.clusterCIDR ?? '10.42.0.0/16';
    parseCidr(this.clusterCIDR);
    mkdirSync(o.dataDir, { recursive: true, mode: 0o700 });
    this.routesFile = join(o.dataDir, 'routes.json');
    this.installed = readRoutes(this.routesFile);
    this.informer = new Informer<Node>(o.client.resource<Node>('v1', 'Node'), { logger: o.log });
  }

  /** Kernel settings and iptables rules, then the Node informer (routes, podCIDR). */
  async start(): Promise<void> {
    if (!writeSysctl('net.ipv4.ip_forward', '1')) this.o.log.warn({}, 'cannot enable net.ipv4.ip_forward; pods cannot reach other nodes');
    await run('modprobe', ['br_netfilter']).catch(() => {});
    if (!writeSysctl('net.bridge.bridge-nf-call-iptables', '1')) {
      this.o.log.warn({}, 'br_netfilter unavailable: Service traffic between pods on the same node may not be NATed back');
    }
    const r = iptablesRules(this.bridgeName, this.clusterCIDR);
    const { masq, fwd } = chainNames(this.bridgeName);
    try {
      await ensureChain('nat', masq, r.nat, r.natJump, false);
      await ensureChain('filter', fwd, r.filter, r.filterJump, true);
    } catch (err) {
      this.o.log.error({ err: String(err) }, 'cannot install pod masquerade/forward rules; pods may not reach outside the cluster');
    }
    this.informer.addEventHandler({
      onAdd: () => this.resync(),
      onUpdate: () => this.resync(),
      onDelete: () => this.resync(),
    });
    this.informer.start();
    await this.informer.waitForSync();
    this.resync();
  }

  private resync(): void {
    const self = this.informer.lister.get(undefined, this.o.nodeName);
    const cidr = self?.spec?.podCIDR;
    if (cidr && cidr !== this.podCIDR) {
      if (this.podCIDR) this.o.log.warn({ old: this.podCIDR, podCIDR: cidr }, 'node podCIDR changed');
      this.podCIDR = cidr;
      this.o.log.info({ podCIDR: cidr, bridge: this.bridgeName }, 'node podCIDR known');
      this.o.onPodCIDR?.(cidr);
      for (const w of this.cidrWaiters.splice(0)) w(cidr);
    }
    if (this.syncing) {
      this.again = true;
      return;
    }
    this.syncing = (async () => {
      do {
        this.again = false;
        try {
          await this.syncRoutes();
        } catch (err) {
          this.o.log.error({ err: String(err) }, 'syncing pod routes failed');
        }
      } while (this.again && !this.stopped);
    })().finally(() => (this.syncing = undefined));
  }

  private async syncRoutes(): Promise<void> {
    if (this.stopped) return;
    const want = desiredRoutes(this.informer.lister.list(), { nodeName: this.o.nodeName, nodeIP: this.o.nodeIP, clusterCIDR: this.clusterCIDR });
    const key = (r: PodRoute) => `${r.dst} ${r.via}`;
    const wantKeys = new Set(want.map(key));
    const next: PodRoute[] = [];
    for (const r of this.installed) {
      if (wantKeys.has(key(r))) continue;
      await run('ip', ['route', 'del', r.dst, 'via', r.via]).catch((err) => this.o.log.warn({ err: String(err) }, 'removing pod route failed'));
      this.o.log.info({ dst: r.dst, via: r.via, node: r.node }, 'removed pod route');
    }
    const had = new Set(this.installed.map(key));
    for (const r of want) {
      try {
        await run('ip', ['route', 'replace', r.dst, 'via', r.via]);
        if (!had.has(key(r))) this.o.log.info({ dst: r.dst, via: r.via, node: r.node }, 'added pod route');
        next.push(r);
      } catch (err) {
        this.o.log.error({ err: String(err), node: r.node }, 'adding pod route failed');
      }
    }
    this.installed = next;
    writeRoutes(this.routesFile, next);
  }

  /** This node's podCIDR once the IPAM controller assigned it; undefined after `timeoutMs`. */
  waitForPodCIDR(timeoutMs: number): Promise<string | undefined> {
    if (this.podCIDR) return Promise.resolve(this.podCIDR);
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.cidrWaiters = this.cidrWaiters.filter((w) => w !== done);
        resolve(undefined);
      }, timeoutMs);
      const done = (c: string) => {
        clearTimeout(t);
        resolve(c);
      };
      this.cidrWaiters.push(done);
    });
  }

  /** Sets NetworkUnavailable=False on the Node (strategic merge on conditions by type, as the route controller). */
  async markNetworkReady(): Promise<void> {
    const now = rfc3339();
    await this.o.client.resource<Node>('v1', 'Node').patch(undefined, this.o.nodeName, 'strategic', {
      status: { conditions: [{ type: 'NetworkUnavailable', status: 'False', reason: 'RouteCreated', message: 'Skiff host-gw network is up', lastHeartbeatTime: now, lastTransitionTime: now }] },
    }, { subresource: 'status' });
  }

  /** Stops watching; routes and rules stay (pods keep their network across an agent restart). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.informer.stop();
    await this.syncing;
  }
}

function readRoutes(file: string): PodRoute[] {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as PodRoute[];
  } catch {
    return [];
  }
}

function writeRoutes(file: string, routes: PodRoute[]): void {
  writeFileSync(`${file}.tmp`, JSON.stringify(routes));
  renameSync(`${file}.tmp`, file);
}

/**
 * Removes what the node network and the CNI plugins created for `bridgeName`: the host-gw routes recorded in
 * `<dataDir>/routes.json`, the masquerade/forward chains, the bridge, and the network state directory (`dataDir`,
 * i.e. `<agent dataDir>/network`, with host-local's reservations). For tests and node decommissioning; pods must be
 * gone first. Sysctls are left as they are.
 */
export async function cleanupNodeNetwork(o: { bridgeName: string; dataDir: string; clusterCIDR?: string; log?: Logger }): Promise<void> {
  for (const r of readRoutes(join(o.dataDir, 'routes.json'))) await run('ip', ['route', 'del', r.dst, 'via', r.via]).catch(() => {});
  const { masq, fwd } = chainNames(o.bridgeName);
  // The jump rules are found by their target (whatever CIDR they were made with), then the chains go.
  for (const [table, chain, base] of [['nat', masq, 'POSTROUTING'], ['filter', fwd, 'FORWARD']] as const) {
    const rules = await run('iptables', ['-w', '-t', table, '-S', base]).catch(() => '');
    for (const line of rules.split('\n')) {
      if (!line.startsWith(`-A ${base} `) || !line.endsWith(`-j ${chain}`)) continue;
      const args = splitRule(line.slice(3));
      await run('iptables', ['-w', '-t', table, '-D', ...args]).catch(() => {});
    }
    await run('iptables', ['-w', '-t', table, '-F', chain]).catch(() => {});
    await run('iptables', ['-w', '-t', table, '-X', chain]).catch(() => {});
  }
  await run('ip', ['link', 'del', o.bridgeName]).catch(() => {});
  rmSync(o.dataDir, { recursive: true, force: true });
}

/** Splits an `iptables -S` line into arguments (double-quoted comments kept whole). */
function splitRule(s: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s))) out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]!);
  return out;
}

/**
 * Creates the node bridge with the pod CIDR's gateway address (`<first IP>/<prefix>`) and brings it up, if it is not
 * there yet — what the CNI bridge plugin (`isGateway`) does at the first pod's ADD. Done at agent start so that the
 * node's cluster DNS server can listen on the gateway before any pod exists. Idempotent.
 */
export async function ensureBridge(bridgeName: string, gatewayCidr: string): Promise<void> {
  const exists = await run('ip', ['link', 'show', bridgeName]).then(() => true, () => false);
  if (!exists) await run('ip', ['link', 'add', bridgeName, 'type', 'bridge']).catch((e) => { if (!/exists/i.test(String(e))) throw e; });
  const addrs = await run('ip', ['-o', '-4', 'addr', 'show', 'dev', bridgeName]);
  if (!addrs.includes(` ${gatewayCidr} `)) {
    // A concurrent first CNI ADD (isGateway) may have assigned it meanwhile: "File exists" or, with newer iproute2,
    // "Address already assigned".
    await run('ip', ['addr', 'add', gatewayCidr, 'dev', bridgeName]).catch((e) => { if (!/exists|already assigned/i.test(String(e))) throw e; });
  }
  await run('ip', ['link', 'set', bridgeName, 'up']);
}
