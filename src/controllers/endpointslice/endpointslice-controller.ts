/**
 * The EndpointSlice controller (upstream `pkg/controller/endpointslice` and `staging/src/k8s.io/endpointslice`):
 * for every Service with a selector it keeps `discovery.k8s.io/v1` EndpointSlices named `<service>-<random>`,
 * labelled with the service name and `endpointslice.kubernetes.io/managed-by`, owned by the Service, holding at
 * most 100 endpoints each. Unlike Endpoints, terminating pods stay listed with `terminating: true` so proxies can
 * drain them. Reconciliation follows upstream's `reconcileByPortMapping`: slices are grouped by port set, endpoints
 * are updated in place in the slice that already holds them, new endpoints fill slices that are being written
 * anyway before new slices are made, and a slice whose content did not change is never written (no churn). A
 * service with no endpoints keeps one empty placeholder slice, as upstream.
 */
import type { Node, Pod, Service } from 'kubernetes-types/core/v1.js';
import type { Endpoint, EndpointPort, EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { controllerFor, type ReconcileRequest } from '../../client/controller.js';
import { isNotFound } from '../../client/rest.js';
import { selectorFromSet } from '../../api/labels.js';
import type { ControllerDefinition, ControllerContext, Runnable } from '../types.js';
import {
  findPort, isPodReady, podIPForService, podTriggerTime, rfc3339Nano, serviceSelects, shouldPodBeInEndpoints,
  shouldSetHostname, stableStringify,
} from '../endpoints/pod-util.js';

/** Label naming the service a slice belongs to (`discovery.LabelServiceName`). */
export const LABEL_SERVICE_NAME = 'kubernetes.io/service-name';
/** Label naming the slice's manager (`discovery.LabelManagedBy`). */
export const LABEL_MANAGED_BY = 'endpointslice.kubernetes.io/managed-by';
/** This controller's manager value (upstream `ControllerName`). */
export const CONTROLLER_NAME = 'endpointslice-controller.k8s.io';
/** Upstream `--max-endpoints-per-slice` default. */
export const MAX_ENDPOINTS_PER_SLICE = 100;
const HEADLESS_LABEL = 'service.kubernetes.io/headless';
const TRIGGER_TIME = 'endpoints.kubernetes.io/last-change-trigger-time';
const ZONE_LABEL = 'topology.kubernetes.io/zone';

type AddressType = 'IPv4' | 'IPv6';

function portsKey(ports: readonly EndpointPort[] | undefined): string {
  return (ports ?? []).map((p) => stableStringify({ n: p.name ?? '', p: p.port, t: p.protocol ?? 'TCP', a: p.appProtocol })).sort().join('|');
}

function endpointKey(ep: Endpoint): string {
  const r = ep.targetRef;
  return r ? `${r.namespace ?? ''}/${r.name ?? ''}` : `ip:${ep.addresses?.[0] ?? ''}`;
}

/** The endpoint a pod contributes (upstream `podToEndpoint`). */
export function podToEndpoint(pod: Pod, svc: Service, ip: string, node?: Node): Endpoint {
  const serving = isPodReady(pod);
  const terminating = !!pod.metadata?.deletionTimestamp;
  const ready = svc.spec?.publishNotReadyAddresses === true || (serving && !terminating);
  const ep: Endpoint = {
    addresses: [ip],
    conditions: { ready, serving, terminating },
    targetRef: { kind: 'Pod', namespace: pod.metadata?.namespace, name: pod.metadata?.name, uid: pod.metadata?.uid },
  };
  if (pod.spec?.nodeName) ep.nodeName = pod.spec.nodeName;
  const zone = node?.metadata?.labels?.[ZONE_LABEL];
  if (zone) ep.zone = zone;
  if (shouldSetHostname(pod, svc)) ep.hostname = pod.spec!.hostname;
  return ep;
}

/** The slice ports a pod serves (upstream `getEndpointPorts`): service ports that resolve on the pod. */
export function podEndpointPorts(pod: Pod, svc: Service): EndpointPort[] {
  const out: EndpointPort[] = [];
  for (const sp of svc.spec?.ports ?? []) {
    const port = findPort(pod, sp);
    if (port === undefined) continue;
    const p: EndpointPort = { name: sp.name ?? '', port, protocol: sp.protocol ?? 'TCP' };
    if (sp.appProtocol) p.appProtocol = sp.appProtocol;
    out.push(p);
  }
  return out;
}

/** Upstream `setEndpointSliceLabels`: the service's labels (reserved keys excepted) plus the slice's own. */
export function sliceLabels(svc: Service): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(svc.metadata?.labels ?? {})) {
    if (k !== LABEL_SERVICE_NAME && k !== LABEL_MANAGED_BY && k !== HEADLESS_LABEL) out[k] = v;
  }
  out[LABEL_SERVICE_NAME] = svc.metadata!.name!;
  out[LABEL_MANAGED_BY] = CONTROLLER_NAME;
  if (svc.spec?.clusterIP === 'None') out[HEADLESS_LABEL] = '';
  return out;
}

