/**
 * The Endpoints controller (upstream `pkg/controller/endpoint`): for every Service with a selector it keeps an
 * Endpoints object of the same name listing the selected pods — ready ones under `addresses`, the others under
 * `notReadyAddresses` — with each service port resolved against each pod. Services without a selector (and
 * ExternalName services) are left alone, so users can manage their Endpoints by hand; when a Service goes, its
 * Endpoints go too.
 */
import type { EndpointAddress, EndpointPort, EndpointSubset, Endpoints, Pod, Service } from 'kubernetes-types/core/v1.js';
import { controllerFor, type ReconcileRequest } from '../../client/controller.js';
import { isAlreadyExists, isNotFound } from '../../client/rest.js';
import { selectorFromSet } from '../../api/labels.js';
import type { ControllerDefinition, ControllerContext, Runnable } from '../types.js';
import {
  findPort, isPodReady, podIPForService, podTriggerTime, rfc3339Nano, serviceSelects, shouldPodBeInEndpoints,
  shouldSetHostname, stableStringify,
} from './pod-util.js';

/** Label set on the Endpoints (and slices) of headless services (upstream `v1.IsHeadlessService`). */
export const HEADLESS_LABEL = 'service.kubernetes.io/headless';
/** Annotation: when the change that produced this Endpoints version happened (upstream `v1.EndpointsLastChangeTriggerTime`). */
export const LAST_CHANGE_TRIGGER_TIME = 'endpoints.kubernetes.io/last-change-trigger-time';
/** Endpoints of leader-election locks are never cleaned up (upstream `resourcelock.LeaderElectionRecordAnnotationKey`). */
const LEADER_ANNOTATION = 'control-plane.alpha.kubernetes.io/leader';

type Addr = { addr: EndpointAddress; ready: boolean };

/** Upstream `endpointutil` ordering: addresses by IP (then pod name), ports by name, number and protocol. */
function addrKey(a: EndpointAddress): string {
  return `${a.ip}\u0000${a.targetRef?.namespace ?? ''}/${a.targetRef?.name ?? ''}`;
}
function portKey(p: EndpointPort): string {
  return `${p.name ?? ''}\u0000${String(p.port).padStart(5, '0')}\u0000${p.protocol ?? 'TCP'}`;
}

/**
 * Upstream `endpoints.RepackSubsets`: every (address, port) pair goes into one subset per distinct port set, so
 * pods exposing the same ports share a subset; everything is sorted so identical input yields identical output
 * and the controller never rewrites an unchanged object.
 */
export function repackSubsets(entries: Array<{ address: EndpointAddress; ready: boolean; ports: EndpointPort[] }>): EndpointSubset[] {
  const byAddr = new Map<string, { a: Addr; ports: Map<string, EndpointPort> }>();
  for (const e of entries) {
    const k = `${e.ready ? 'r' : 'n'}\u0000${addrKey(e.address)}`;
    let cur = byAddr.get(k);
    if (!cur) byAddr.set(k, (cur = { a: { addr: e.address, ready: e.ready }, ports: new Map() }));
    for (const p of e.ports) cur.ports.set(portKey(p), p);
  }
  const groups = new Map<string, { ports: EndpointPort[]; addrs: Addr[] }>();
  for (const { a, ports } of byAddr.values()) {
    const sorted = [...ports.entries()].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)).map(([, p]) => p);
    const gk = sorted.map(portKey).join('\u0001');
    let g = groups.get(gk);
    if (!g) groups.set(gk, (g = { ports: sorted, addrs: [] }));
    g.addrs.push(a);
  }
  const cmp = (x: Addr, y: Addr) => (addrKey(x.addr) < addrKey(y.addr) ? -1 : addrKey(x.addr) > addrKey(y.addr) ? 1 : 0);
  const subsets: Array<{ key: string; s: EndpointSubset }> = [];
  for (const g of groups.values()) {
    const ready = g.addrs.filter((a) => a.ready).sort(cmp).map((a) => a.addr);
    const notReady = g.addrs.filter((a) => !a.ready).sort(cmp).map((a) => a.addr);
    const s: EndpointSubset = {};
    if (ready.length) s.addresses = ready;
    if (notReady.length) s.notReadyAddresses = notReady;
    if (g.ports.length) s.ports = g.ports;
    subsets.push({ key: g.ports.map(portKey).join('\u0001'), s });
  }
  return subsets.sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0)).map((x) => x.s);
}

