/**
 * What the scheduler knows about nodes and pods (upstream `pkg/scheduler/framework/types.go`): {@link Resource}
 * vectors, per-pod data parsed once ({@link PodInfo}: requests computed as kube-scheduler computes them — init
 * containers by max, sidecars by sum, pod overhead added), and {@link NodeInfo}: a node plus the pods on it and the
 * sums the filters need (requested, non-zero requested, allocatable, pod count, pods with affinity terms).
 *
 * Quantities are parsed with `src/api/quantity.ts` once per distinct string and kept as plain numbers: CPU in
 * millicores, memory/storage in bytes, extended resources (`nvidia.com/gpu`, hugepages) in units — exact below 2^53.
 */

import type { Container, Node, Pod, Taint } from 'kubernetes-types/core/v1.js';
import { quantityToMilli, quantityValue } from '../../api/quantity.js';

/** Default CPU request assumed for scoring when a container sets none (upstream `DefaultMilliCPURequest`, 0.1 core). */
export const DEFAULT_MILLI_CPU_REQUEST = 100;
/** Default memory request assumed for scoring when a container sets none (upstream `DefaultMemoryRequest`, 200 MiB). */
export const DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024;

/** Resource names with a dedicated field; everything else is a scalar (extended resource, hugepages, …). */
export const CPU = 'cpu';
export const MEMORY = 'memory';
export const EPHEMERAL_STORAGE = 'ephemeral-storage';
export const PODS = 'pods';

type QuantityMap = Record<string, string | number> | undefined;

const NO_LABELS: Readonly<Record<string, string>> = Object.freeze({});

const milliCache = new Map<string, number>();
const valueCache = new Map<string, number>();
/** The shared `scalar` of every Resource without extended resources (never modified: see Resource.setScalar). */
const NO_SCALARS: ReadonlyMap<string, number> = new Map<string, number>();
/** The shared, empty `imageStates` of NodeInfos (nothing fills it yet). */
const NO_IMAGE_STATES: ReadonlyMap<string, { sizeBytes: number; numNodes: number }> = new Map();

function cached(cache: Map<string, number>, q: string | number, parse: (s: string) => number): number {
  const key = typeof q === 'number' ? String(q) : q;
  let v = cache.get(key);
  if (v === undefined) {
    v = parse(key);
    if (cache.size > 10_000) cache.clear();
    cache.set(key, v);
  }
  return v;
}

/** CPU quantity in millicores (`Quantity.MilliValue`). Memoized: clusters reuse a handful of strings. */
export function milliValue(q: string | number): number {
  return cached(milliCache, q, quantityToMilli);
}

/** Integer value rounded up (`Quantity.Value`): bytes, units. Memoized. */
export function intValue(q: string | number): number {
  return cached(valueCache, q, (s) => Number(quantityValue(s)));
}

/**
 * A resource vector (upstream `framework.Resource`). `scalar` holds extended resources and hugepages by name. Fields
 * are mutable: NodeInfo keeps running sums.
 */
export class Resource {
  milliCPU = 0;
  memory = 0;
  ephemeralStorage = 0;
  /** Max pods (only meaningful for allocatable). */
  allowedPodNumber = 0;
  /**
   * Extended resources by name. Read-only for callers: change it through {@link setScalar}. Most vectors have none,
   * so they share one empty map until the first scalar is set (a map per vector was a visible share of a cycle's
   * allocations: every PodInfo and every snapshot copy of a NodeInfo holds several vectors).
   */
  scalar: ReadonlyMap<string, number> = NO_SCALARS;

  /** Sets extended resource `name` to `v` (the only way to change {@link scalar}). */
  setScalar(name: string, v: number): void {
    if (this.scalar === NO_SCALARS) this.scalar = new Map<string, number>();
    (this.scalar as Map<string, number>).set(name, v);
  }

  /** Parses a `ResourceList` (requests, allocatable or overhead). */
  static from(list: QuantityMap): Resource {
    const r = new Resource();
    r.addList(list);
    return r;
  }

  /** Adds a `ResourceList` to this vector. */
  addList(list: QuantityMap): void {
    if (!list) return;
    for (const name in list) {
      const q = list[name]!;
      switch (name) {
        case CPU: this.milliCPU += milliValue(q); break;
        case MEMORY: this.memory += intValue(q); break;
        case EPHEMERAL_STORAGE: this.ephemeralStorage += intValue(q); break;
        case PODS: this.allowedPodNumber += intValue(q); break;
        default: this.setScalar(name, (this.scalar.get(name) ?? 0) + intValue(q));
      }
    }
  }