function ownedBy(slice: EndpointSlice, svc: Service): boolean {
  return (slice.metadata?.ownerReferences ?? []).some((r) => r.kind === 'Service' && r.uid === svc.metadata?.uid && r.controller === true);
}

/** A slice to write: an existing one (with its name) or a new one. */
interface Planned {
  existing?: EndpointSlice;
  ports: EndpointPort[];
  endpoints: Endpoint[];
}

/** What one sync should do (upstream reconciler's slicesToCreate/Update/Delete). */
export interface SlicePlan {
  create: Planned[];
  update: Planned[];
  delete: EndpointSlice[];
}

/**
 * Plans the writes for one service (upstream `reconciler.reconcile` + `reconcileByPortMapping`), given the desired
 * endpoints grouped by port set (keyed by `namespace/pod`) and the slices that exist. Pure, so it can be tested without an apiserver.
 */
export function planSlices(
  svc: Service,
  addressType: AddressType,
  desiredGroups: Iterable<{ ports: EndpointPort[]; endpoints: Map<string, Endpoint> }>,
  existingAll: EndpointSlice[],
  maxPerSlice = MAX_ENDPOINTS_PER_SLICE,
): SlicePlan {
  const plan: SlicePlan = { create: [], update: [], delete: [] };
  const desired = new Map<string, { ports: EndpointPort[]; endpoints: Map<string, Endpoint> }>();
  for (const g of desiredGroups) {
    const k = portsKey(g.ports);
    const cur = desired.get(k);
    if (cur) for (const [ek, e] of g.endpoints) cur.endpoints.set(ek, e);
    else desired.set(k, { ports: g.ports, endpoints: new Map(g.endpoints) });
  }
  const labels = sliceLabels(svc);
  const byPorts = new Map<string, EndpointSlice[]>();
  for (const s of existingAll) {
    if (!ownedBy(s, svc) || s.addressType !== addressType) {
      plan.delete.push(s);
      continue;
    }
    const k = portsKey(s.ports);
    byPorts.set(k, [...(byPorts.get(k) ?? []), s]);
  }
  const keys = new Set([...byPorts.keys(), ...desired.keys()]);
  for (const k of [...keys].sort()) {
    const want = desired.get(k);
    const wantEps = want?.endpoints ?? new Map<string, Endpoint>();
    const placed = new Set<string>();
    const toUpdate: Planned[] = [];
    const unchanged: Planned[] = [];
    for (const s of byPorts.get(k) ?? []) {
      const kept: Endpoint[] = [];
      let changed = false;
      for (const ep of s.endpoints ?? []) {
        const ek = endpointKey(ep);
        const w = wantEps.get(ek);
        if (!w || placed.has(ek)) {
          changed = true;
          continue;
        }
        placed.add(ek);
        if (stableStringify(ep) !== stableStringify(w)) changed = true;
        kept.push(w);
      }
      if (kept.length === 0) {
        plan.delete.push(s);
        continue;
      }
      const p: Planned = { existing: s, ports: s.ports ?? [], endpoints: kept };
      if (changed || stableStringify(s.metadata?.labels ?? {}) !== stableStringify(labels)) toUpdate.push(p);
      else unchanged.push(p);
    }
    const remaining = [...wantEps.entries()].filter(([ek]) => !placed.has(ek)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, e]) => e);
    // 1. Fill the slices being written anyway.
    for (const p of toUpdate) {
      while (remaining.length && p.endpoints.length < maxPerSlice) p.endpoints.push(remaining.shift()!);
    }
    // 2. Full new slices; 3. the last chunk goes into the fullest unchanged slice it fits, else a new slice.
    while (remaining.length) {
      const chunk = remaining.splice(0, maxPerSlice);
      if (chunk.length < maxPerSlice) {
        const fit = unchanged.filter((p) => p.endpoints.length + chunk.length <= maxPerSlice).sort((a, b) => b.endpoints.length - a.endpoints.length)[0];
        if (fit) {
          fit.endpoints.push(...chunk);
          unchanged.splice(unchanged.indexOf(fit), 1);
          toUpdate.push(fit);
          continue;
        }
      }
      plan.create.push({ ports: want!.ports, endpoints: chunk });
    }
    plan.update.push(...toUpdate);
  }
  // A service with no endpoints keeps exactly one empty placeholder slice.
  if (plan.delete.length === existingAll.length && plan.create.length === 0) {
    const isPlaceholder = (s: EndpointSlice) =>
      (s.endpoints ?? []).length === 0 && (s.ports ?? []).length === 0 && ownedBy(s, svc) && s.addressType === addressType;
    const keep = plan.delete.length === 1 && isPlaceholder(plan.delete[0]!) ? plan.delete[0] : undefined;
    if (keep) {
      plan.delete = [];
      if (stableStringify(keep.metadata?.labels ?? {}) !== stableStringify(labels)) plan.update.push({ existing: keep, ports: [], endpoints: [] });
    } else {
      plan.create.push({ ports: [], endpoints: [] });
    }
  }
  return plan;
}

