/**
 * NodeResourcesFit (upstream `pkg/scheduler/framework/plugins/noderesources/fit.go`): a pod fits a node when the
 * node's allocatable minus what its pods (assumed ones included) already request covers the pod's effective request —
 * for cpu, memory, ephemeral-storage, the pod count and every extended resource (`nvidia.com/gpu`, hugepages). The
 * request counts init containers by their peak and sidecars by their sum, plus pod overhead (see `podRequests`).
 *
 * A shortfall reports one reason per resource ("Insufficient cpu", "Too many pods"); it is
 * UnschedulableAndUnresolvable when the request exceeds the node's whole allocatable (evicting pods cannot help),
 * Unschedulable otherwise. Scoring strategies, as upstream's `ScoringStrategy`: LeastAllocated (default; spreads),
 * MostAllocated (bin-packs — how GPUs are packed), RequestedToCapacityRatio (a piecewise-linear shape).
 */

import type { Pod } from 'kubernetes-types/core/v1.js';
import {
  ActionType, Code, CycleState, MAX_NODE_SCORE, Status,
  type ClusterEventWithHint, type EnqueueExtensions, type FastFilter, type FilterPlugin, type NodeInfo, type PreFilterPlugin,
  type PreScorePlugin, type ScoreInto, type ScorePlugin,
} from '../../framework/interface.js';
import {
  CPU, EPHEMERAL_STORAGE, MEMORY, NT_ALLOC_CPU, NT_ALLOC_EPH, NT_ALLOC_MEM, NT_ALLOC_PODS, NT_POD_COUNT, NT_REQ_CPU,
  NT_REQ_EPH, NT_REQ_MEM, NT_STRIDE, PodInfo, type NodeTable, type Resource,
} from '../../framework/node-info.js';

export const NAME = 'NodeResourcesFit';
const PRE_FILTER_KEY = `PreFilter${NAME}`;
const PRE_SCORE_KEY = `PreScore${NAME}`;

/** Reason when the node already runs its maximum number of pods (upstream). */
export const REASON_TOO_MANY_PODS = 'Too many pods';
/** Reason for a resource shortfall: "Insufficient cpu", "Insufficient nvidia.com/gpu" (upstream). */
export const insufficient = (resource: string) => `Insufficient ${resource}`;

/** A resource and its weight in scoring (upstream `ResourceSpec`). */
export interface ResourceSpec {
  name: string;
  weight?: number;
}

/** One point of the RequestedToCapacityRatio shape: utilization 0–100 → score 0–10 (upstream `UtilizationShapePoint`). */
export interface ShapePoint {
  utilization: number;
  score: number;
}

/** Plugin arguments (upstream `NodeResourcesFitArgs`). */
export interface NodeResourcesFitArgs {
  /** Extended resources whose requests are not checked. */
  ignoredResources?: string[];
  /** Resource groups (the part before `/`) whose requests are not checked. */
  ignoredResourceGroups?: string[];
  scoringStrategy?: {
    type?: 'LeastAllocated' | 'MostAllocated' | 'RequestedToCapacityRatio';
    /** Default: cpu and memory, weight 1 each. */
    resources?: ResourceSpec[];
    requestedToCapacityRatio?: { shape: ShapePoint[] };
  };
}

/** The default scoring resources (upstream `defaultResourceSpec`). */
export const DEFAULT_RESOURCES: ResourceSpec[] = [{ name: CPU, weight: 1 }, { name: MEMORY, weight: 1 }];

/** Upstream `MaxCustomPriorityScore`: shape scores are 0–10 and scaled ×10. */
const MAX_CUSTOM_PRIORITY_SCORE = 10;
const MAX_UTILIZATION = 100;

const isScalar = (r: string) => r !== CPU && r !== MEMORY && r !== EPHEMERAL_STORAGE && r !== 'pods';