  add(o: Resource, sign = 1): void {
    this.milliCPU += sign * o.milliCPU;
    this.memory += sign * o.memory;
    this.ephemeralStorage += sign * o.ephemeralStorage;
    this.allowedPodNumber += sign * o.allowedPodNumber;
    if (o.scalar.size === 0) return; // the common case: no iterator for an empty map
    for (const [k, v] of o.scalar) {
      const n = (this.scalar.get(k) ?? 0) + sign * v;
      this.setScalar(k, n);
    }
  }

  /** Element-wise maximum (how init containers combine). */
  setMax(o: Resource): void {
    this.milliCPU = Math.max(this.milliCPU, o.milliCPU);
    this.memory = Math.max(this.memory, o.memory);
    this.ephemeralStorage = Math.max(this.ephemeralStorage, o.ephemeralStorage);
    if (o.scalar.size) for (const [k, v] of o.scalar) this.setScalar(k, Math.max(this.scalar.get(k) ?? 0, v));
  }

  /** The amount of `name` (`cpu` in millicores). */
  get(name: string): number {
    switch (name) {
      case CPU: return this.milliCPU;
      case MEMORY: return this.memory;
      case EPHEMERAL_STORAGE: return this.ephemeralStorage;
      case PODS: return this.allowedPodNumber;
      default: return this.scalar.get(name) ?? 0;
    }
  }

  /** True when nothing at all is requested (upstream's "best effort" fast path in fitsRequest). */
  isZero(): boolean {
    if (this.milliCPU || this.memory || this.ephemeralStorage) return false;
    for (const v of this.scalar.values()) if (v) return false;
    return true;
  }

  clone(): Resource {
    const r = new Resource();
    r.add(this);
    return r;
  }
}

const isRestartable = (c: Container) => c.restartPolicy === 'Always';

/**
 * The pod's effective requests (upstream `resourcehelper.PodRequests`):
 *   sum(app containers) + sum(sidecars), max'ed with each init container's peak — a regular init container runs
 *   alongside the sidecars started before it, so its peak is its request plus those sidecars — plus pod overhead.
 * With `nonMissing`, CPU and memory requests that are absent (not zero) count as 100m / 200 MiB, the values the
 * scoring plugins use so that request-less pods still spread (upstream `NonMissingContainerRequests`).
 */
export function podRequests(pod: Pod, nonMissing = false): Resource {
  const spec = pod.spec;
  const reqs = new Resource();
  const containerReq = (c: Container): Resource => {
    const r = Resource.from(c.resources?.requests as QuantityMap);
    if (nonMissing) {
      const req = c.resources?.requests as QuantityMap;
      if (!req || req[CPU] === undefined) r.milliCPU = DEFAULT_MILLI_CPU_REQUEST;
      if (!req || req[MEMORY] === undefined) r.memory = DEFAULT_MEMORY_REQUEST;
    }
    return r;
  };
  for (const c of spec?.containers ?? []) reqs.add(containerReq(c));
  const sidecars = new Resource();
  const initPeak = new Resource();
  for (const c of spec?.initContainers ?? []) {
    const r = containerReq(c);
    if (isRestartable(c)) {
      reqs.add(r);
      sidecars.add(r);
      initPeak.setMax(sidecars);
    } else {
      r.add(sidecars);
      initPeak.setMax(r);
    }
  }
  reqs.setMax(initPeak);
  if (spec?.overhead) reqs.addList(spec.overhead as QuantityMap);
  return reqs;
}

/**
 * Per-pod data computed once per pod object and shared by the queue, the cache and every plugin (upstream
 * `framework.PodInfo`). Immutable; build a new one when the pod changes.
 */
export class PodInfo {
  /** `namespace/name`. */
  readonly key: string;
  readonly uid: string;
  /** spec.priority (0 when unset; admission fills it from the PriorityClass). */
  readonly priority: number;
  /** Effective requests (see {@link podRequests}). */
  readonly requests: Resource;
  /** Requests with the non-zero defaults for CPU/memory, for scoring. */
  readonly nonZeroMilliCPU: number;
  readonly nonZeroMemory: number;
  /** The pod carries pod affinity or anti-affinity terms (InterPodAffinity indexes such pods per node). */
  readonly hasAffinity: boolean;
  readonly hasRequiredAntiAffinity: boolean;