/**
 * Remembers the resourceVersions this controller wrote per service, so a sync that would run on a cache that has
 * not seen them yet waits instead of creating duplicates (upstream `EndpointSliceTracker` and its
 * `StaleInformerCache` error).
 */
class SliceTracker {
  private readonly written = new Map<string, Map<string, string | 'deleted'>>();

  record(svcKey: string, sliceName: string, rv: string | 'deleted'): void {
    let m = this.written.get(svcKey);
    if (!m) this.written.set(svcKey, (m = new Map()));
    m.set(sliceName, rv);
  }

  /** True while the cache lags behind a write; satisfied entries are forgotten. */
  stale(svcKey: string, get: (name: string) => EndpointSlice | undefined): boolean {
    const m = this.written.get(svcKey);
    if (!m) return false;
    let stale = false;
    for (const [name, rv] of m) {
      const cur = get(name);
      const seen = rv === 'deleted' ? !cur : !!cur && rvAtLeast(cur.metadata?.resourceVersion, rv);
      if (seen) m.delete(name);
      else stale = true;
    }
    if (m.size === 0) this.written.delete(svcKey);
    return stale;
  }

  forget(svcKey: string): void {
    this.written.delete(svcKey);
  }
}

function rvAtLeast(have: string | undefined, want: string): boolean {
  if (!have) return false;
  try {
    return BigInt(have) >= BigInt(want);
  } catch {
    return have === want;
  }
}

