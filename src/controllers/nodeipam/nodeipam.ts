/**
 * The node IPAM controller (upstream `pkg/controller/nodeipam` with the RangeAllocator): every Node gets one subnet
 * (`/24` by default, `--node-cidr-mask-size`) of the cluster CIDR (`--cluster-cidr`, default 10.42.0.0/16 as k3s) in
 * `spec.podCIDR` and `spec.podCIDRs`. The node agent hands pod IPs out of it (host-local IPAM) and routes to other
 * nodes' subnets through their node IPs.
 *
 * As upstream's allocator, the set of used subnets lives in memory and is rebuilt ("repaired") from the Nodes that
 * already carry a podCIDR before the first allocation, so restarts and leader changes never hand a subnet out twice;
 * a subnet is released when its Node is deleted. A Node's podCIDR is never changed once set (the field is
 * immutable upstream); one outside the cluster CIDR is left alone and logged. When the range is full the Node gets
 * a `CIDRNotAvailable` event and is retried.
 */
import type { Node } from 'kubernetes-types/core/v1.js';
import { controllerFor } from '../../client/controller.js';
import { isNotFound } from '../../client/rest.js';
import type { ControllerContext, ControllerDefinition, Runnable } from '../types.js';
import { formatCidr, parseCidr, subnetAt, subnetIndex, type Cidr4 } from '../../api/cidr.js';

export const NAME = 'nodeipam';
export const DEFAULT_CLUSTER_CIDR = '10.42.0.0/16';
export const DEFAULT_NODE_MASK_SIZE = 24;

export interface NodeIpamOptions {
  /** The pod network of the whole cluster (default 10.42.0.0/16). */
  clusterCIDR?: string;
  /** Prefix length of each node's subnet (default 24). */
  nodeMaskSize?: number;
}

/**
 * The subnet bitmap (upstream `cidrset.CidrSet`): `occupy` marks a subnet used, `allocateNext` takes the next free one
 * after the last allocation (round-robin, as upstream, so a just-released subnet is not reused at once).
 */
export class CidrSet {
  readonly cluster: Cidr4;
  readonly size: number;
  private readonly used = new Set<number>();
  private next = 0;

  constructor(
    clusterCIDR: string,
    readonly nodeMaskSize: number,
  ) {
    this.cluster = parseCidr(clusterCIDR);
    if (!Number.isInteger(nodeMaskSize) || nodeMaskSize < this.cluster.prefix || nodeMaskSize > 30) {
      throw new Error(`node CIDR mask size ${nodeMaskSize} does not fit the cluster CIDR ${clusterCIDR}`);
    }
    if (nodeMaskSize - this.cluster.prefix > 16) throw new Error(`cluster CIDR ${clusterCIDR} has too many /${nodeMaskSize} subnets (max 65536)`);
    this.size = 2 ** (nodeMaskSize - this.cluster.prefix);
  }

  /** Index of `cidr` in this set, or undefined when it is not one of its subnets. */
  indexOf(cidr: string): number | undefined {
    try {
      return subnetIndex(this.cluster, parseCidr(cidr), this.nodeMaskSize);
    } catch {
      return undefined;
    }
  }

  occupy(cidr: string): boolean {
    const i = this.indexOf(cidr);
    if (i === undefined) return false;
    this.used.add(i);
    return true;
  }

  release(cidr: string): void {
    const i = this.indexOf(cidr);
    if (i !== undefined) this.used.delete(i);
  }

  isUsed(cidr: string): boolean {
    const i = this.indexOf(cidr);
    return i !== undefined && this.used.has(i);
  }

  /** The next free subnet, marked used; undefined when the range is exhausted. */
  allocateNext(): string | undefined {
    for (let k = 0; k < this.size; k++) {
      const i = (this.next + k) % this.size;
      if (!this.used.has(i)) {
        this.used.add(i);
        this.next = (i + 1) % this.size;
        return formatCidr(subnetAt(this.cluster, this.nodeMaskSize, i));
      }
    }
    return undefined;
  }

