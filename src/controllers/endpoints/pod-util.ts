/**
 * Pod predicates shared by the service-facing controllers (Endpoints, EndpointSlice) and the controllers that
 * count healthy pods (disruption, node lifecycle). Each mirrors a helper of upstream `pkg/api/v1/pod` or
 * `staging/src/k8s.io/endpointslice/util` so every controller agrees on what "ready" and "in endpoints" mean.
 */
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { Service, ServicePort } from 'kubernetes-types/core/v1.js';
import { isPodReady } from '../pod-utils.js';

export { isPodReady };

/** `podutil.IsPodTerminal`: phase `Succeeded` or `Failed` — the pod will never run again. */
export function isPodTerminal(pod: Pod): boolean {
  const p = pod.status?.phase;
  return p === 'Succeeded' || p === 'Failed';
}

/**
 * `endpointsliceutil.ShouldPodBeInEndpoints`: terminal pods and pods without an IP never appear; terminating pods
 * (deletionTimestamp set) only when `includeTerminating` (the Endpoints controller passes the service's
 * `publishNotReadyAddresses`, the EndpointSlice controller always passes true and reports them as terminating).
 */
export function shouldPodBeInEndpoints(pod: Pod, includeTerminating: boolean): boolean {
  if (isPodTerminal(pod)) return false;
  if (!pod.status?.podIP && !(pod.status?.podIPs?.length)) return false;
  if (!includeTerminating && pod.metadata?.deletionTimestamp) return false;
  return true;
}

/**
 * The pod IP of the service's primary family (upstream picks by `service.spec.ipFamilies[0]`, IPv4 when unset),
 * or undefined when the pod has no address of that family.
 */
export function podIPForService(pod: Pod, svc: Service): string | undefined {
  const v6 = svc.spec?.ipFamilies?.[0] === 'IPv6';
  const ips = (pod.status?.podIPs ?? []).map((p) => p.ip).filter((ip): ip is string => !!ip);
  if (pod.status?.podIP && !ips.includes(pod.status.podIP)) ips.unshift(pod.status.podIP);
  return ips.find((ip) => ip.includes(':') === v6);
}

/**
 * `podutil.FindPort`: the container port a service port targets on this pod. A named `targetPort` is looked up
 * among the containers' (and restartable init containers') ports with the same protocol; a number is used as is;
 * an absent targetPort means the service port itself. Undefined when a name is not found (upstream skips the port
 * for that pod and logs).
 */
export function findPort(pod: Pod, sp: ServicePort): number | undefined {
  const tp = sp.targetPort;
  if (tp === undefined || tp === null || tp === '' || tp === 0) return sp.port;
  if (typeof tp === 'number') return tp;
  const proto = sp.protocol ?? 'TCP';
  const containers = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? []).filter((c) => c.restartPolicy === 'Always')];
  for (const c of containers) {
    for (const p of c.ports ?? []) {
      if (p.name === tp && (p.protocol ?? 'TCP') === proto) return p.containerPort;
    }
  }
  return undefined;
}

/**
 * `endpointutil.ShouldSetHostname`: a pod with `hostname` whose `subdomain` names this service (same namespace)
 * gets its hostname published, which is how StatefulSet and Indexed Job pods get per-pod DNS names.
 */
export function shouldSetHostname(pod: Pod, svc: Service): boolean {
  return !!pod.spec?.hostname && pod.spec.subdomain === svc.metadata?.name && pod.metadata?.namespace === svc.metadata?.namespace;
}

/**
 * The services of the pod's namespace whose selector matches the pod's labels (upstream
 * `GetPodServiceMemberships`); services without a selector select nothing.
 */
export function serviceSelects(svc: Service, labels: Record<string, string> | undefined): boolean {
  const sel = svc.spec?.selector;
  if (!sel || Object.keys(sel).length === 0) return false;
  return Object.entries(sel).every(([k, v]) => labels?.[k] === v);
}

/**
 * When a pod last changed in a way that moves endpoints (upstream `getPodTriggerTime`: its Ready condition's
 * lastTransitionTime, else its creation time), in epoch ms.
 */
export function podTriggerTime(pod: Pod): number | undefined {
  const ready = pod.status?.conditions?.find((c) => c.type === 'Ready');
  const t = ready?.lastTransitionTime ?? pod.metadata?.creationTimestamp;
  const ms = t ? Date.parse(t) : NaN;
  return Number.isNaN(ms) ? undefined : ms;
}

/** `time.RFC3339Nano` of a UTC time: fractional seconds only when non-zero, trailing zeros dropped. */
export function rfc3339Nano(ms: number): string {
  const iso = new Date(ms).toISOString();
  return iso.replace(/\.(\d{3})Z$/, (_, f: string) => (f === '000' ? 'Z' : `.${f.replace(/0+$/, '')}Z`));
}

/**
 * JSON with object keys sorted, so two objects with the same content compare equal whatever order the server
 * serialised their fields in (the role `apiequality.Semantic.DeepEqual` plays upstream).
 */
export function stableStringify(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(stableStringify).join(',')}]`;
  const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${stableStringify(x)}`).join(',')}}`;
}