  /**
   * Computes everything from `pod`; with `same`, a PodInfo of the same pod with only `spec.nodeName` different (the
   * assumed copy), its fields are reused instead.
   */
  constructor(readonly pod: Pod, same?: PodInfo) {
    if (same) {
      this.key = same.key;
      this.uid = same.uid;
      this.priority = same.priority;
      this.requests = same.requests;
      this.nonZeroMilliCPU = same.nonZeroMilliCPU;
      this.nonZeroMemory = same.nonZeroMemory;
      this.hasAffinity = same.hasAffinity;
      this.hasRequiredAntiAffinity = same.hasRequiredAntiAffinity;
      return;
    }
    const m = pod.metadata ?? {};
    this.key = `${m.namespace ?? ''}/${m.name ?? ''}`;
    this.uid = m.uid ?? this.key;
    this.priority = pod.spec?.priority ?? 0;
    this.requests = podRequests(pod);
    const nz = podRequests(pod, true);
    this.nonZeroMilliCPU = nz.milliCPU;
    this.nonZeroMemory = nz.memory;
    const aff = pod.spec?.affinity;
    this.hasAffinity = !!(aff?.podAffinity || aff?.podAntiAffinity);
    this.hasRequiredAntiAffinity = !!aff?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.length;
  }
}

/**
 * A node and what is (assumed to be) running on it (upstream `framework.NodeInfo`). The cache updates it
 * incrementally as pods are added/removed and bumps `generation`, which is how the snapshot knows what to re-copy.
 * `node` may be undefined when pods reference a node the informer has not delivered (yet) or that was deleted while
 * pods remain — such NodeInfos are kept in the cache but never offered to filters.
 */
export class NodeInfo {
  node?: Node;
  /** Pods on the node (assumed ones included), in arrival order. */
  pods: PodInfo[] = [];
  /** Pods with (anti-)affinity terms. */
  podsWithAffinity: PodInfo[] = [];
  podsWithRequiredAntiAffinity: PodInfo[] = [];
  /** Sum of the pods' effective requests. */
  requested = new Resource();
  /** Sum of the pods' requests with non-zero CPU/memory defaults (scoring only). */
  nonZeroRequested = new Resource();
  /** node.status.allocatable, parsed. */
  allocatable = new Resource();
  /** Bumped on every change; compared by the snapshot. */
  generation = 0;
  /** For image locality and host-port checks (filled by later plugins' needs; kept here as upstream does). */
  imageStates: ReadonlyMap<string, { sizeBytes: number; numNodes: number }> = NO_IMAGE_STATES;
  /**
   * Flat copies of the numbers Filter and Score read for every node of every cycle (allocatable, requested,
   * non-zero requested, pod count, spec.unschedulable), kept in sync by setNode/addPod/removePod. Reading them touches
   * only this object instead of five (the Resource vectors, the pods array, the Node and its spec): at 5,000 nodes
   * those extra cache misses were most of NodeResourcesFit's and NodeUnschedulable's cost. Read-only for plugins.
   */
  allocMilliCPU = 0;
  allocMemory = 0;
  allocEphemeralStorage = 0;
  allocPods = 0;
  reqMilliCPU = 0;
  reqMemory = 0;
  reqEphemeralStorage = 0;
  nonZeroMilliCPU = 0;
  nonZeroMemory = 0;
  podCount = 0;
  unschedulable = false;

  constructor(node?: Node) {
    if (node) this.setNode(node);
  }

  /**
   * The node's name ('' without a Node), a copy of metadata.name: Filter, Score and the diagnosis read it for every
   * evaluated node, and following node → metadata → name there cost two cache misses per node at 5,000 nodes.
   */
  name = '';
  /** The node's labels ({} without any) and taints, copied for the same reason as {@link name}. Read-only. */
  labels: Readonly<Record<string, string>> = NO_LABELS;
  taints: readonly Taint[] | undefined = undefined;

  setNode(node: Node): void {
    this.node = node;
    this.name = node.metadata?.name ?? '';
    this.labels = node.metadata?.labels ?? NO_LABELS;
    this.taints = node.spec?.taints;
    this.allocatable = Resource.from(node.status?.allocatable as QuantityMap);
    this.allocMilliCPU = this.allocatable.milliCPU;
    this.allocMemory = this.allocatable.memory;
    this.allocEphemeralStorage = this.allocatable.ephemeralStorage;
    this.allocPods = this.allocatable.allowedPodNumber;
    this.unschedulable = !!node.spec?.unschedulable;
  }

