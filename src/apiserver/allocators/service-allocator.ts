/**
 * The Service registry's allocation logic (upstream `pkg/registry/core/service/storage/alloc.go` and the parts of
 * `storage.go` around it): ClusterIPs from the service CIDR, NodePorts (and `healthCheckNodePort`) from the node
 * port range, allocated when a Service is created, adjusted when its type or ports change, and released when it is
 * deleted. Every change is a transaction: new values are claimed up front and given back (`revert`) when the write
 * fails; values the Service stops using are only freed once the write is stored (`commit`).
 */
import { cause, errors, KObject, StatusCause } from '../../api/errors.js';
import type { Backend } from '../../store/types.js';
import type { StorageHooks, WriteTxn } from '../core.js';
import {
  AllocationOwner, AlreadyAllocatedError, NotInRangeError, RangeAllocator, RangeFullError, nodePortRange, serviceIPRange,
} from './range-allocator.js';
import { sameJson } from '../../util/same-json.js';

/** Where allocation records live: under upstream's `/registry/ranges/` (which holds its bitmaps), one key each. */
export const SERVICE_IP_PREFIX = '/registry/ranges/serviceips/';
export const NODE_PORT_PREFIX = '/registry/ranges/servicenodeports/';

export const DEFAULT_SERVICE_CIDR = '10.43.0.0/16';
export const DEFAULT_NODE_PORT_RANGE = { min: 30000, max: 32767 };

export interface ServiceAllocatorOptions {
  /** `--service-cidr` (default 10.43.0.0/16). */
  serviceCIDR?: string;
  /** `--service-node-port-range` (default 30000-32767). */
  nodePortRange?: { min: number; max: number };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Rec = Record<string, any>;

/** The spec to read and adjust; a malformed one is left as it is (validation answers for it). */
const specOf = (svc: KObject): Rec => (svc.spec && typeof svc.spec === 'object' && !Array.isArray(svc.spec) ? svc.spec : {});
const ports = (spec: Rec): Rec[] => (Array.isArray(spec.ports) ? spec.ports.filter((p: unknown) => p && typeof p === 'object') : []);

/** Upstream `needsClusterIP`: everything but ExternalName has a cluster IP field (possibly "None"). */
export function needsClusterIP(svc: KObject): boolean {
  return specOf(svc).type !== 'ExternalName';
}
/** A real, allocated cluster IP (not headless, not ExternalName). */
function allocatedIP(svc: KObject): string | undefined {
  const spec = specOf(svc);
  if (spec.type === 'ExternalName') return undefined;
  const ip = typeof spec.clusterIP === 'string' ? spec.clusterIP : '';
  return ip && ip !== 'None' ? ip : undefined;
}
/** Upstream `needsNodePort`: NodePort and LoadBalancer services may carry node ports. */
export function needsNodePort(svc: KObject): boolean {
  const t = specOf(svc).type;
  return t === 'NodePort' || t === 'LoadBalancer';
}
/** Upstream `shouldAllocateNodePorts`: NodePort always, LoadBalancer unless allocateLoadBalancerNodePorts=false. */
function shouldAllocateNodePorts(svc: KObject): boolean {
  const spec = specOf(svc);
  if (spec.type === 'NodePort') return true;
  if (spec.type === 'LoadBalancer') return spec.allocateLoadBalancerNodePorts !== false;
  return false;
}
/** Upstream `needsHCNodePort`: LoadBalancer with externalTrafficPolicy Local. */
export function needsHCNodePort(svc: KObject): boolean {
  const spec = specOf(svc);
  return spec.type === 'LoadBalancer' && spec.externalTrafficPolicy === 'Local';
}
/** Every node port number the Service holds (ports and healthCheckNodePort). */
export function nodePortsOf(svc: KObject): number[] {
  const spec = specOf(svc);
  const out = new Set<number>();
  for (const p of ports(spec)) if (Number.isInteger(p.nodePort) && p.nodePort > 0) out.add(p.nodePort);
  if (Number.isInteger(spec.healthCheckNodePort) && spec.healthCheckNodePort > 0) out.add(spec.healthCheckNodePort);
  return [...out];
}

const ownerOf = (svc: KObject): AllocationOwner => ({ namespace: svc.metadata.namespace, name: svc.metadata.name ?? '', uid: svc.metadata.uid ?? '' });

/** Claims and deferred releases of one write (upstream's allocator "operation"/transaction). */
class Txn implements WriteTxn {
  private readonly claimed: Array<[RangeAllocator, string]> = [];
  private readonly deferred: Array<[RangeAllocator, string]> = [];
  constructor(private readonly owner: AllocationOwner, private readonly dryRun: boolean) {}