/** The address a pod contributes (upstream `podToEndpointAddressForService`). */
function podAddress(pod: Pod, svc: Service, ip: string): EndpointAddress {
  const a: EndpointAddress = { ip };
  if (shouldSetHostname(pod, svc)) a.hostname = pod.spec!.hostname;
  if (pod.spec?.nodeName) a.nodeName = pod.spec.nodeName;
  a.targetRef = { kind: 'Pod', namespace: pod.metadata?.namespace, name: pod.metadata?.name, uid: pod.metadata?.uid };
  return a;
}

/**
 * The subsets a service should have given its pods (upstream `syncService`'s loop): per pod, its address
 * (ready unless the pod is not Ready and the service does not `publishNotReadyAddresses`) with every service
 * port that resolves on it; a headless service without ports lists the addresses alone. Also returns the latest
 * trigger time among the service and its pods.
 */
export function desiredSubsets(svc: Service, pods: Pod[]): { subsets: EndpointSubset[]; triggerTime?: number } {
  const publishNotReady = svc.spec?.publishNotReadyAddresses === true;
  const entries: Array<{ address: EndpointAddress; ready: boolean; ports: EndpointPort[] }> = [];
  let trigger = svc.metadata?.creationTimestamp ? Date.parse(svc.metadata.creationTimestamp) : undefined;
  for (const pod of pods) {
    if (!shouldPodBeInEndpoints(pod, publishNotReady)) continue;
    const ip = podIPForService(pod, svc);
    if (!ip) continue;
    const t = podTriggerTime(pod);
    if (t !== undefined && (trigger === undefined || t > trigger)) trigger = t;
    const ready = publishNotReady || isPodReady(pod);
    const address = podAddress(pod, svc, ip);
    const svcPorts = svc.spec?.ports ?? [];
    if (svcPorts.length === 0) {
      if (svc.spec?.clusterIP === 'None') entries.push({ address, ready, ports: [] });
      continue;
    }
    for (const sp of svcPorts) {
      const port = findPort(pod, sp);
      if (port === undefined) continue;
      const ep: EndpointPort = { port, protocol: sp.protocol ?? 'TCP' };
      if (sp.name) ep.name = sp.name;
      if (sp.appProtocol) ep.appProtocol = sp.appProtocol;
      entries.push({ address, ready, ports: [ep] });
    }
  }
  return { subsets: repackSubsets(entries), triggerTime: trigger !== undefined && !Number.isNaN(trigger) ? trigger : undefined };
}

function withoutHeadless(labels: Record<string, string> | undefined): Record<string, string> {
  const out = { ...(labels ?? {}) };
  delete out[HEADLESS_LABEL];
  return out;
}