  get usedCount(): number {
    return this.used.size;
  }
}

/** Builds the controller (see the module comment). */
export function newNodeIpamController(ctx: ControllerContext, o: NodeIpamOptions = {}): Runnable {
  const clusterCIDR = o.clusterCIDR ?? ctx.config.clusterCIDR ?? DEFAULT_CLUSTER_CIDR;
  const set = new CidrSet(clusterCIDR, o.nodeMaskSize ?? DEFAULT_NODE_MASK_SIZE);
  const log = ctx.logger('node-ipam-controller');
  const nodes = ctx.informers.for<Node>('v1', 'Node');
  const nodeClient = ctx.client.resource<Node>('v1', 'Node');
  const recorder = ctx.recorder('cidrAllocator');
  /** Node name → the subnet this controller knows it holds (what is released on delete). */
  const owned = new Map<string, string>();
  let repaired = false;

  const podCidrOf = (n: Node | undefined) => n?.spec?.podCIDR ?? n?.spec?.podCIDRs?.[0];
  const adopt = (name: string, cidr: string) => {
    const prev = owned.get(name);
    if (prev === cidr) return;
    const other = [...owned.entries()].find(([n, c]) => n !== name && c === cidr)?.[0];
    if (other) {
      log.error({ node: name, other, podCIDR: cidr }, 'two nodes carry the same podCIDR; fix one of them by hand');
      return;
    }
    if (prev) set.release(prev);
    owned.delete(name);
    if (set.occupy(cidr)) owned.set(name, cidr);
    else log.warn({ node: name, podCIDR: cidr, clusterCIDR }, 'node podCIDR is not a subnet of the cluster CIDR; leaving it alone');
  };

  /** Upstream's occupyCIDRs over all existing nodes, done once before any allocation. */
  const repair = () => {
    if (repaired) return;
    for (const n of nodes.lister.list()) {
      const c = podCidrOf(n);
      if (c) adopt(n.metadata!.name!, c);
    }
    repaired = true;
    log.info({ clusterCIDR, nodeMaskSize: set.nodeMaskSize, used: set.usedCount }, 'node IPAM ready');
  };

  return controllerFor(nodes, { name: NAME, workers: 1, logger: log, clock: ctx.clock }).complete({
    async reconcile({ name }) {
      repair();
      const node = nodes.lister.get(undefined, name);
      if (!node || node.metadata?.deletionTimestamp) {
        const c = owned.get(name);
        if (c && !node) {
          set.release(c);
          owned.delete(name);
          log.info({ node: name, podCIDR: c }, 'released node podCIDR');
        }
        return;
      }
      const have = podCidrOf(node);
      if (have) {
        adopt(name, have);
        return;
      }
      // A subnet we already gave this node (our write not yet in the cache) is reused, never a second one.
      let cidr = owned.get(name);
      if (!cidr) {
        cidr = set.allocateNext();
        if (!cidr) {
          recorder.event({ apiVersion: 'v1', kind: 'Node', metadata: { name, uid: node.metadata?.uid } }, 'Normal', 'CIDRNotAvailable',
            `Node ${name} status is now: CIDRNotAvailable`);
          log.error({ node: name, clusterCIDR }, 'no podCIDR left in the cluster CIDR');
          return { requeueAfter: 30_000 };
        }
        owned.set(name, cidr);
      }
      try {
        await nodeClient.patch(undefined, name, 'merge', { spec: { podCIDR: cidr, podCIDRs: [cidr] } });
        log.info({ node: name, podCIDR: cidr }, 'allocated node podCIDR');
      } catch (err) {
        if (isNotFound(err)) {
          set.release(cidr);
          owned.delete(name);
          return;
        }
        throw err;
      }
      return;
    },
  });
}

/** The controller's registration with given options (the server passes `--cluster-cidr`). */
export function nodeIpamDefinition(o: NodeIpamOptions = {}): ControllerDefinition {
  return { name: NAME, setup: (ctx) => newNodeIpamController(ctx, o) };
}