  async claim(a: RangeAllocator, value: string): Promise<void> {
    await a.allocate(value, this.owner, this.dryRun);
    this.claimed.push([a, value]);
  }
  async claimNext(a: RangeAllocator): Promise<string> {
    const v = await a.allocateNext(this.owner, this.dryRun);
    this.claimed.push([a, v]);
    return v;
  }
  releaseOnCommit(a: RangeAllocator, value: string): void {
    this.deferred.push([a, value]);
  }
  async commit(): Promise<void> {
    if (this.dryRun) return;
    for (const [a, v] of this.deferred) await a.release(v, this.owner);
  }
  async revert(): Promise<void> {
    if (this.dryRun) return;
    for (const [a, v] of this.claimed) await a.release(v, this.owner);
  }
}

export class ServiceAllocators {
  readonly ips: RangeAllocator;
  readonly nodePorts: RangeAllocator;
  readonly serviceCIDR: string;
  readonly portRange: { min: number; max: number };

  constructor(backend: Backend, opts: ServiceAllocatorOptions = {}) {
    this.serviceCIDR = opts.serviceCIDR ?? DEFAULT_SERVICE_CIDR;
    this.portRange = opts.nodePortRange ?? DEFAULT_NODE_PORT_RANGE;
    this.ips = new RangeAllocator(backend, serviceIPRange(this.serviceCIDR, SERVICE_IP_PREFIX));
    this.nodePorts = new RangeAllocator(backend, nodePortRange(this.portRange, NODE_PORT_PREFIX));
  }

  /** The first usable IP of the range: the `kubernetes` service's (upstream `GetIndexedIP(cidr, 1)`). */
  get kubernetesServiceIP(): string {
    return this.ips.spec.format(0);
  }

  /** The hooks to install as `core.storageHooks.set('/services', …)`. */
  hooks(): StorageHooks {
    return {
      beginCreate: (obj, dryRun) => this.beginCreate(obj, dryRun),
      beginUpdate: (next, current, dryRun) => this.beginUpdate(next, current, dryRun),
      afterDelete: (obj) => this.releaseAll(obj),
    };
  }

  /** Allocates everything a new Service needs (upstream `allocateCreate`). */
  async beginCreate(svc: KObject, dryRun: boolean): Promise<WriteTxn> {
    const txn = new Txn(ownerOf(svc), dryRun);
    try {
      normalizeClusterIPs(svc);
      this.checkFamilies(svc);
      await this.allocClusterIP(svc, txn);
      await this.allocNodePorts(svc, [], txn, true);
    } catch (e) {
      await txn.revert();
      throw e;
    }
    return txn;
  }

  /**
   * Adjusts allocations for an update (upstream `beginUpdate`): fields of the old type that the new type cannot
   * have are dropped when the client left them as they were, allocated values the client omitted are copied from
   * the stored Service, then new values are claimed and unused ones released on commit.
   */
  async beginUpdate(next: KObject, current: KObject, dryRun: boolean): Promise<WriteTxn> {
    const txn = new Txn(ownerOf(current), dryRun);
    try {
      dropTypeDependentFields(next, current);
      patchAllocatedValues(next, current);
      normalizeClusterIPs(next);
      const oldIP = allocatedIP(current);
      const newIP = allocatedIP(next);
      if (needsClusterIP(next) && !needsClusterIP(current)) {
        // ExternalName → a type with a cluster IP: allocate as for a create.
        this.checkFamilies(next);
        await this.allocClusterIP(next, txn);
      } else if (oldIP && oldIP !== newIP && (!needsClusterIP(next) || newIP === undefined)) {
        // → ExternalName (or the IP field was cleared, which validation refuses): free it once the write is stored.
        txn.releaseOnCommit(this.ips, oldIP);
      }
      await this.allocNodePorts(next, nodePortsOf(current), txn, false);
    } catch (e) {
      await txn.revert();
      throw e;
    }
    return txn;
  }

  /** Frees the cluster IP and node ports of a deleted Service (only where this Service still holds them). */
  async releaseAll(svc: KObject): Promise<void> {
    const owner = ownerOf(svc);
    const ip = allocatedIP(svc);
    if (ip) await this.ips.release(ip, owner);
    for (const p of nodePortsOf(svc)) await this.nodePorts.release(String(p), owner);
  }

  /** A single-stack IPv4 cluster: dual-stack requirements and IPv6-only families are refused as upstream does. */
  private checkFamilies(svc: KObject): void {
    const spec = specOf(svc);
    if (spec.type === 'ExternalName') return;
    const headlessSelectorless = spec.clusterIP === 'None' && (!spec.selector || Object.keys(spec.selector).length === 0);
    if (headlessSelectorless) return;
    const causes: StatusCause[] = [];
    if (spec.ipFamilyPolicy === 'RequireDualStack') {
      causes.push(cause.invalid('spec.ipFamilyPolicy', 'RequireDualStack', 'this cluster is not configured for dual-stack services'));
    }
    if (Array.isArray(spec.ipFamilies)) {
      spec.ipFamilies.forEach((f: unknown, i: number) => {
        if (f !== 'IPv4') causes.push(cause.invalid(`spec.ipFamilies[${i}]`, f, 'not configured on this cluster'));
      });
    }
    if (Array.isArray(spec.clusterIPs) && spec.clusterIPs.length > 1) {
      causes.push(cause.invalid('spec.clusterIPs', spec.clusterIPs, 'this cluster is not configured for dual-stack services'));
    }
    if (causes.length) throw errors.invalid('Service', '', svc.metadata.name ?? '', causes);
  }

