/**
 * NodeResourcesBalancedAllocation (upstream `noderesources/balanced_allocation.go`): prefers nodes whose resources
 * would be used evenly after placing the pod — score = (1 − standard deviation of the requested/allocatable
 * fractions) × 100, fractions capped at 1, resources with zero allocatable ignored. Uses the pods' real requests
 * (not the non-zero defaults). Best-effort pods (nothing requested) skip it, as upstream does since
 * kubernetes/kubernetes#129138, so they do not pile onto one node.
 */

import type { Pod } from 'kubernetes-types/core/v1.js';
import { CycleState, MAX_NODE_SCORE, Status, type NodeInfo, type PreScorePlugin, type ScoreInto, type ScorePlugin } from '../../framework/interface.js';
import { NT_STRIDE, PodInfo, type NodeTable } from '../../framework/node-info.js';
import { DEFAULT_RESOURCES, fillAllocatableAndRequested, podRequestList, RowScoreMemo, tableFiller, tableSlots, type ResourceSpec } from '../node-resources-fit/index.js';

export const NAME = 'NodeResourcesBalancedAllocation';
const PRE_SCORE_KEY = `PreScore${NAME}`;

/** Plugin arguments (upstream `NodeResourcesBalancedAllocationArgs`). */
export interface BalancedAllocationArgs {
  /** Default: cpu and memory. */
  resources?: ResourceSpec[];
}

/** Upstream `balancedResourceScorer`. */
export function balancedScore(requested: readonly number[], allocatable: readonly number[]): number {
  // Two passes over the resources instead of a fractions array: this runs once per node per pod.
  let total = 0;
  let count = 0;
  let f0 = 0;
  let f1 = 0;
  for (let i = 0; i < requested.length; i++) {
    if (allocatable[i] === 0) continue;
    const f = Math.min(1, requested[i]! / allocatable[i]!);
    if (count === 0) f0 = f;
    else if (count === 1) f1 = f;
    total += f;
    count++;
  }
  let std = 0;
  if (count === 2) std = Math.abs((f0 - f1) / 2);
  else if (count > 2) {
    const mean = total / count;
    let sum = 0;
    for (let i = 0; i < requested.length; i++) {
      if (allocatable[i] === 0) continue;
      const f = Math.min(1, requested[i]! / allocatable[i]!);
      sum += (f - mean) * (f - mean);
    }
    std = Math.sqrt(sum / count);
  }
  return Math.trunc((1 - std) * MAX_NODE_SCORE);
}

/** Builds the plugin. */
export function newBalancedAllocation(args: BalancedAllocationArgs = {}) {
  const resources = args.resources ?? DEFAULT_RESOURCES;
  const scratchReq = new Array<number>(resources.length).fill(0);
  const scratchAlloc = new Array<number>(resources.length).fill(0);
  let memo: { state: CycleState; req: number[] } | undefined;
  const rowMemo = new RowScoreMemo();
  return {
    name: NAME,
    preScore(state: CycleState, pod: Pod): Status | null {
      const req = podRequestList(state.podInfo(pod), resources, true);
      if (req.every((r) => r === 0)) return Status.skip();
      state.write(PRE_SCORE_KEY, req);
      memo = { state, req };
      return null;
    },
    score(state: CycleState, pod: Pod, ni: NodeInfo): number {
      // The PreScore result, remembered by state identity (Score runs for every feasible node with the same state).
      const podReq = (memo?.state === state ? memo.req : undefined) ?? state.read<number[]>(PRE_SCORE_KEY) ?? podRequestList(new PodInfo(pod), resources, true);
      // Scratch arrays reused across nodes (scoring is synchronous). Where alloc is 0 balancedScore skips the pair.
      for (let i = 0; i < resources.length; i++) fillAllocatableAndRequested(ni, resources[i]!.name, podReq[i]!, true, scratchAlloc, scratchReq, i);
      return balancedScore(scratchReq, scratchAlloc);
    },
    scoreFast(state: CycleState, pod: Pod): ((t: NodeTable, i: number) => number) | undefined {
      const podReq = (memo?.state === state ? memo.req : undefined) ?? state.read<number[]>(PRE_SCORE_KEY) ?? podRequestList(new PodInfo(pod), resources, true);
      const fill = tableFiller(resources, podReq, true);
      const slots = tableSlots(resources, true);
      if (!fill || !slots) return undefined;
      // balancedScore fused over the row for up to two scored resources (the default: cpu, memory); more take the
      // generic two-pass path.
      const { allocSlot, usedSlot } = slots;
      const n = resources.length;
      return (t, i) => {
        const f = t.fit;
        const o = i * NT_STRIDE;
        let count = 0;
        let f0 = 0;
        let f1 = 0;
        for (let k = 0; k < n; k++) {
          const a = f[o + allocSlot[k]!]!;
          if (a === 0) continue;
          const fr = Math.min(1, (f[o + usedSlot[k]!]! + podReq[k]!) / a);
          if (count === 0) f0 = fr;
          else if (count === 1) f1 = fr;
          count++;
        }
        if (count > 2) {
          fill(t, i, scratchAlloc, scratchReq);
          return balancedScore(scratchReq, scratchAlloc);
        }
        const std = count === 2 ? Math.abs((f0 - f1) / 2) : 0;
        return Math.trunc((1 - std) * MAX_NODE_SCORE);
      };
    },
    scoreFastInto(state: CycleState, pod: Pod): ScoreInto | undefined {
      const slots = tableSlots(resources, true);
      if (!slots || resources.length !== 2) return undefined;
      const podReq = (memo?.state === state ? memo.req : undefined) ?? state.read<number[]>(PRE_SCORE_KEY) ?? podRequestList(new PodInfo(pod), resources, true);
      // scoreFast's two-resource case (the default: cpu, memory), unrolled, the loop over the nodes inside: the same
      // arithmetic in the same order, so the same scores.
      const a0 = slots.allocSlot[0]!;
      const a1 = slots.allocSlot[1]!;
      const s0 = slots.usedSlot[0]!;
      const s1 = slots.usedSlot[1]!;
      const p0 = podReq[0]!;
      const p1 = podReq[1]!;
      return (t, positions, n, weight, totals) => {
        const f = t.fit;
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
          const c0 = f[o + a0]!;
          const c1 = f[o + a1]!;
          let v: number;
          if (c0 !== 0 && c1 !== 0) {
            const f0 = Math.min(1, (f[o + s0]! + p0) / c0);
            const f1 = Math.min(1, (f[o + s1]! + p1) / c1);
            v = Math.trunc((1 - Math.abs((f0 - f1) / 2)) * MAX_NODE_SCORE);
          } else v = MAX_NODE_SCORE; // fewer than two resources: std 0
          if (!(v >= 0 && v <= MAX_NODE_SCORE)) return false;
          mv[i] = v;
          ms[i] = stamp[i]!;
          totals[k]! += v * weight;
        }
        return true;
      };
    },
  } satisfies PreScorePlugin & ScorePlugin;
}
