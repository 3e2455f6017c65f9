/**
 * Pod predicates and orderings the workload controllers share (upstream `pkg/api/v1/pod/util.go` and
 * `pkg/controller/controller_utils.go`): readiness, availability after minReadySeconds, "active" pods, and the
 * `ActivePodsWithRanks` order that decides which pods a scale-down deletes first.
 */
import type { Pod, PodCondition } from 'kubernetes-types/core/v1.js';

/** The pod's Ready condition, if any. */
export function readyCondition(pod: Pod): PodCondition | undefined {
  return pod.status?.conditions?.find((c) => c.type === 'Ready');
}

/** Upstream `podutil.IsPodReady`: the Ready condition is True. */
export function isPodReady(pod: Pod): boolean {
  return readyCondition(pod)?.status === 'True';
}

/**
 * Upstream `podutil.IsPodAvailable`: ready, and (when minReadySeconds > 0) ready for at least that long, judged by
 * the Ready condition's lastTransitionTime.
 */
export function isPodAvailable(pod: Pod, minReadySeconds: number, nowMs: number): boolean {
  if (!isPodReady(pod)) return false;
  if (minReadySeconds <= 0) return true;
  const t = readyCondition(pod)?.lastTransitionTime;
  if (!t) return false;
  return Date.parse(t) + minReadySeconds * 1000 <= nowMs;
}

/** When a ready pod becomes available (ms since epoch), for requeueing; undefined when not ready. */
export function availableAt(pod: Pod, minReadySeconds: number): number | undefined {
  if (!isPodReady(pod)) return undefined;
  const t = readyCondition(pod)?.lastTransitionTime;
  return (t ? Date.parse(t) : 0) + Math.max(0, minReadySeconds) * 1000;
}

/** Upstream `controller.IsPodActive`: not Succeeded, not Failed, not being deleted. */
export function isPodActive(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed' && !pod.metadata?.deletionTimestamp;
}

/** The `namespace/name` key of a pod (upstream `controller.PodKey`). */
export function podKey(pod: Pod): string {
  return `${pod.metadata?.namespace}/${pod.metadata?.name}`;
}

const PHASE_ORDER: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

/** Upstream annotation `controller.kubernetes.io/pod-deletion-cost`: lower cost is deleted first. */
export const POD_DELETION_COST = 'controller.kubernetes.io/pod-deletion-cost';

function deletionCost(pod: Pod): number {
  const v = pod.metadata?.annotations?.[POD_DELETION_COST];
  if (v === undefined) return 0;
  const n = Number(v);
  return Number.isInteger(n) ? n : 0;
}

function restarts(pod: Pod): number {
  let max = 0;
  for (const cs of pod.status?.containerStatuses ?? []) max = Math.max(max, cs.restartCount ?? 0);
  return max;
}

function time(s: string | undefined): number | undefined {
  return s ? Date.parse(s) : undefined;
}

/**
 * Compares two pods for deletion (upstream `ActivePodsWithRanks.Less`): negative when `a` should go first.
 * Keys in order: unscheduled before scheduled; Pending < Unknown < Running; not ready before ready; lower
 * pod-deletion-cost first; more related pods on the same node first (`rank`); ready for less time first; more
 * restarts first; newer first. Upstream buckets the two timestamps logarithmically; Skiff compares them exactly.
 */
export function compareForDeletion(a: Pod, b: Pod, rankA = 0, rankB = 0): number {
  const aNode = a.spec?.nodeName ?? '';
  const bNode = b.spec?.nodeName ?? '';
  if ((aNode === '') !== (bNode === '')) return aNode === '' ? -1 : 1;
  const pa = PHASE_ORDER[a.status?.phase ?? 'Pending'] ?? 0;
  const pb = PHASE_ORDER[b.status?.phase ?? 'Pending'] ?? 0;
  if (pa !== pb) return pa - pb;
  const ra = isPodReady(a);
  const rb = isPodReady(b);
  if (ra !== rb) return ra ? 1 : -1;
  const ca = deletionCost(a);
  const cb = deletionCost(b);
  if (ca !== cb) return ca - cb;
  if (rankA !== rankB) return rankB - rankA;
  if (ra && rb) {
    const ta = time(readyCondition(a)?.lastTransitionTime);
    const tb = time(readyCondition(b)?.lastTransitionTime);
    if (ta !== tb) {
      if (ta === undefined) return -1;
      if (tb === undefined) return 1;
      return tb - ta;
    }
  }
  const xa = restarts(a);
  const xb = restarts(b);
  if (xa !== xb) return xb - xa;
  const ka = time(a.metadata?.creationTimestamp);
  const kb = time(b.metadata?.creationTimestamp);
  if (ka !== kb) {
    if (ka === undefined) return -1;
    if (kb === undefined) return 1;
    return kb - ka;
  }
  return 0;
}