  /** Refreshes the flat copies of the sums after a pod came or went. */
  private syncSums(): void {
    this.reqMilliCPU = this.requested.milliCPU;
    this.reqMemory = this.requested.memory;
    this.reqEphemeralStorage = this.requested.ephemeralStorage;
    this.nonZeroMilliCPU = this.nonZeroRequested.milliCPU;
    this.nonZeroMemory = this.nonZeroRequested.memory;
    this.podCount = this.pods.length;
  }

  addPod(pi: PodInfo): void {
    this.pods.push(pi);
    if (pi.hasAffinity) this.podsWithAffinity.push(pi);
    if (pi.hasRequiredAntiAffinity) this.podsWithRequiredAntiAffinity.push(pi);
    this.requested.add(pi.requests);
    this.nonZeroRequested.milliCPU += pi.nonZeroMilliCPU;
    this.nonZeroRequested.memory += pi.nonZeroMemory;
    this.syncSums();
  }

  /**
   * Puts `next` where `prev` is (the same pod with the same requests and affinity flags: sums and lists stay valid);
   * false when `prev` is not on this node. Does not bump the generation: see `SchedulerCache.confirmInPlace`.
   */
  replacePod(prev: PodInfo, next: PodInfo): boolean {
    const i = this.pods.lastIndexOf(prev);
    if (i < 0) return false;
    this.pods[i] = next;
    if (prev.hasAffinity) {
      const j = this.podsWithAffinity.indexOf(prev);
      if (j >= 0) this.podsWithAffinity[j] = next;
    }
    if (prev.hasRequiredAntiAffinity) {
      const j = this.podsWithRequiredAntiAffinity.indexOf(prev);
      if (j >= 0) this.podsWithRequiredAntiAffinity[j] = next;
    }
    return true;
  }

  /** Removes the pod with this uid; false when it was not there. */
  removePod(uid: string): boolean {
    const i = this.pods.findIndex((p) => p.uid === uid);
    if (i < 0) return false;
    const pi = this.pods[i]!;
    this.pods.splice(i, 1);
    if (pi.hasAffinity) this.podsWithAffinity = this.podsWithAffinity.filter((p) => p.uid !== uid);
    if (pi.hasRequiredAntiAffinity) this.podsWithRequiredAntiAffinity = this.podsWithRequiredAntiAffinity.filter((p) => p.uid !== uid);
    this.requested.add(pi.requests, -1);
    this.nonZeroRequested.milliCPU -= pi.nonZeroMilliCPU;
    this.nonZeroRequested.memory -= pi.nonZeroMemory;
    this.syncSums();
    return true;
  }

  /** A copy that can be changed without touching this one (snapshot copies, preemption what-ifs). */
  clone(): NodeInfo {
    const c = new NodeInfo();
    c.node = this.node;
    c.name = this.name;
    c.labels = this.labels;
    c.taints = this.taints;
    c.pods = this.pods.slice();
    c.podsWithAffinity = this.podsWithAffinity.slice();
    c.podsWithRequiredAntiAffinity = this.podsWithRequiredAntiAffinity.slice();
    c.requested = this.requested.clone();
    c.nonZeroRequested = this.nonZeroRequested.clone();
    c.allocatable = this.allocatable;
    c.generation = this.generation;
    c.imageStates = this.imageStates;
    c.allocMilliCPU = this.allocMilliCPU;
    c.allocMemory = this.allocMemory;
    c.allocEphemeralStorage = this.allocEphemeralStorage;
    c.allocPods = this.allocPods;
    c.unschedulable = this.unschedulable;
    c.syncSums();
    return c;
  }
}

/** {@link NodeTable} flag: spec.unschedulable is set. */
export const NT_UNSCHEDULABLE = 1;
/** {@link NodeTable} flag: the node has a NoSchedule or NoExecute taint (TaintToleration's Filter must look). */
export const NT_FILTER_TAINTS = 2;
/** {@link NodeTable} flag: the node has a PreferNoSchedule taint (TaintToleration's Score must look). */
export const NT_PREFER_TAINTS = 4;
/** {@link NodeTable} flag: the node has extended resources (allocatable or requested scalars). */
export const NT_SCALARS = 8;

/** Number of float64 slots per node in {@link NodeTable.fit}. */
export const NT_STRIDE = 8;
/** Slot offsets in {@link NodeTable.fit}: allocatable, requested (real), pod count. */
export const NT_ALLOC_CPU = 0;
export const NT_ALLOC_MEM = 1;
export const NT_ALLOC_EPH = 2;
export const NT_ALLOC_PODS = 3;
export const NT_REQ_CPU = 4;
export const NT_REQ_MEM = 5;
export const NT_REQ_EPH = 6;
export const NT_POD_COUNT = 7;

