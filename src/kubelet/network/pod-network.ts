/**
 * The pod network the process runtime calls for every sandbox with its own network namespace (the CRI runtime's
 * `setupPodNetwork`/`teardownPodNetwork` in containerd): the CNI `loopback` plugin, then the node's bridge list
 * (`bridge` + `host-local` over the node's podCIDR + `portmap`), run against `/proc/<infra pid>/ns/net`.
 *
 * State lives under `dataDir` (the agent's `<dataDir>/network`): host-local's reservations in `ipam/` and, per
 * sandbox, the ADD result with the configuration used (libcni's result cache) in `results/<sandbox>.json`, so a new
 * agent process tears down what an old one set up and addresses survive restarts. Teardown is idempotent and works
 * with a dead namespace (the IP reservation is released; the veth went with the namespace).
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../client/log.js';
import type { PortMapping } from '../runtime/types.js';
import { CniInvoker, bridgeConfList, loopbackConfList, type CniConfList, type CniResult, type CniRuntimeConf } from './cni.js';

/** What the runtime tells the network about a sandbox. */
export interface PodNetworkMeta {
  name: string;
  namespace: string;
  uid: string;
  portMappings?: PortMapping[];
}

/** The runtime's pod network hook. */
export interface PodNetwork {
  /** Attaches the sandbox's network namespace; resolves the pod IP. */
  setup(sandboxId: string, netnsPath: string, meta: PodNetworkMeta): Promise<{ ip: string }>;
  /** Detaches it and releases its IP; idempotent; `netnsPath` may be gone (or '' when unknown). */
  teardown(sandboxId: string, netnsPath?: string): Promise<void>;
  /** Whether setup can run now (e.g. the node has a podCIDR); absent: always. */
  ready?(): boolean;
}

/** Default CNI plugin directory of Debian's containernetworking-plugins. */
export const DEFAULT_CNI_BIN_DIR = '/usr/lib/cni';

export interface CniPodNetworkOptions {
  /** Network state directory (`<agent dataDir>/network`). */
  dataDir: string;
  /** Node bridge (default skiff0). */
  bridgeName?: string;
  /** The node's podCIDR; may be set later with {@link CniPodNetwork.setPodCIDR}. */
  podCIDR?: string;
  pluginDirs?: string[];
  mtu?: number;
  log?: Logger;
}

interface CachedAttachment {
  lists: CniConfList[];
  rt: CniRuntimeConf;
  result: CniResult;
  ip: string;
}

/** The CNI-backed {@link PodNetwork} (see the module comment). */
export class CniPodNetwork implements PodNetwork {
  readonly cni: CniInvoker;
  readonly bridgeName: string;
  private podCIDR?: string;
  private readonly resultsDir: string;
  private readonly ipamDir: string;

  constructor(private readonly o: CniPodNetworkOptions) {
    this.cni = new CniInvoker(o.pluginDirs ?? [DEFAULT_CNI_BIN_DIR]);
    this.bridgeName = o.bridgeName ?? 'skiff0';
    this.podCIDR = o.podCIDR;
    this.resultsDir = join(o.dataDir, 'results');
    this.ipamDir = join(o.dataDir, 'ipam');
    mkdirSync(this.resultsDir, { recursive: true, mode: 0o700 });
    mkdirSync(this.ipamDir, { recursive: true, mode: 0o700 });
  }

  setPodCIDR(cidr: string): void {
    this.podCIDR = cidr;
  }

  /** Whether setup can run (the node has a podCIDR). */
  ready(): boolean {
    return !!this.podCIDR;
  }

  /** The bridge list for the current podCIDR. */
  confList(portmap = true): CniConfList {
    if (!this.podCIDR) throw new Error('pod network not ready: this node has no spec.podCIDR yet');
    return bridgeConfList({ name: `skiff-${this.bridgeName}`, bridge: this.bridgeName, subnet: this.podCIDR, ipamDataDir: this.ipamDir, mtu: this.o.mtu, portmap });
  }

  private cachePath(sandboxId: string): string {
    if (!/^[A-Za-z0-9_.-]+$/.test(sandboxId)) throw new Error(`invalid sandbox id ${JSON.stringify(sandboxId)}`);
    return join(this.resultsDir, `${sandboxId}.json`);
  }

  async setup(sandboxId: string, netnsPath: string, meta: PodNetworkMeta): Promise<{ ip: string }> {
    const portMappings = (meta.portMappings ?? [])
      .filter((p) => p.hostPort && p.hostPort > 0)
      .map((p) => ({ hostPort: p.hostPort, containerPort: p.containerPort, protocol: (p.protocol ?? 'TCP').toLowerCase(), ...(p.hostIp ? { hostIP: p.hostIp } : {}) }));
    // portmap only runs for pods with hostPorts (it is a no-op otherwise, at the cost of one more plugin exec).
    const lists = [loopbackConfList(), this.confList(portMappings.length > 0)];
    const rt: CniRuntimeConf = {
      containerId: sandboxId,
      netns: netnsPath,
      ifName: 'eth0',
      // A pooled sandbox (process runtime) is attached before its pod is known: no K8S_POD_* then.
      args: meta.name
        ? { K8S_POD_NAMESPACE: meta.namespace, K8S_POD_NAME: meta.name, K8S_POD_INFRA_CONTAINER_ID: sandboxId, K8S_POD_UID: meta.uid }
        : { K8S_POD_INFRA_CONTAINER_ID: sandboxId },
      ...(portMappings.length ? { capabilityArgs: { portMappings } } : {}),
    };
    // No `loopback` plugin run: the sandbox's infra process brings `lo` up itself when it creates the namespace.
    const result = await this.cni.addNetworkList(lists[1]!, rt);
    const ip = result.ips?.find((x) => !x.address.includes(':'))?.address.split('/')[0];
    if (!ip) {
      await this.cni.delNetworkList(lists[1]!, rt, result).catch(() => {});
      throw new Error(`CNI ADD for sandbox ${sandboxId} returned no IPv4 address: ${JSON.stringify(result)}`);
    }
    const rec: CachedAttachment = { lists, rt, result, ip };
    const p = this.cachePath(sandboxId);
    // Written in place (no tmp + rename: one inode and one directory operation less per pod): a file torn by a
    // kill does not parse, and teardown then falls back to a DEL by container id, as for a missing one.
    writeFileSync(p, JSON.stringify(rec));
    this.o.log?.debug({ sandbox: sandboxId, ip, pod: `${meta.namespace}/${meta.name}` }, 'pod network set up');
    return { ip };
  }

  async teardown(sandboxId: string, netnsPath = ''): Promise<void> {
    const p = this.cachePath(sandboxId);
    let rec: CachedAttachment | undefined;
    try {
      rec = JSON.parse(readFileSync(p, 'utf8')) as CachedAttachment;
    } catch {
      rec = undefined;
    }
    const netns = netnsPath && existsSync(netnsPath) ? netnsPath : '';
    if (rec) {
      // The pod network only: `lo` is the namespace's own (brought up by the infra process, gone with it), so no
      // loopback plugin DEL (it would only set `lo` down: one Go plugin exec per pod for nothing), as CRI-O does.
      await this.cni.delNetworkList(rec.lists[1]!, { ...rec.rt, netns }, rec.result);
    } else if (this.podCIDR) {
      // No cached result (a crash between ADD and the cache write): DEL by container id still frees the address.
      await this.cni.delNetworkList(this.confList(), { containerId: sandboxId, netns, ifName: 'eth0' });
    }
    rmSync(p, { force: true });
  }
}
