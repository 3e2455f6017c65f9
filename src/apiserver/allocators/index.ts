/**
 * Service networking in the apiserver, the parts kube-apiserver runs itself: the Service registry's ClusterIP and
 * NodePort allocation (storage hooks on `/services`), the allocation repair controller (upstream
 * `pkg/registry/core/service/{ipallocator,portallocator}/controller/repair.go`), and the bootstrap objects — the
 * `kubernetes` Service with its Endpoints/EndpointSlice kept by a lease-based endpoint reconciler (upstream
 * `pkg/controlplane/reconcilers/lease.go`), the `kube-dns` Service and the default IngressClass (k3s ships both).
 */
import { networkInterfaces } from 'node:os';
import type { KObject } from '../../api/errors.js';
import { findResource, ResourceInfo } from '../../api/resources.js';
import type { ApiServerCore } from '../core.js';
import { prepareForCreate, prepareForUpdate, validateOrThrow } from '../strategy.js';
import { ConflictError, KeyExistsError, NotFoundError } from '../../store/types.js';
import { defaultIngressClass } from '../admission/service-ingress-class.js';
import { nodePortsOf, ServiceAllocatorOptions, ServiceAllocators } from './service-allocator.js';
import { AllocationOwner, AllocationRecord, RangeAllocator } from './range-allocator.js';

export { ServiceAllocators, DEFAULT_SERVICE_CIDR, DEFAULT_NODE_PORT_RANGE } from './service-allocator.js';
export { parsePortRange } from './range-allocator.js';

export interface ServiceNetworkingOptions extends ServiceAllocatorOptions {
  /** The cluster DNS Service IP (`--cluster-dns`; default the 10th IP of the range, 10.43.0.10). */
  clusterDNS?: string;
  /** A record whose Service is missing is freed by repair only once older than this (a create may be in flight). */
  leakGraceMs?: number;
  /** Period of the repair pass (upstream 3 min). */
  repairIntervalMs?: number;
  /** Period of the `kubernetes` endpoint reconciler (upstream 10 s) and its lease TTL (upstream 15 s). */
  endpointIntervalMs?: number;
  endpointLeaseTtlMs?: number;
}

export interface RepairReport {
  /** `ip:…`/`port:…` records freed because no Service holds them. */
  freed: string[];
  /** Records (re)written for Services that hold a value without one. */
  recorded: string[];
  /** Values two Services claim, or outside the configured range (logged, left as they are). */
  problems: string[];
}

export interface ServiceNetworking {
  allocators: ServiceAllocators;
  /** The kube-dns Service IP. */
  clusterDNS: string;
  /** One repair pass (also run by `start` and then periodically). */
  repair(): Promise<RepairReport>;
  /**
   * Runs repair, creates the bootstrap objects and starts the loops. `advertise` is where pods reach this
   * apiserver (see {@link advertiseAddress}).
   */
  start(advertise: { address: string; port: number }): Promise<void>;
  /** Stops the loops and withdraws this apiserver from the `kubernetes` endpoints. */
  stop(): Promise<void>;
}

const MASTER_LEASE_PREFIX = '/registry/masterleases/';
const SVC = () => findResource('', 'v1', 'services')!;
const EP = () => findResource('', 'v1', 'endpoints')!;
const SLICE = () => findResource('discovery.k8s.io', 'v1', 'endpointslices')!;
const INGRESS_CLASS = () => findResource('networking.k8s.io', 'v1', 'ingressclasses')!;

/**
 * The address the `kubernetes` endpoints advertise (kube-apiserver `--advertise-address` default): the bind address
 * when it is a specific one, else the first non-internal IPv4 of this host (127.0.0.1 when there is none).
 */