/**
 * The (allocatable, requested-after-placing) pair of one resource on one node (upstream
 * `calculateResourceAllocatableRequest`); [0, 0] means "do not score this resource". `useRequested` picks real
 * requests (BalancedAllocation) instead of the non-zero defaults (Fit scoring).
 */
export function allocatableAndRequested(ni: NodeInfo, resource: string, podRequest: number, useRequested: boolean): [number, number] {
  if (podRequest === 0 && isScalar(resource)) return [0, 0];
  switch (resource) {
    case CPU: return [ni.allocatable.milliCPU, (useRequested ? ni.requested.milliCPU : ni.nonZeroRequested.milliCPU) + podRequest];
    case MEMORY: return [ni.allocatable.memory, (useRequested ? ni.requested.memory : ni.nonZeroRequested.memory) + podRequest];
    case EPHEMERAL_STORAGE: return [ni.allocatable.ephemeralStorage, ni.requested.ephemeralStorage + podRequest];
    default: return isScalar(resource) ? [ni.allocatable.scalar.get(resource) ?? 0, (ni.requested.scalar.get(resource) ?? 0) + podRequest] : [0, 0];
  }
}

/**
 * {@link allocatableAndRequested} without the pair allocation, for the per-node scoring loops: writes the pair into
 * `alloc[i]` / `req[i]` (req is 0 where alloc is 0).
 */
export function fillAllocatableAndRequested(ni: NodeInfo, resource: string, podRequest: number, useRequested: boolean, alloc: number[], req: number[], i: number): void {
  let a = 0;
  let r = 0;
  switch (resource) {
    case CPU: a = ni.allocMilliCPU; r = (useRequested ? ni.reqMilliCPU : ni.nonZeroMilliCPU) + podRequest; break;
    case MEMORY: a = ni.allocMemory; r = (useRequested ? ni.reqMemory : ni.nonZeroMemory) + podRequest; break;
    case EPHEMERAL_STORAGE: a = ni.allocEphemeralStorage; r = ni.reqEphemeralStorage + podRequest; break;
    default:
      if (podRequest !== 0 && isScalar(resource)) {
        a = ni.allocatable.scalar.get(resource) ?? 0;
        r = (ni.requested.scalar.get(resource) ?? 0) + podRequest;
      }
  }
  alloc[i] = a;
  req[i] = a === 0 ? 0 : r;
}

/**
 * Where each resource's numbers sit in a {@link NodeTable} row: `allocSlot[k]` in `fit`, `usedSlot[k]` in `fit` or,
 * when negative, the non-zero cpu (−1) / memory (−2) of `nonZero`. Undefined for resources other than
 * cpu/memory/ephemeral-storage.
 */
export function tableSlots(resources: readonly ResourceSpec[], useRequested: boolean): { allocSlot: number[]; usedSlot: number[] } | undefined {
  const allocSlot: number[] = [];
  const usedSlot: number[] = [];
  for (const r of resources) {
    switch (r.name) {
      case CPU: allocSlot.push(NT_ALLOC_CPU); usedSlot.push(useRequested ? NT_REQ_CPU : -1); break;
      case MEMORY: allocSlot.push(NT_ALLOC_MEM); usedSlot.push(useRequested ? NT_REQ_MEM : -2); break;
      case EPHEMERAL_STORAGE: allocSlot.push(NT_ALLOC_EPH); usedSlot.push(NT_REQ_EPH); break;
      default: return undefined;
    }
  }
  return { allocSlot, usedSlot };
}

/**
 * {@link fillAllocatableAndRequested} reading a {@link NodeTable} row instead of a NodeInfo, for the Score fast paths:
 * a filler for this pod's requests, or undefined when a resource is not cpu/memory/ephemeral-storage (scalars need
 * the NodeInfo's maps).
 */