  /** Upstream `allocIPs`: a requested IP must be free and in range (422); a random one may find the range full (500). */
  private async allocClusterIP(svc: KObject, txn: Txn): Promise<void> {
    const spec = specOf(svc);
    if (spec.type === 'ExternalName' || spec.clusterIP === 'None') return;
    if (spec.clusterIP !== undefined && spec.clusterIP !== null && typeof spec.clusterIP !== 'string') return; // validation refuses it
    const requested = typeof spec.clusterIP === 'string' ? spec.clusterIP : '';
    if (requested === '') {
      let ip: string;
      try {
        ip = await txn.claimNext(this.ips);
      } catch (e) {
        if (e instanceof RangeFullError) throw errors.internal(`failed to allocate a serviceIP: ${e.message}`);
        throw e;
      }
      spec.clusterIP = ip;
      spec.clusterIPs = [ip];
      return;
    }
    try {
      await txn.claim(this.ips, requested);
    } catch (e) {
      if (e instanceof AlreadyAllocatedError || e instanceof NotInRangeError) {
        throw errors.invalid('Service', '', svc.metadata.name ?? '', [cause.invalid('spec.clusterIPs', spec.clusterIPs ?? [requested], `failed to allocate IP ${requested}: ${e.message}`)]);
      }
      throw e;
    }
    spec.clusterIPs = [requested];
  }

