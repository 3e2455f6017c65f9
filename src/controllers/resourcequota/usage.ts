/**
 * Quota usage evaluation (upstream `pkg/quota/v1/evaluator/core`: the pod, service and PVC evaluators and the
 * generic object-count evaluator). Pure functions over objects, so they are testable without an apiserver and
 * reusable by a future quota admission plugin in the apiserver (admission enforcement is the apiserver's job, not
 * the controller's).
 */
import type { Container, PersistentVolumeClaim, Pod, ResourceQuota, Service } from 'kubernetes-types/core/v1.js';
import { addQuantities, formatQuantity, newQuantity, parseQuantity, compareQuantities, type Quantity } from '../../api/quantity.js';

type ResourceMap = Map<string, Quantity>;

function add(into: ResourceMap, name: string, q: Quantity | string): void {
  const cur = into.get(name);
  into.set(name, cur ? addQuantities(cur, q) : typeof q === 'string' ? parseQuantity(q) : q);
}

function containerList(c: Container, which: 'requests' | 'limits'): ResourceMap {
  const out: ResourceMap = new Map();
  for (const [k, v] of Object.entries(c.resources?.[which] ?? {})) out.set(k, parseQuantity(String(v)));
  return out;
}

function sumInto(a: ResourceMap, b: ResourceMap): ResourceMap {
  const out = new Map(a);
  for (const [k, v] of b) add(out, k, v);
  return out;
}

function maxInto(a: ResourceMap, b: ResourceMap): ResourceMap {
  const out = new Map(a);
  for (const [k, v] of b) {
    const cur = out.get(k);
    if (!cur || compareQuantities(v, cur) > 0) out.set(k, v);
  }
  return out;
}

/**
 * Upstream `resourcehelper.PodRequests`/`PodLimits`: the sum over app containers, raised to what any init
 * container needs while it runs (plus the restartable sidecars started before it, which also count toward the
 * sum), plus the pod overhead.
 */
export function podResources(pod: Pod, which: 'requests' | 'limits'): ResourceMap {
  let total: ResourceMap = new Map();
  for (const c of pod.spec?.containers ?? []) total = sumInto(total, containerList(c, which));
  let sidecars: ResourceMap = new Map();
  let initMax: ResourceMap = new Map();
  for (const c of pod.spec?.initContainers ?? []) {
    const r = containerList(c, which);
    if (c.restartPolicy === 'Always') {
      total = sumInto(total, r);
      sidecars = sumInto(sidecars, r);
      initMax = maxInto(initMax, sidecars);
    } else {
      initMax = maxInto(initMax, sumInto(r, sidecars));
    }
  }
  total = maxInto(total, initMax);
  for (const [k, v] of Object.entries(pod.spec?.overhead ?? {})) add(total, k, String(v));
  return total;
}

/** Upstream `QuotaV1Pod`: terminal pods and pods past their deletion grace period no longer use compute quota. */
export function podUsesComputeQuota(pod: Pod, now: number): boolean {
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return false;
  const del = pod.metadata?.deletionTimestamp;
  const grace = pod.metadata?.deletionGracePeriodSeconds;
  if (del && grace !== undefined && grace !== null && now > Date.parse(del) + grace * 1000) return false;
  return true;
}

const NATIVE_PREFIXES = ['kubernetes.io/', 'requests.'];

/** Upstream `IsExtendedResourceName`: a domain-qualified name outside `kubernetes.io`, e.g. `nvidia.com/gpu`. */
export function isExtendedResourceName(name: string): boolean {
  if (!name.includes('/')) return false;
  const domain = name.slice(0, name.indexOf('/') + 1);
  return !NATIVE_PREFIXES.some((p) => name.startsWith(p)) && !domain.endsWith('.kubernetes.io/');
}

/**
 * Upstream `PodUsageFunc`: what one pod uses. `count/pods` counts every pod; the rest only while the pod still
 * runs (`podUsesComputeQuota`): `pods`, `cpu`/`requests.cpu`, `limits.cpu`, the same for memory and
 * ephemeral-storage, hugepages, and `requests.<name>` for extended resources such as `nvidia.com/gpu`.
 */