export function tableFiller(resources: readonly ResourceSpec[], podReq: readonly number[], useRequested: boolean): ((t: NodeTable, i: number, alloc: number[], req: number[]) => void) | undefined {
  const n = resources.length;
  const slots = tableSlots(resources, useRequested);
  if (!slots) return undefined;
  const { allocSlot, usedSlot } = slots;
  return (t, i, alloc, req) => {
    const f = t.fit;
    const o = i * NT_STRIDE;
    for (let k = 0; k < n; k++) {
      const a = f[o + allocSlot[k]!]!;
      const u = usedSlot[k]!;
      const used = u >= 0 ? f[o + u]! : t.nonZero[2 * i + (u === -1 ? 0 : 1)]!;
      alloc[k] = a;
      req[k] = a === 0 ? 0 : used + podReq[k]!;
    }
  };
}

/**
 * Raw per-row scores of a batch scorer ({@link ScorePlugin.scoreFastInto}) remembered across cycles: a score computed
 * from a NodeTable row and the pod's two requests stays valid while the row's stamp is unchanged. Consecutive pods with
 * the same requests (replicas of one workload) then recompute only the rows that changed since — the node the last
 * pod was assumed on, the node a binding was confirmed on — instead of ~500 rows of divisions per plugin per cycle.
 */
export class RowScoreMemo {
  private table?: NodeTable;
  private r0 = NaN;
  private r1 = NaN;
  scores = new Float64Array(0);
  stamps = new Float64Array(0);

  /** Readies the memo for table `t` and requests (r0, r1), forgetting everything if either differs from last time. */
  prepare(t: NodeTable, r0: number, r1: number): void {
    const cap = t.stamp.length;
    if (t === this.table && r0 === this.r0 && r1 === this.r1 && this.stamps.length === cap) return;
    this.table = t;
    this.r0 = r0;
    this.r1 = r1;
    if (this.stamps.length !== cap) {
      this.scores = new Float64Array(cap);
      this.stamps = new Float64Array(cap);
    } else this.stamps.fill(0);
  }
}

/** The pod's request for each resource, with non-zero CPU/memory defaults unless `useRequested`. */
export function podRequestList(pi: PodInfo, resources: readonly ResourceSpec[], useRequested: boolean): number[] {
  return resources.map((r) => {
    if (!useRequested && r.name === CPU) return pi.nonZeroMilliCPU;
    if (!useRequested && r.name === MEMORY) return pi.nonZeroMemory;
    return pi.requests.get(r.name);
  });
}

type Scorer = (requested: number[], allocatable: number[]) => number;

const leastAllocated = (resources: ResourceSpec[]): Scorer => (req, alloc) => {
  let score = 0;
  let wsum = 0;
  for (let i = 0; i < req.length; i++) {
    if (alloc[i] === 0) continue;
    const w = resources[i]!.weight ?? 1;
    const r = req[i]!;
    const c = alloc[i]!;
    score += (r > c ? 0 : Math.trunc(((c - r) * MAX_NODE_SCORE) / c)) * w;
    wsum += w;
  }
  return wsum === 0 ? 0 : Math.trunc(score / wsum);
};

const mostAllocated = (resources: ResourceSpec[]): Scorer => (req, alloc) => {
  let score = 0;
  let wsum = 0;
  for (let i = 0; i < req.length; i++) {
    if (alloc[i] === 0) continue;
    const w = resources[i]!.weight ?? 1;
    const c = alloc[i]!;
    const r = Math.min(req[i]!, c);
    score += Math.trunc((r * MAX_NODE_SCORE) / c) * w;
    wsum += w;
  }
  return wsum === 0 ? 0 : Math.trunc(score / wsum);
};

/** Upstream `buildBrokenLinearFunction` over the scaled shape. */
function brokenLinear(shape: ShapePoint[]): (p: number) => number {
  return (p) => {
    for (let i = 0; i < shape.length; i++) {
      if (p <= shape[i]!.utilization) {
        if (i === 0) return shape[0]!.score;
        const a = shape[i - 1]!;
        const b = shape[i]!;
        return a.score + Math.trunc(((b.score - a.score) * (p - a.utilization)) / (b.utilization - a.utilization));
      }
    }
    return shape[shape.length - 1]!.score;
  };
}