export function advertiseAddress(bindAddress: string): string {
  if (bindAddress && bindAddress !== '0.0.0.0' && bindAddress !== '::') return bindAddress;
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

/**
 * Installs Service allocation on `core` (storage hooks for `/services`) and returns the handle that bootstraps and
 * maintains the rest. Call it before serving requests; call `start` once the server listens.
 */
export function installServiceNetworking(core: ApiServerCore, opts: ServiceNetworkingOptions = {}): ServiceNetworking {
  const allocators = new ServiceAllocators(core.backend, opts);
  core.storageHooks.set('/services', allocators.hooks());
  const clusterDNS = opts.clusterDNS ?? allocators.ips.spec.format(9);
  if (!allocators.ips.has(clusterDNS)) throw new Error(`cluster DNS IP ${clusterDNS} is not inside the service CIDR ${allocators.serviceCIDR}`);
  const leakGraceMs = opts.leakGraceMs ?? 60_000;
  const log = (msg: string, fields?: Record<string, unknown>) => core.log(msg, { component: 'service-networking', ...fields });
  const timers: NodeJS.Timeout[] = [];
  let advertised: { address: string; port: number } | undefined;
  let stopped = false;

  async function repair(): Promise<RepairReport> {
    const report: RepairReport = { freed: [], recorded: [], problems: [] };
    const services = (await core.registry.list(SVC(), {})).items;
    const ipHolder = new Map<string, KObject>();
    const portHolders = new Map<string, KObject[]>();
    for (const s of services) {
      const ip = s.spec?.type !== 'ExternalName' && typeof s.spec?.clusterIP === 'string' && s.spec.clusterIP !== 'None' ? s.spec.clusterIP as string : '';
      if (ip) {
        if (!allocators.ips.has(ip)) report.problems.push(`ip:${ip} of ${s.metadata.namespace}/${s.metadata.name} is not within the service CIDR ${allocators.serviceCIDR}; please recreate`);
        else if (ipHolder.has(ip)) report.problems.push(`ip:${ip} is held by ${s.metadata.namespace}/${s.metadata.name} and ${ipHolder.get(ip)!.metadata.namespace}/${ipHolder.get(ip)!.metadata.name}`);
        else ipHolder.set(ip, s);
      }
      for (const p of nodePortsOf(s)) {
        const k = String(p);
        if (!allocators.nodePorts.has(k)) { report.problems.push(`port:${k} of ${s.metadata.namespace}/${s.metadata.name} is not within the node port range`); continue; }
        portHolders.set(k, [...(portHolders.get(k) ?? []), s]);
      }
    }
    for (const [k, holders] of portHolders) {
      if (holders.length > 1) report.problems.push(`port:${k} is held by ${holders.map((h) => `${h.metadata.namespace}/${h.metadata.name}`).join(' and ')}`);
    }
    const pass = async (kind: 'ip' | 'port', a: RangeAllocator, holders: (v: string) => KObject[]) => {
      const now = Date.now();
      const held = new Set<string>();
      for (const { value, record } of await a.list()) {
        const hs = holders(value);
        if (hs.some((h) => h.metadata.uid === record.owner.uid)) { held.add(value); continue; }
        if (now - record.allocatedAt < leakGraceMs) { held.add(value); continue; }
        if (await a.forceRelease(value, record)) report.freed.push(`${kind}:${value}`);
      }
      for (const [value, hs] of allValues(kind === 'ip' ? [...ipHolder.keys()] : [...portHolders.keys()], holders)) {
        if (held.has(value)) continue;
        const owner: AllocationOwner = { namespace: hs[0].metadata.namespace, name: hs[0].metadata.name ?? '', uid: hs[0].metadata.uid ?? '' };
        try {
          await a.allocate(value, owner);
          report.recorded.push(`${kind}:${value}`);
        } catch (e) {
          report.problems.push(`${kind}:${value} of ${owner.namespace}/${owner.name}: ${(e as Error).message}`);
        }
      }
    };
    await pass('ip', allocators.ips, (v) => (ipHolder.has(v) ? [ipHolder.get(v)!] : []));
    await pass('port', allocators.nodePorts, (v) => portHolders.get(v) ?? []);
    if (report.freed.length || report.recorded.length || report.problems.length) log('service allocation repair', { ...report });
    return report;
  }

  /** Creates through the Service storage hooks (so bootstrap Services own their IP records). 409 → false. */
  async function createWithHooks(info: ResourceInfo, obj: KObject): Promise<boolean> {
    prepareForCreate(info, obj);
    validateOrThrow(info, obj);
    const txn = await core.hooksFor(info)?.beginCreate?.(obj, false);
    try {
      await core.registry.create(info, obj);
    } catch (e) {
      await txn?.revert();
      if ((e as { code?: number }).code === 409) return false;
      throw e;
    }
    await txn?.commit();
    return true;
  }

  async function ensureKubernetesService(port: number): Promise<void> {
    const ip = allocators.kubernetesServiceIP;
    const svcPorts = [{ name: 'https', port: 443, protocol: 'TCP', targetPort: port }];
    const cur = await core.registry.tryGet(SVC(), 'default', 'kubernetes');
    if (!cur) {
      await createWithHooks(SVC(), {
        apiVersion: 'v1', kind: 'Service',
        metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } },
        spec: { type: 'ClusterIP', clusterIP: ip, clusterIPs: [ip], ports: svcPorts, sessionAffinity: 'None' },
      });
      return;
    }
    // Upstream `getMasterServiceUpdateIfNeeded`: only the ports and type are reconciled.
    const p = cur.spec?.ports?.[0];
    if (cur.spec?.type === 'ClusterIP' && cur.spec?.ports?.length === 1 && p?.name === 'https' && p?.port === 443 && p?.protocol === 'TCP' && p?.targetPort === port) return;
    const next = structuredClone(cur);
    next.spec.type = 'ClusterIP';
    next.spec.ports = svcPorts;
    await writeUpdate(SVC(), next, cur);
  }

  async function writeUpdate(info: ResourceInfo, next: KObject, cur: KObject): Promise<void> {
    const merged = prepareForUpdate(info, next, cur);
    const txn = await core.hooksFor(info)?.beginUpdate?.(merged, cur, false);
    try {
      validateOrThrow(info, merged, cur);
      await core.registry.update(info, merged, Number(cur.metadata.resourceVersion));
    } catch (e) {
      await txn?.revert();
      throw e;
    }
    await txn?.commit();
  }

  async function ensureKubeDnsService(): Promise<void> {
    if (await core.registry.tryGet(SVC(), 'kube-system', 'kube-dns')) return;
    try {
      await createWithHooks(SVC(), {
        apiVersion: 'v1', kind: 'Service',
        metadata: {
          name: 'kube-dns', namespace: 'kube-system',
          labels: { 'k8s-app': 'kube-dns', 'kubernetes.io/cluster-service': 'true', 'kubernetes.io/name': 'CoreDNS' },
        },
        spec: {
          type: 'ClusterIP', clusterIP: clusterDNS, clusterIPs: [clusterDNS],
          ports: [{ name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 }, { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 }],
        },
      });
    } catch (e) {
      log('cannot create the kube-dns Service', { err: String(e), clusterDNS });
    }
  }

  async function ensureIngressClass(): Promise<void> {
    const ic = defaultIngressClass();
    if (await core.registry.tryGet(INGRESS_CLASS(), undefined, ic.metadata.name!)) return;
    await createWithHooks(INGRESS_CLASS(), ic);
  }

  /** Renews this apiserver's lease and returns the live apiserver addresses, sorted (upstream lease reconciler). */
  async function liveAddresses(self: string | undefined, ttlMs: number): Promise<string[]> {
    const b = core.backend;
    const now = Date.now();
    if (self) {
      const key = MASTER_LEASE_PREFIX + self;
      const value = JSON.stringify({ expiresAt: now + ttlMs });
      const kv = await b.get(key);
      try {
        if (kv) await b.update(key, value, kv.modRevision);
        else await b.create(key, value);
      } catch (e) {
        if (!(e instanceof ConflictError || e instanceof KeyExistsError || e instanceof NotFoundError)) throw e;
      }
    }
    const out: string[] = [];
    for (const kv of (await b.list(MASTER_LEASE_PREFIX)).items) {
      const ip = kv.key.slice(MASTER_LEASE_PREFIX.length);
      let expiresAt = 0;
      try { expiresAt = Number(JSON.parse(kv.value).expiresAt) || 0; } catch { expiresAt = 0; }
      if (expiresAt > now || ip === self) out.push(ip);
      else await b.delete(kv.key, kv.modRevision).catch((e) => { if (!(e instanceof NotFoundError || e instanceof ConflictError)) throw e; });
    }
    return out.sort();
  }

  /** Writes the `kubernetes` Endpoints and EndpointSlice for `addresses` (upstream `endpointsadapter.go`). */
  async function writeEndpoints(addresses: string[], port: number): Promise<void> {
    const epPorts = [{ name: 'https', port, protocol: 'TCP' }];
    await upsert(EP(), 'default', 'kubernetes', {
      apiVersion: 'v1', kind: 'Endpoints',
      metadata: { name: 'kubernetes', namespace: 'default', labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } },
      subsets: addresses.length ? [{ addresses: addresses.map((ip) => ({ ip })), ports: epPorts }] : [],
    }, (o) => ({ labels: o.metadata.labels, subsets: o.subsets ?? [] }));
    await upsert(SLICE(), 'default', 'kubernetes', {
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
      metadata: { name: 'kubernetes', namespace: 'default', labels: { 'kubernetes.io/service-name': 'kubernetes' } },
      addressType: 'IPv4',
      endpoints: addresses.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
      ports: epPorts,
    }, (o) => ({ labels: o.metadata.labels, addressType: o.addressType, endpoints: o.endpoints ?? [], ports: o.ports ?? [] }));
  }

  async function upsert(info: ResourceInfo, ns: string, name: string, desired: KObject, view: (o: KObject) => unknown): Promise<void> {
    const cur = await core.registry.tryGet(info, ns, name);
    if (!cur) {
      await createWithHooks(info, desired);
      return;
    }
    const next: KObject = { ...structuredClone(cur), ...structuredClone(desired), metadata: { ...cur.metadata, labels: { ...(cur.metadata.labels ?? {}), ...(desired.metadata.labels ?? {}) } } };
    if (JSON.stringify(view(next)) === JSON.stringify(view(cur))) return;
    await writeUpdate(info, next, cur);
  }

  async function reconcileEndpoints(): Promise<void> {
    if (!advertised) return;
    const ttl = opts.endpointLeaseTtlMs ?? 15_000;
    await ensureKubernetesService(advertised.port);
    await writeEndpoints(await liveAddresses(stopped ? undefined : advertised.address, ttl), advertised.port);
  }

  const every = (ms: number, what: string, fn: () => Promise<unknown>) => {
    const t = setInterval(() => {
      fn().catch((e) => log(`${what} failed`, { err: String(e) }));
    }, ms);
    t.unref();
    timers.push(t);
  };

  return {
    allocators,
    clusterDNS,
    repair,
    async start(adv) {
      advertised = adv;
      await repair().catch((e) => log('service allocation repair failed', { err: String(e) }));
      await ensureKubernetesService(adv.port);
      await ensureKubeDnsService();
      await ensureIngressClass();
      await reconcileEndpoints();
      every(opts.repairIntervalMs ?? 180_000, 'service allocation repair', repair);
      every(opts.endpointIntervalMs ?? 10_000, 'kubernetes endpoint reconcile', reconcileEndpoints);
    },
    async stop() {
      for (const t of timers.splice(0)) clearInterval(t);
      if (!advertised || stopped) return;
      stopped = true;
      // Upstream `RemoveEndpoints` on shutdown: drop our lease so the others stop sending traffic here.
      try {
        const kv = await core.backend.get(MASTER_LEASE_PREFIX + advertised.address);
        if (kv) await core.backend.delete(kv.key, kv.modRevision);
        await writeEndpoints(await liveAddresses(undefined, 0), advertised.port);
      } catch (e) {
        log('cannot withdraw from the kubernetes endpoints', { err: String(e) });
      }
    },
  };
}

function allValues(values: string[], holders: (v: string) => KObject[]): Array<[string, KObject[]]> {
  return values.map((v) => [v, holders(v)] as [string, KObject[]]).filter(([, hs]) => hs.length > 0);
}

export type { AllocationRecord };