  /**
   * Upstream `initNodePorts`/`updateNodePorts`/`allocHealthCheckNodePort`: requested node ports are claimed unless
   * the Service already holds them; ports left at 0 get a random one when the type allocates node ports (several
   * service ports with the same port number, e.g. 53/TCP and 53/UDP, share one); values the Service no longer uses
   * are released on commit.
   */
  private async allocNodePorts(svc: KObject, held: number[], txn: Txn, create: boolean): Promise<void> {
    const spec = specOf(svc);
    const holding = new Set(held);
    const claimed = new Set<number>();
    const claim = async (np: number, field: string) => {
      if (holding.has(np) || claimed.has(np)) return;
      try {
        await txn.claim(this.nodePorts, String(np));
      } catch (e) {
        if (e instanceof AlreadyAllocatedError || e instanceof NotInRangeError) {
          throw errors.invalid('Service', '', svc.metadata.name ?? '', [cause.invalid(field, np, e.message)]);
        }
        throw e;
      }
      claimed.add(np);
    };
    const next = async (): Promise<number> => {
      try {
        const v = Number(await txn.claimNext(this.nodePorts));
        claimed.add(v);
        return v;
      } catch (e) {
        if (e instanceof RangeFullError) throw errors.internal(create ? e.message : `failed to allocate a nodePort: ${e.message}`);
        throw e;
      }
    };
    const list = ports(spec);
    const allocate = shouldAllocateNodePorts(svc);
    if (needsNodePort(svc) || list.some((p) => Number.isInteger(p.nodePort) && p.nodePort > 0)) {
      const byPort = new Map<number, number>();
      // Requested values first, so a random pick never takes one a later port asks for.
      for (const [i, p] of list.entries()) {
        if (Number.isInteger(p.nodePort) && p.nodePort > 0) {
          await claim(p.nodePort, `spec.ports[${i}].nodePort`);
          if (!byPort.has(p.port)) byPort.set(p.port, p.nodePort);
        }
      }
      if (allocate) {
        for (const p of list) {
          if (Number.isInteger(p.nodePort) && p.nodePort > 0) continue;
          const shared = create ? byPort.get(p.port) : undefined;
          p.nodePort = shared ?? (await next());
          if (!byPort.has(p.port)) byPort.set(p.port, p.nodePort);
        }
      }
    }
    if (needsHCNodePort(svc)) {
      if (Number.isInteger(spec.healthCheckNodePort) && spec.healthCheckNodePort > 0) await claim(spec.healthCheckNodePort, 'spec.healthCheckNodePort');
      else spec.healthCheckNodePort = await next();
    }
    const now = new Set(nodePortsOf(svc));
    for (const np of held) if (!now.has(np)) txn.releaseOnCommit(this.nodePorts, String(np));
  }
}

/** Upstream `normalizeClusterIPs`: `clusterIP` and `clusterIPs[0]` agree, whichever the client set. */
function normalizeClusterIPs(svc: KObject): void {
  const spec = specOf(svc);
  if (spec.type === 'ExternalName') return;
  const ip = typeof spec.clusterIP === 'string' ? spec.clusterIP : '';
  const ips = Array.isArray(spec.clusterIPs) ? spec.clusterIPs : [];
  if (ip !== '' && ips.length === 0) spec.clusterIPs = [ip];
  else if (ip === '' && ips.length > 0 && typeof ips[0] === 'string') spec.clusterIP = ips[0];
}

/**
 * Upstream `dropTypeDependentFields`: when the type changes, fields only the old type may have are cleared — but
 * only if the client sent them unchanged (a client that changed them meant it, and validation answers).
 */
export function dropTypeDependentFields(next: KObject, current: KObject): void {
  const ns = specOf(next);
  const os = specOf(current);
  if (ns.type === os.type) return;
  if (ns.type === 'ExternalName') {
    if (sameJson(ns.clusterIP, os.clusterIP) && sameJson(ns.clusterIPs, os.clusterIPs)) {
      delete ns.clusterIP;
      delete ns.clusterIPs;
    }
    if (sameJson(ns.ipFamilies, os.ipFamilies)) delete ns.ipFamilies;
    if (sameJson(ns.ipFamilyPolicy, os.ipFamilyPolicy)) delete ns.ipFamilyPolicy;
    if (sameJson(ns.internalTrafficPolicy, os.internalTrafficPolicy)) delete ns.internalTrafficPolicy;
  }
  if (needsNodePort(current) && !needsNodePort(next)) {
    const oldPorts = ports(os);
    for (const p of ports(ns)) {
      const o = oldPorts.find((q) => q.port === p.port && (q.protocol ?? 'TCP') === (p.protocol ?? 'TCP'));
      if (o && p.nodePort === o.nodePort) delete p.nodePort;
    }
  }
  if (needsHCNodePort(current) && !needsHCNodePort(next) && ns.healthCheckNodePort === os.healthCheckNodePort) delete ns.healthCheckNodePort;
  if (os.type === 'LoadBalancer' && ns.type !== 'LoadBalancer') {
    if (ns.allocateLoadBalancerNodePorts === os.allocateLoadBalancerNodePorts) delete ns.allocateLoadBalancerNodePorts;
    if (ns.loadBalancerClass === os.loadBalancerClass) delete ns.loadBalancerClass;
  }
  const externallyAccessible = ns.type === 'NodePort' || ns.type === 'LoadBalancer' || (ns.type === 'ClusterIP' && Array.isArray(ns.externalIPs) && ns.externalIPs.length > 0);
  if (!externallyAccessible && ns.externalTrafficPolicy === os.externalTrafficPolicy) delete ns.externalTrafficPolicy;
}

/**
 * Upstream `patchAllocatedValues`: an update that omits allocated values (a PUT of a manifest without clusterIP or
 * nodePort) keeps them, so re-applying a manifest does not count as changing an immutable field.
 */
export function patchAllocatedValues(next: KObject, current: KObject): void {
  const ns = specOf(next);
  const os = specOf(current);
  if (needsClusterIP(current) && needsClusterIP(next)) {
    if (ns.clusterIP === undefined || ns.clusterIP === '') ns.clusterIP = os.clusterIP;
    if ((!Array.isArray(ns.clusterIPs) || ns.clusterIPs.length === 0) && Array.isArray(os.clusterIPs) && os.clusterIPs.length > 0) ns.clusterIPs = os.clusterIPs;
    if (ns.clusterIP === undefined) delete ns.clusterIP;
    if (ns.clusterIPs === undefined) delete ns.clusterIPs;
  }
  if (needsNodePort(current) && needsNodePort(next)) {
    // Values the client set explicitly elsewhere are not patched in again (two ports sharing one old value —
    // 53/TCP and 53/UDP — both get it back, as upstream).
    const used = (s: Rec) => new Set(ports(s).map((p) => p.nodePort).filter((n) => Number.isInteger(n) && n > 0));
    const explicit = used(ns);
    const byName = new Map<string, number>();
    for (const p of ports(os)) byName.set(p.name ?? '', p.nodePort);
    for (const p of ports(ns)) {
      if (Number.isInteger(p.nodePort) && p.nodePort > 0) continue;
      const old = byName.get(p.name ?? '');
      if (Number.isInteger(old) && old! > 0 && !explicit.has(old)) p.nodePort = old;
    }
  }
  if (needsHCNodePort(current) && needsHCNodePort(next) && !(Number.isInteger(ns.healthCheckNodePort) && ns.healthCheckNodePort > 0)) {
    ns.healthCheckNodePort = os.healthCheckNodePort;
  }
}