const requestedToCapacityRatio = (resources: ResourceSpec[], shape: ShapePoint[]): Scorer => {
  const scaled = shape.map((p) => ({ utilization: p.utilization, score: p.score * (MAX_NODE_SCORE / MAX_CUSTOM_PRIORITY_SCORE) }));
  const f = brokenLinear(scaled);
  const resourceScore = (r: number, c: number) => (c === 0 || r > c ? f(MAX_UTILIZATION) : f(Math.trunc((r * MAX_UTILIZATION) / c)));
  return (req, alloc) => {
    let score = 0;
    let wsum = 0;
    for (let i = 0; i < req.length; i++) {
      if (alloc[i] === 0) continue;
      const w = resources[i]!.weight ?? 1;
      const s = resourceScore(req[i]!, alloc[i]!);
      if (s > 0) {
        score += s * w;
        wsum += w;
      }
    }
    return wsum === 0 ? 0 : Math.round(score / wsum);
  };
};

/** Validates a RequestedToCapacityRatio shape as upstream's args validation does. */
function validateShape(shape: ShapePoint[]): void {
  if (shape.length === 0) throw new Error('NodeResourcesFit: requestedToCapacityRatio.shape must not be empty');
  for (let i = 0; i < shape.length; i++) {
    const p = shape[i]!;
    if (p.utilization < 0 || p.utilization > 100) throw new Error(`NodeResourcesFit: shape[${i}].utilization must be in [0, 100]`);
    if (p.score < 0 || p.score > MAX_CUSTOM_PRIORITY_SCORE) throw new Error(`NodeResourcesFit: shape[${i}].score must be in [0, 10]`);
    if (i > 0 && p.utilization <= shape[i - 1]!.utilization) throw new Error('NodeResourcesFit: shape utilization values must be sorted in increasing order');
  }
}

/** One resource the pod lacks on a node (upstream `InsufficientResource`). */
export interface InsufficientResource {
  resourceName: string;
  reason: string;
  requested: number;
  used: number;
  capacity: number;
  /** The request exceeds the node's total allocatable: no eviction can help. */
  unresolvable: boolean;
}

/**
 * True when the pod certainly fits (no allocation): the hot path of Filter, taken by nearly every node. False means
 * "look closer" — {@link fitsRequest} then lists what is lacking, honouring ignored resources.
 */
function fitsQuickly(req: Resource, ni: NodeInfo): boolean {
  // The flat copies on NodeInfo: one object per node touched (see NodeInfo.allocMilliCPU).
  if (ni.podCount + 1 > ni.allocPods) return false;
  if (req.milliCPU > 0 && req.milliCPU > ni.allocMilliCPU - ni.reqMilliCPU) return false;
  if (req.memory > 0 && req.memory > ni.allocMemory - ni.reqMemory) return false;
  if (req.ephemeralStorage > 0 && req.ephemeralStorage > ni.allocEphemeralStorage - ni.reqEphemeralStorage) return false;
  if (req.scalar.size) {
    for (const [name, q] of req.scalar) {
      if (q > 0 && q > (ni.allocatable.scalar.get(name) ?? 0) - (ni.requested.scalar.get(name) ?? 0)) return false;
    }
  }
  return true;
}

/** {@link fitsQuickly} over a NodeTable row: Filter's fast path for pods without extended-resource requests. */
function fastFit(req: Resource): FastFilter | undefined {
  if (req.scalar.size) return undefined;
  const cpu = req.milliCPU;
  const mem = req.memory;
  const eph = req.ephemeralStorage;
  return (t, i) => {
    const f = t.fit;
    const o = i * NT_STRIDE;
    if (f[o + NT_POD_COUNT]! + 1 > f[o + NT_ALLOC_PODS]!) return false;
    if (cpu > 0 && cpu > f[o + NT_ALLOC_CPU]! - f[o + NT_REQ_CPU]!) return false;
    if (mem > 0 && mem > f[o + NT_ALLOC_MEM]! - f[o + NT_REQ_MEM]!) return false;
    if (eph > 0 && eph > f[o + NT_ALLOC_EPH]! - f[o + NT_REQ_EPH]!) return false;
    return true;
  };
}