export function podUsage(pod: Pod, now: number): ResourceMap {
  const out: ResourceMap = new Map([['count/pods', newQuantity(1)]]);
  if (!podUsesComputeQuota(pod, now)) return out;
  out.set('pods', newQuantity(1));
  const req = podResources(pod, 'requests');
  const lim = podResources(pod, 'limits');
  for (const r of ['cpu', 'memory', 'ephemeral-storage']) {
    const q = req.get(r);
    if (q) {
      out.set(r, q);
      out.set(`requests.${r}`, q);
    }
    const l = lim.get(r);
    if (l) out.set(`limits.${r}`, l);
  }
  for (const [r, q] of req) {
    if (r.startsWith('hugepages-')) {
      out.set(r, q);
      out.set(`requests.${r}`, q);
    } else if (isExtendedResourceName(r)) {
      out.set(`requests.${r}`, q);
    }
  }
  return out;
}

/** Upstream `GetPodQOS` reduced to the BestEffort test: no cpu/memory request or limit in any container. */
export function isBestEffort(pod: Pod): boolean {
  const all = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
  return all.every((c) => ['requests', 'limits'].every((w) => !Object.keys((c.resources as Record<string, object> | undefined)?.[w] ?? {}).some((k) => k === 'cpu' || k === 'memory')));
}

/** One quota scope requirement: `spec.scopes` entries (operator Exists) and `spec.scopeSelector.matchExpressions`. */
export interface ScopeRequirement {
  scopeName: string;
  operator: string;
  values?: string[];
}

/** The quota's scopes as requirements (upstream `getScopeSelectorsFromQuota`). */
export function quotaScopes(q: ResourceQuota): ScopeRequirement[] {
  const out: ScopeRequirement[] = (q.spec?.scopes ?? []).map((s) => ({ scopeName: s, operator: 'Exists' }));
  for (const e of q.spec?.scopeSelector?.matchExpressions ?? []) out.push({ scopeName: e.scopeName, operator: e.operator, values: e.values });
  return out;
}