/**
 * The numbers Filter and Score read for every evaluated node, packed by position in the snapshot's node list (one
 * 64-byte row per node in `fit`, the non-zero requests in `nonZero`, flag bits in `flags`). A scheduling cycle walks
 * ~500 consecutive positions of 5,000: reading these rows is sequential memory access, where dereferencing 500
 * different NodeInfo objects (and the boxed doubles behind their memory fields) was a cache miss or three per node and
 * most of the Filter/Score time. Written only by the {@link Snapshot}; read-only for plugins (see
 * `FilterPlugin.filterFast`).
 */
export class NodeTable {
  size = 0;
  fit = new Float64Array(0);
  /** Per node: [nonZeroMilliCPU, nonZeroMemory]. */
  nonZero = new Float64Array(0);
  flags = new Uint8Array(0);
  /**
   * Per position: a stamp unique to each {@link set} of that row (increasing, never reused, 0 = never set). A value
   * computed from a row alone stays valid while the row's stamp is unchanged (see `RowScoreMemo`).
   */
  stamp = new Float64Array(0);
  private nextStamp = 1;
  /** Label columns: label key → the value at each position (undefined: no such label). Built on first use. */
  private readonly columns = new Map<string, Array<string | undefined>>();
  private list: readonly NodeInfo[] = [];

  /**
   * The nodes of the table (the snapshot's list); called when the list is rebuilt, before the rows are {@link set}.
   * Label columns are dropped then and rebuilt on demand.
   */
  attach(list: readonly NodeInfo[]): void {
    this.list = list;
    this.columns.clear();
    this.resize(list.length);
  }

  /**
   * The value of label `key` of the node at each position (`labels[key]` of its NodeInfo), so that per-node label
   * lookups of a Filter fast path read one array instead of each node's labels object. Kept current by {@link set}.
   */
  column(key: string): ReadonlyArray<string | undefined> {
    let c = this.columns.get(key);
    if (!c) {
      if (this.columns.size >= 32) this.columns.clear();
      const n = this.size;
      c = new Array<string | undefined>(n);
      for (let i = 0; i < n; i++) c[i] = this.list[i]!.labels[key];
      this.columns.set(key, c);
    }
    return c;
  }

  /** Makes room for `n` nodes (contents of positions ≥ the old size are undefined until {@link set}). */
  resize(n: number): void {
    if (n > this.flags.length) {
      const cap = Math.max(n, this.flags.length * 2, 64);
      const fit = new Float64Array(cap * NT_STRIDE);
      fit.set(this.fit);
      const nz = new Float64Array(cap * 2);
      nz.set(this.nonZero);
      const flags = new Uint8Array(cap);
      flags.set(this.flags);
      const stamp = new Float64Array(cap);
      stamp.set(this.stamp);
      this.fit = fit;
      this.nonZero = nz;
      this.flags = flags;
      this.stamp = stamp;
    }
    this.size = n;
  }

  /** Copies the hot numbers of `ni` into position `i`. */
  set(i: number, ni: NodeInfo): void {
    const f = this.fit;
    const o = i * NT_STRIDE;
    f[o + NT_ALLOC_CPU] = ni.allocMilliCPU;
    f[o + NT_ALLOC_MEM] = ni.allocMemory;
    f[o + NT_ALLOC_EPH] = ni.allocEphemeralStorage;
    f[o + NT_ALLOC_PODS] = ni.allocPods;
    f[o + NT_REQ_CPU] = ni.reqMilliCPU;
    f[o + NT_REQ_MEM] = ni.reqMemory;
    f[o + NT_REQ_EPH] = ni.reqEphemeralStorage;
    f[o + NT_POD_COUNT] = ni.podCount;
    this.nonZero[2 * i] = ni.nonZeroMilliCPU;
    this.nonZero[2 * i + 1] = ni.nonZeroMemory;
    let fl = 0;
    if (ni.unschedulable) fl |= NT_UNSCHEDULABLE;
    if (ni.taints) {
      for (const t of ni.taints) {
        if (t.effect === 'NoSchedule' || t.effect === 'NoExecute') fl |= NT_FILTER_TAINTS;
        else if (t.effect === 'PreferNoSchedule') fl |= NT_PREFER_TAINTS;
      }
    }
    if (ni.allocatable.scalar.size || ni.requested.scalar.size) fl |= NT_SCALARS;
    this.flags[i] = fl;
    this.stamp[i] = this.nextStamp++;
    if (this.columns.size) for (const [k, c] of this.columns) c[i] = ni.labels[k];
  }
}