const NO_NAMES: ReadonlySet<string> = new Set();

/** Upstream `fitsRequest`: every resource the pod lacks on the node. Exported for preemption, which re-checks fit. */
export function fitsRequest(req: Resource, ni: NodeInfo, ignored: ReadonlySet<string> = NO_NAMES, ignoredGroups: ReadonlySet<string> = NO_NAMES): InsufficientResource[] {
  const out: InsufficientResource[] = [];
  const alloc = ni.allocatable;
  const used = ni.requested;
  if (ni.pods.length + 1 > alloc.allowedPodNumber) {
    out.push({ resourceName: 'pods', reason: REASON_TOO_MANY_PODS, requested: 1, used: ni.pods.length, capacity: alloc.allowedPodNumber, unresolvable: false });
  }
  if (req.milliCPU === 0 && req.memory === 0 && req.ephemeralStorage === 0 && req.scalar.size === 0) return out;
  if (req.milliCPU > 0 && req.milliCPU > alloc.milliCPU - used.milliCPU) {
    out.push({ resourceName: CPU, reason: insufficient(CPU), requested: req.milliCPU, used: used.milliCPU, capacity: alloc.milliCPU, unresolvable: req.milliCPU > alloc.milliCPU });
  }
  if (req.memory > 0 && req.memory > alloc.memory - used.memory) {
    out.push({ resourceName: MEMORY, reason: insufficient(MEMORY), requested: req.memory, used: used.memory, capacity: alloc.memory, unresolvable: req.memory > alloc.memory });
  }
  if (req.ephemeralStorage > 0 && req.ephemeralStorage > alloc.ephemeralStorage - used.ephemeralStorage) {
    out.push({ resourceName: EPHEMERAL_STORAGE, reason: insufficient(EPHEMERAL_STORAGE), requested: req.ephemeralStorage, used: used.ephemeralStorage, capacity: alloc.ephemeralStorage, unresolvable: req.ephemeralStorage > alloc.ephemeralStorage });
  }
  for (const [name, q] of req.scalar) {
    if (q === 0) continue;
    if (ignored.has(name)) continue;
    const slash = name.indexOf('/');
    if (slash > 0 && ignoredGroups.has(name.slice(0, slash))) continue;
    const a = alloc.scalar.get(name) ?? 0;
    const u = used.scalar.get(name) ?? 0;
    if (q > a - u) out.push({ resourceName: name, reason: insufficient(name), requested: q, used: u, capacity: a, unresolvable: q > a });
  }
  return out;
}

