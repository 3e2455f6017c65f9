/**
 * NodeResourcesBalancedAllocation (upstream `noderesources/balanced_allocation.go`): prefers nodes whose resources
 * would be used evenly after placing the pod — score = (1 − standard deviation of the requested/allocatable
 * fractions) × 100, fractions capped at 1, resources with zero allocatable ignored. Uses the pods' real requests
 * (not the non-zero defaults). Best-effort pods (nothing requested) skip it, as upstream does since
 * kubernetes/kubernetes#129138, so they do not pile onto one node.
 */

import type { Pod } from 'kubernetes-types/core/v1.js';
import { CycleState, MAX_NODE_SCORE, Status, type NodeInfo, type PreScorePlugin, type ScorePlugin } from '../../framework/interface.js';
import { PodInfo } from '../../framework/node-info.js';
import { allocatableAndRequested, DEFAULT_RESOURCES, podRequestList, type ResourceSpec } from '../node-resources-fit/index.js';

export const NAME = 'NodeResourcesBalancedAllocation';
const PRE_SCORE_KEY = `PreScore${NAME}`;

/** Plugin arguments (upstream `NodeResourcesBalancedAllocationArgs`). */
export interface BalancedAllocationArgs {
  /** Default: cpu and memory. */
  resources?: ResourceSpec[];
}

/** Upstream `balancedResourceScorer`. */
export function balancedScore(requested: readonly number[], allocatable: readonly number[]): number {
  const fractions: number[] = [];
  let total = 0;
  for (let i = 0; i < requested.length; i++) {
    if (allocatable[i] === 0) continue;
    const f = Math.min(1, requested[i]! / allocatable[i]!);
    total += f;
    fractions.push(f);
  }
  let std = 0;
  if (fractions.length === 2) std = Math.abs((fractions[0]! - fractions[1]!) / 2);
  else if (fractions.length > 2) {
    const mean = total / fractions.length;
    let sum = 0;
    for (const f of fractions) sum += (f - mean) * (f - mean);
    std = Math.sqrt(sum / fractions.length);
  }
  return Math.trunc((1 - std) * MAX_NODE_SCORE);
}

/** Builds the plugin. */
export function newBalancedAllocation(args: BalancedAllocationArgs = {}) {
  const resources = args.resources ?? DEFAULT_RESOURCES;
  return {
    name: NAME,
    preScore(state: CycleState, pod: Pod): Status | null {
      const req = podRequestList(new PodInfo(pod), resources, true);
      if (req.every((r) => r === 0)) return Status.skip();
      state.write(PRE_SCORE_KEY, req);
      return null;
    },
    score(state: CycleState, pod: Pod, ni: NodeInfo): number {
      const podReq = state.read<number[]>(PRE_SCORE_KEY) ?? podRequestList(new PodInfo(pod), resources, true);
      const req: number[] = [];
      const alloc: number[] = [];
      for (let i = 0; i < resources.length; i++) {
        const [a, r] = allocatableAndRequested(ni, resources[i]!.name, podReq[i]!, true);
        alloc.push(a);
        req.push(r);
      }
      return balancedScore(req, alloc);
    },
  } satisfies PreScorePlugin & ScorePlugin;
}