function hasCrossNamespaceAffinity(pod: Pod): boolean {
  const a = pod.spec?.affinity;
  const terms = [
    ...(a?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []),
    ...(a?.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((w) => w.podAffinityTerm),
    ...(a?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []),
    ...(a?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((w) => w.podAffinityTerm),
  ];
  return terms.some((t) => (t.namespaces?.length ?? 0) > 0 || t.namespaceSelector !== undefined);
}

/** Upstream `podMatchesScopeFunc`: whether a pod falls under one scope requirement. */
export function podMatchesScope(pod: Pod, s: ScopeRequirement): boolean {
  switch (s.scopeName) {
    case 'Terminating':
      return (pod.spec?.activeDeadlineSeconds ?? -1) >= 0;
    case 'NotTerminating':
      return (pod.spec?.activeDeadlineSeconds ?? -1) < 0;
    case 'BestEffort':
      return isBestEffort(pod);
    case 'NotBestEffort':
      return !isBestEffort(pod);
    case 'PriorityClass': {
      const pc = pod.spec?.priorityClassName ?? '';
      switch (s.operator) {
        case 'Exists': return pc !== '';
        case 'DoesNotExist': return pc === '';
        case 'In': return (s.values ?? []).includes(pc);
        case 'NotIn': return !(s.values ?? []).includes(pc);
        default: return false;
      }
    }
    case 'CrossNamespacePodAffinity':
      return hasCrossNamespaceAffinity(pod);
    default:
      return false;
  }
}

/** Names the pod evaluator computes (upstream `podResources` + prefixed/extended names). */
export function isPodResourceName(name: string): boolean {
  if (name === 'requests.storage') return false;
  return ['pods', 'count/pods', 'cpu', 'memory', 'ephemeral-storage'].includes(name) || name.startsWith('requests.') || name.startsWith('limits.') || name.startsWith('hugepages-');
}

/** Upstream `ServiceUsageFunc`'s node port count: one per port of a NodePort or (node-port-allocating) LoadBalancer service. */
function nodePorts(svc: Service): number {
  const t = svc.spec?.type;
  if (t === 'NodePort' || (t === 'LoadBalancer' && svc.spec?.allocateLoadBalancerNodePorts !== false)) return svc.spec?.ports?.length ?? 0;
  return 0;
}

const STORAGE_CLASS_SUFFIX = '.storageclass.storage.k8s.io/';

function pvcRequest(pvc: PersistentVolumeClaim): Quantity {
  const req = parseQuantity(String(pvc.spec?.resources?.requests?.storage ?? '0'));
  const alloc = pvc.status?.allocatedResources?.storage;
  return alloc !== undefined && compareQuantities(String(alloc), req) > 0 ? parseQuantity(String(alloc)) : req;
}

/**
 * Where usage is read from: the objects of a resource (`group` "" for core) in a namespace; undefined while that
 * resource's cache is not filled yet, null when the resource is not served at all.
 */
export type ObjectSource = (resource: string, group: string, namespace: string) => readonly object[] | undefined | null;

/**
 * `status.used` for a quota (upstream `quota.CalculateUsage` masked to the hard names): each hard name the
 * evaluators know, with its canonical quantity (zero included); names nothing computes are left out, as
 * upstream. Scoped quotas only count pods. Returns undefined for a name whose source is not available yet.
 */
export function calculateUsage(quota: ResourceQuota, source: ObjectSource, now: number): Record<string, string> | undefined {
  const ns = quota.metadata?.namespace ?? '';
  const hard = Object.keys(quota.spec?.hard ?? {});
  const scopes = quotaScopes(quota);
  const used: Record<string, string> = {};
  let podUsages: ResourceMap[] | undefined;
  const podTotals = (): ResourceMap[] | undefined => {
    if (podUsages) return podUsages;
    const pods = source('pods', '', ns) as Pod[] | undefined | null;
    if (pods === undefined) return undefined;
    if (pods === null) return (podUsages = []);
    return (podUsages = pods.filter((p) => scopes.every((s) => podMatchesScope(p, s))).map((p) => podUsage(p, now)));
  };
  const count = (resource: string, group: string, filter?: (o: object) => boolean): string | undefined | null => {
    const objs = source(resource, group, ns);
    if (!objs) return objs;
    return String(filter ? objs.filter(filter).length : objs.length);
  };
  for (const name of hard) {
    let v: string | undefined | null;
    if (isPodResourceName(name)) {
      const all = podTotals();
      if (!all) return undefined;
      let sum: Quantity = newQuantity(0);
      for (const u of all) {
        const q = u.get(name);
        if (q) sum = addQuantities(sum, q);
      }
      v = formatQuantity(sum);
    } else if (scopes.length > 0) {
      continue; // Scoped quotas track pods only (other evaluators match no scope).
    } else if (name === 'requests.storage' || (name.includes(STORAGE_CLASS_SUFFIX) && name.endsWith('/requests.storage'))) {
      const cls = name === 'requests.storage' ? undefined : name.slice(0, name.indexOf(STORAGE_CLASS_SUFFIX));
      const pvcs = source('persistentvolumeclaims', '', ns) as PersistentVolumeClaim[] | undefined | null;
      if (pvcs === undefined) return undefined;
      let sum: Quantity = newQuantity(0);
      for (const p of pvcs ?? []) if (cls === undefined || p.spec?.storageClassName === cls) sum = addQuantities(sum, pvcRequest(p));
      v = formatQuantity(sum);
    } else if (name.includes(STORAGE_CLASS_SUFFIX) && name.endsWith('/persistentvolumeclaims')) {
      const cls = name.slice(0, name.indexOf(STORAGE_CLASS_SUFFIX));
      v = count('persistentvolumeclaims', '', (p) => (p as PersistentVolumeClaim).spec?.storageClassName === cls);
    } else if (name === 'services.nodeports') {
      const svcs = source('services', '', ns) as Service[] | undefined | null;
      v = svcs && String(svcs.reduce((n, s) => n + nodePorts(s), 0));
    } else if (name === 'services.loadbalancers') {
      v = count('services', '', (s) => (s as Service).spec?.type === 'LoadBalancer');
    } else if (['services', 'configmaps', 'secrets', 'persistentvolumeclaims', 'replicationcontrollers', 'resourcequotas'].includes(name)) {
      v = count(name, '') ?? (source(name, '', ns) === null ? '0' : undefined);
    } else if (name.startsWith('count/')) {
      const rg = name.slice('count/'.length);
      const dot = rg.indexOf('.');
      v = dot < 0 ? count(rg, '') : count(rg.slice(0, dot), rg.slice(dot + 1));
    } else {
      continue;
    }
    if (v === null) continue;
    if (v === undefined) return undefined;
    used[name] = v;
  }
  return used;
}