/** Builds the plugin. Throws on invalid arguments (as upstream's args validation). */
export function newNodeResourcesFit(args: NodeResourcesFitArgs = {}) {
  const strategy = args.scoringStrategy?.type ?? 'LeastAllocated';
  const resources = args.scoringStrategy?.resources ?? DEFAULT_RESOURCES;
  for (const r of resources) if ((r.weight ?? 1) < 1 || (r.weight ?? 1) > 100) throw new Error(`NodeResourcesFit: resource ${r.name} weight must be in [1, 100]`);
  let scorer: Scorer;
  switch (strategy) {
    case 'LeastAllocated': scorer = leastAllocated(resources); break;
    case 'MostAllocated': scorer = mostAllocated(resources); break;
    case 'RequestedToCapacityRatio': {
      const shape = args.scoringStrategy?.requestedToCapacityRatio?.shape ?? [];
      validateShape(shape);
      scorer = requestedToCapacityRatio(resources, shape);
      break;
    }
    default: throw new Error(`NodeResourcesFit: scoring strategy ${String(strategy)} is not supported`);
  }
  const ignored = new Set(args.ignoredResources ?? []);
  const ignoredGroups = new Set(args.ignoredResourceGroups ?? []);
  const scratchReq = new Array<number>(resources.length).fill(0);
  const scratchAlloc = new Array<number>(resources.length).fill(0);
  const rowMemo = new RowScoreMemo();
  // Filter runs for hundreds of nodes per cycle with the same state: the last lookup is remembered by state identity.
  let memoState: CycleState | undefined;
  let scoreMemoState: CycleState | undefined;
  let scoreMemoReq: number[] | undefined;
  let memoReq: Resource | undefined;
  const requestsOf = (state: CycleState, pod: Pod): Resource => {
    if (memoState === state) return memoReq!;
    let r = state.read<Resource>(PRE_FILTER_KEY);
    if (!r) {
      r = state.podInfo(pod).requests;
      state.write(PRE_FILTER_KEY, r);
    }
    memoState = state;
    memoReq = r;
    return r;
  };

  return {
    name: NAME,
    preFilter(state: CycleState, pod: Pod) {
      memoReq = state.podInfo(pod).requests;
      memoState = state;
      state.write(PRE_FILTER_KEY, memoReq);
      return { status: null };
    },
    filter(state: CycleState, pod: Pod, ni: NodeInfo): Status | null {
      const req = requestsOf(state, pod);
      if (fitsQuickly(req, ni)) return null;
      const lacking = fitsRequest(req, ni, ignored, ignoredGroups);
      if (lacking.length === 0) return null;
      const code = lacking.some((l) => l.unresolvable) ? Code.UnschedulableAndUnresolvable : Code.Unschedulable;
      return new Status(code, lacking.map((l) => l.reason));
    },
    filterFast(state: CycleState, pod: Pod): FastFilter | undefined {
      return fastFit(requestsOf(state, pod));
    },
    preScore(state: CycleState, pod: Pod): Status | null {
      scoreMemoReq = podRequestList(state.podInfo(pod), resources, false);
      scoreMemoState = state;
      state.write(PRE_SCORE_KEY, scoreMemoReq);
      return null;
    },
    score(state: CycleState, pod: Pod, ni: NodeInfo): number {
      const podReq = (scoreMemoState === state ? scoreMemoReq : undefined) ?? state.read<number[]>(PRE_SCORE_KEY) ?? podRequestList(new PodInfo(pod), resources, false);
      // Scratch arrays reused across nodes: scoring is synchronous and the scorer does not keep them.
      for (let i = 0; i < resources.length; i++) fillAllocatableAndRequested(ni, resources[i]!.name, podReq[i]!, false, scratchAlloc, scratchReq, i);
      return scorer(scratchReq, scratchAlloc);
    },
    scoreFast(state: CycleState, pod: Pod): ((t: NodeTable, i: number) => number) | undefined {
      const podReq = (scoreMemoState === state ? scoreMemoReq : undefined) ?? state.read<number[]>(PRE_SCORE_KEY) ?? podRequestList(new PodInfo(pod), resources, false);
      const slots = strategy === 'LeastAllocated' ? tableSlots(resources, false) : undefined;
      if (slots) {
        // LeastAllocated fused over the row (the default strategy): leastAllocated() without the scratch arrays.
        const { allocSlot, usedSlot } = slots;
        const n = resources.length;
        const ws = resources.map((r) => r.weight ?? 1);
        return (t, i) => {
          const f = t.fit;
          const o = i * NT_STRIDE;
          let score = 0;
          let wsum = 0;
          for (let k = 0; k < n; k++) {
            const c = f[o + allocSlot[k]!]!;
            if (c === 0) continue;
            const u = usedSlot[k]!;
            const r = (u >= 0 ? f[o + u]! : t.nonZero[2 * i + (u === -1 ? 0 : 1)]!) + podReq[k]!;
            const w = ws[k]!;
            score += (r > c ? 0 : Math.trunc(((c - r) * MAX_NODE_SCORE) / c)) * w;
            wsum += w;
          }
          return wsum === 0 ? 0 : Math.trunc(score / wsum);
        };
      }
      const fill = tableFiller(resources, podReq, false);
      if (!fill) return undefined;
      return (t, i) => {
        fill(t, i, scratchAlloc, scratchReq);
        return scorer(scratchReq, scratchAlloc);
      };
    },
    scoreFastInto(state: CycleState, pod: Pod): ScoreInto | undefined {
      if (strategy !== 'LeastAllocated') return undefined;
      const slots = tableSlots(resources, false);
      if (!slots || resources.length !== 2) return undefined;
      const podReq = (scoreMemoState === state ? scoreMemoReq : undefined) ?? state.read<number[]>(PRE_SCORE_KEY) ?? podRequestList(new PodInfo(pod), resources, false);
      // scoreFast's LeastAllocated over two resources (the default: cpu, memory), unrolled, the loop over the nodes
      // inside: the same arithmetic in the same order, so the same scores.
      const a0 = slots.allocSlot[0]!;
      const a1 = slots.allocSlot[1]!;
      const u0 = slots.usedSlot[0]!;
      const u1 = slots.usedSlot[1]!;
      const nz0 = u0 === -1 ? 0 : 1;
      const nz1 = u1 === -1 ? 0 : 1;
      const p0 = podReq[0]!;
      const p1 = podReq[1]!;
      const w0 = resources[0]!.weight ?? 1;
      const w1 = resources[1]!.weight ?? 1;
      return (t, positions, n, weight, totals) => {
        const f = t.fit;
        const nz = t.nonZero;
        const stamp = t.stamp;
        rowMemo.prepare(t, p0, p1);
        const ms = rowMemo.stamps;
        const mv = rowMemo.scores;
        for (let k = 0; k < n; k++) {
          const i = positions[k]!;
          if (ms[i] === stamp[i]) {
            totals[k]! += mv[i]! * weight;
            continue;
          }
          const o = i * NT_STRIDE;
          let score = 0;
          let wsum = 0;
          const c0 = f[o + a0]!;
          if (c0 !== 0) {
            const r = (u0 >= 0 ? f[o + u0]! : nz[2 * i + nz0]!) + p0;
            score += (r > c0 ? 0 : Math.trunc(((c0 - r) * MAX_NODE_SCORE) / c0)) * w0;
            wsum += w0;
          }
          const c1 = f[o + a1]!;
          if (c1 !== 0) {
            const r = (u1 >= 0 ? f[o + u1]! : nz[2 * i + nz1]!) + p1;
            score += (r > c1 ? 0 : Math.trunc(((c1 - r) * MAX_NODE_SCORE) / c1)) * w1;
            wsum += w1;
          }
          const v = wsum === 0 ? 0 : Math.trunc(score / wsum);
          if (!(v >= 0 && v <= MAX_NODE_SCORE)) return false;
          mv[i] = v;
          ms[i] = stamp[i]!;
          totals[k]! += v * weight;
        }
        return true;
      };
    },
    eventsToRegister(): ClusterEventWithHint[] {
      return [
        // A pod leaving a node frees its requests.
        { event: { resource: 'AssignedPod', actionType: ActionType.Delete, label: 'AssignedPodDelete' } },
        { event: { resource: 'Pod', actionType: ActionType.UpdatePodScaleDown, label: 'PodScaleDown' } },
        { event: { resource: 'Node', actionType: ActionType.Add | ActionType.UpdateNodeAllocatable, label: 'NodeAddOrAllocatableChange' } },
      ];
    },
  } satisfies PreFilterPlugin & FilterPlugin & PreScorePlugin & ScorePlugin & EnqueueExtensions;
}