/** See the module comment. Registered as `endpoint`, upstream's controller name. */
export function setupEndpointsController(ctx: ControllerContext): Runnable {
  const services = ctx.informers.for<Service>('v1', 'Service');
  const pods = ctx.informers.for<Pod>('v1', 'Pod');
  const endpoints = ctx.informers.for<Endpoints>('v1', 'Endpoints');
  const epClient = ctx.client.resource<Endpoints>('v1', 'Endpoints');
  const log = ctx.logger('endpoint-controller');

  /** Pods enqueue every service of their namespace that selects them (old and new labels both). */
  const servicesFor = (pod: Pod): ReconcileRequest[] =>
    services.lister
      .list(pod.metadata?.namespace ?? '')
      .filter((s) => serviceSelects(s, pod.metadata?.labels))
      .map((s) => ({ namespace: s.metadata!.namespace, name: s.metadata!.name! }));

  const controller = controllerFor(services, { name: 'endpoint', workers: ctx.config.workers, logger: log, clock: ctx.clock })
    .watches(pods, servicesFor)
    .complete({
      async reconcile({ namespace, name }) {
        const ns = namespace ?? '';
        const svc = services.lister.get(ns, name);
        const current = endpoints.lister.get(ns, name);
        if (!svc) {
          // The service is gone: its Endpoints go too (leader-election records excepted, as upstream).
          if (current && !current.metadata?.annotations?.[LEADER_ANNOTATION]) {
            try {
              await epClient.delete(ns, name);
            } catch (err) {
              if (!isNotFound(err)) throw err;
            }
          }
          return;
        }
        // ExternalName services and services without a selector get no endpoints from this controller.
        if (svc.spec?.type === 'ExternalName') return;
        const sel = svc.spec?.selector;
        if (!sel || Object.keys(sel).length === 0) return;
        if (svc.metadata?.deletionTimestamp) return;

        const selected = pods.lister.list(ns, selectorFromSet(sel));
        const { subsets, triggerTime } = desiredSubsets(svc, selected);
        const headless = svc.spec?.clusterIP === 'None';

        if (current) {
          const sameSubsets = stableStringify(current.subsets ?? []) === stableStringify(subsets);
          const sameLabels = stableStringify(withoutHeadless(current.metadata?.labels)) === stableStringify(svc.metadata?.labels ?? {});
          const sameHeadless = (current.metadata?.labels?.[HEADLESS_LABEL] !== undefined) === headless;
          if (sameSubsets && sameLabels && sameHeadless) return;
        }

        const labels: Record<string, string> = { ...(svc.metadata?.labels ?? {}) };
        if (headless) labels[HEADLESS_LABEL] = '';
        else delete labels[HEADLESS_LABEL];
        const annotations: Record<string, string> = { ...(current?.metadata?.annotations ?? {}) };
        if (triggerTime !== undefined) annotations[LAST_CHANGE_TRIGGER_TIME] = rfc3339Nano(triggerTime);
        else delete annotations[LAST_CHANGE_TRIGGER_TIME];

        const next: Endpoints = {
          apiVersion: 'v1',
          kind: 'Endpoints',
          metadata: { ...(current?.metadata ?? {}), name, namespace: ns, labels, annotations },
          subsets,
        };
        if (Object.keys(annotations).length === 0) delete next.metadata!.annotations;
        if (current) {
          await epClient.update(ns, next);
        } else {
          try {
            await epClient.create(ns, next);
          } catch (err) {
            // A namespace being deleted refuses new content; the service goes with it.
            if (/being terminated/.test(String((err as Error).message))) return;
            // The cache has not seen an Endpoints that exists: look again once it has.
            if (isAlreadyExists(err)) return { requeue: true };
            throw err;
          }
        }
      },
    });

  // Re-create Endpoints someone deleted while their service still exists (upstream `onEndpointsDelete`).
  const unsubscribe = endpoints.addEventHandler({
    onDelete: (ep) => controller.enqueue({ namespace: ep.metadata?.namespace, name: ep.metadata!.name! }),
  });

  return {
    async start() {
      await controller.start();
      // Upstream `checkLeftoverEndpoints`: Endpoints whose service vanished while no controller was running.
      for (const ep of endpoints.lister.list()) {
        const m = ep.metadata!;
        if (!services.lister.get(m.namespace, m.name!) && !m.annotations?.[LEADER_ANNOTATION]) {
          controller.enqueue({ namespace: m.namespace, name: m.name! });
        }
      }
    },
    async stop() {
      unsubscribe();
      await controller.stop();
    },
  };
}

/** The Endpoints controller's registration (kube-controller-manager's `endpoint`). */
export const endpointsControllerDefinition: ControllerDefinition = { name: 'endpoint', setup: setupEndpointsController };