/** See the module comment. Registered as `endpointslice`, upstream's controller name. */
export function setupEndpointSliceController(ctx: ControllerContext): Runnable {
  const services = ctx.informers.for<Service>('v1', 'Service');
  const pods = ctx.informers.for<Pod>('v1', 'Pod');
  const nodes = ctx.informers.for<Node>('v1', 'Node');
  const slices = ctx.informers.for<EndpointSlice>('discovery.k8s.io/v1', 'EndpointSlice');
  const sliceClient = ctx.client.resource<EndpointSlice>('discovery.k8s.io/v1', 'EndpointSlice');
  const tracker = new SliceTracker();
  const log = ctx.logger('endpointslice-controller');

  const servicesFor = (pod: Pod): ReconcileRequest[] =>
    services.lister
      .list(pod.metadata?.namespace ?? '')
      .filter((s) => serviceSelects(s, pod.metadata?.labels))
      .map((s) => ({ namespace: s.metadata!.namespace, name: s.metadata!.name! }));
  const serviceOfSlice = (s: EndpointSlice): ReconcileRequest[] => {
    const l = s.metadata?.labels ?? {};
    return l[LABEL_MANAGED_BY] === CONTROLLER_NAME && l[LABEL_SERVICE_NAME] ? [{ namespace: s.metadata?.namespace, name: l[LABEL_SERVICE_NAME] }] : [];
  };

  const deleteSlice = async (svcKey: string, s: EndpointSlice) => {
    try {
      await sliceClient.delete(s.metadata!.namespace, s.metadata!.name!, { preconditions: { uid: s.metadata?.uid } });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    tracker.record(svcKey, s.metadata!.name!, 'deleted');
  };

  const controller = controllerFor(services, { name: 'endpointslice', workers: ctx.config.workers, logger: log, clock: ctx.clock })
    .watches(pods, servicesFor)
    .watches(slices, serviceOfSlice)
    .complete({
      async reconcile({ namespace, name }) {
        const ns = namespace ?? '';
        const svcKey = `${ns}/${name}`;
        if (tracker.stale(svcKey, (n) => slices.lister.get(ns, n))) return { requeueAfter: 100 };
        const svc = services.lister.get(ns, name);
        const existing = slices.lister
          .list(ns, selectorFromSet({ [LABEL_SERVICE_NAME]: name, [LABEL_MANAGED_BY]: CONTROLLER_NAME }))
          .filter((s) => !s.metadata?.deletionTimestamp);
        if (!svc) {
          // Upstream leaves this to the garbage collector through the ownerReference; doing it here keeps
          // clusters without a garbage collector tidy and is a no-op when it already ran.
          for (const s of existing) await deleteSlice(svcKey, s);
          if (existing.length === 0) tracker.forget(svcKey);
          return;
        }
        if (svc.spec?.type === 'ExternalName') return;
        const sel = svc.spec?.selector;
        if (!sel || Object.keys(sel).length === 0) return;
        if (svc.metadata?.deletionTimestamp) return;

        const addressType: AddressType = svc.spec?.ipFamilies?.[0] === 'IPv6' ? 'IPv6' : 'IPv4';
        const desired = new Map<string, { ports: EndpointPort[]; endpoints: Map<string, Endpoint> }>();
        let trigger = svc.metadata?.creationTimestamp ? Date.parse(svc.metadata.creationTimestamp) : undefined;
        for (const pod of pods.lister.list(ns, selectorFromSet(sel))) {
          if (!shouldPodBeInEndpoints(pod, true)) continue;
          const ip = podIPForService(pod, svc);
          if (!ip) continue;
          const t = podTriggerTime(pod);
          if (t !== undefined && (trigger === undefined || t > trigger)) trigger = t;
          const node = pod.spec?.nodeName ? nodes.lister.get(undefined, pod.spec.nodeName) : undefined;
          const ep = podToEndpoint(pod, svc, ip, node);
          const ports = podEndpointPorts(pod, svc);
          const k = portsKey(ports);
          let g = desired.get(k);
          if (!g) desired.set(k, (g = { ports, endpoints: new Map() }));
          g.endpoints.set(endpointKey(ep), ep);
        }

        const plan = planSlices(svc, addressType, desired.values(), existing);
        const labels = sliceLabels(svc);
        const annotate = (base: Record<string, string> | undefined) => {
          const a = { ...(base ?? {}) };
          if (trigger !== undefined && !Number.isNaN(trigger)) a[TRIGGER_TIME] = rfc3339Nano(trigger);
          else delete a[TRIGGER_TIME];
          return Object.keys(a).length ? a : undefined;
        };
        for (const p of plan.create) {
          const prefix = `${name}-`.length <= 58 ? `${name}-` : 'slice-';
          const body: EndpointSlice = {
            apiVersion: 'discovery.k8s.io/v1',
            kind: 'EndpointSlice',
            metadata: {
              generateName: prefix, namespace: ns, labels, annotations: annotate(undefined),
              ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name, uid: svc.metadata!.uid!, controller: true, blockOwnerDeletion: true }],
            },
            addressType,
            endpoints: p.endpoints,
            ports: p.ports,
          };
          const created = await sliceClient.create(ns, body);
          tracker.record(svcKey, created.metadata!.name!, created.metadata!.resourceVersion!);
        }
        for (const p of plan.update) {
          const s = p.existing!;
          const body: EndpointSlice = { ...s, metadata: { ...s.metadata, labels, annotations: annotate(s.metadata?.annotations) }, endpoints: p.endpoints, ports: p.ports };
          const updated = await sliceClient.update(ns, body);
          tracker.record(svcKey, updated.metadata!.name!, updated.metadata!.resourceVersion!);
        }
        for (const s of plan.delete) await deleteSlice(svcKey, s);
      },
    });

  return controller;
}

/** The EndpointSlice controller's registration (kube-controller-manager's `endpointslice`). */
export const endpointSliceControllerDefinition: ControllerDefinition = { name: 'endpointslice', setup: setupEndpointSliceController };
