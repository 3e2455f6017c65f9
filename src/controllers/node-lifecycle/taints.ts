/**
 * Taint and toleration helpers for the node lifecycle controller (upstream `k8s.io/api/core/v1` `ToleratesTaint`,
 * `pkg/util/taints` and the taint manager's `getMinTolerationTime`).
 */
import type { NodeCondition, Taint, Toleration } from 'kubernetes-types/core/v1.js';

/** `v1.TaintNodeNotReady`: the node reports Ready=False. */
export const TAINT_NOT_READY = 'node.kubernetes.io/not-ready';
/** `v1.TaintNodeUnreachable`: the node's Ready condition is Unknown (its kubelet stopped reporting). */
export const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';
/** `v1.TaintNodeUnschedulable`: `spec.unschedulable` (cordon). */
export const TAINT_UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';

/**
 * Upstream `nodeConditionToTaintKeyStatusMap` (NoSchedule pass): which condition status maps to which taint.
 */
export const CONDITION_TAINTS: Array<{ type: string; status: string; key: string }> = [
  { type: 'Ready', status: 'False', key: TAINT_NOT_READY },
  { type: 'Ready', status: 'Unknown', key: TAINT_UNREACHABLE },
  { type: 'MemoryPressure', status: 'True', key: 'node.kubernetes.io/memory-pressure' },
  { type: 'DiskPressure', status: 'True', key: 'node.kubernetes.io/disk-pressure' },
  { type: 'NetworkUnavailable', status: 'True', key: 'node.kubernetes.io/network-unavailable' },
  { type: 'PIDPressure', status: 'True', key: 'node.kubernetes.io/pid-pressure' },
];

/** `Toleration.ToleratesTaint`: effect, key and (for `Equal`) value must match; an empty key with Exists matches all. */
export function toleratesTaint(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  if (!t.key && t.operator !== 'Exists') return false;
  const op = t.operator ?? 'Equal';
  if (op === 'Exists') return true;
  if (op === 'Equal') return (t.value ?? '') === (taint.value ?? '');
  return false;
}

/**
 * The tolerations a pod effectively has for NoExecute taint eviction. The apiserver's DefaultTolerationSeconds
 * admission gives every pod `not-ready`/`unreachable` NoExecute tolerations for 300 s unless it tolerates them
 * already; that admission is not part of the controller-manager, so the taint manager applies the same rule with
 * `defaultSeconds` (`ControllerManagerConfig.defaultNotReadyTolerationSeconds`) for pods that have none — a pod that
 * already went through that admission is unaffected, and one that did not is treated as if it had.
 */
export function effectiveTolerations(tolerations: readonly Toleration[] | undefined, defaultSeconds: number): Toleration[] {
  const out = [...(tolerations ?? [])];
  const covers = (key: string) => out.some((t) => (t.key === key || !t.key) && (!t.effect || t.effect === 'NoExecute'));
  for (const key of [TAINT_NOT_READY, TAINT_UNREACHABLE]) {
    if (!covers(key)) out.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: defaultSeconds });
  }
  return out;
}

/**
 * The taint manager's decision for one pod against a node's NoExecute taints (upstream `processPodOnNode`):
 * `evictNow` when some taint is not tolerated; otherwise the smallest `tolerationSeconds` among the tolerations
 * used (undefined: tolerated forever; 0 or less: evict now, as upstream).
 */
export function noExecuteDecision(taints: readonly Taint[], tolerations: readonly Toleration[]): { evictNow: boolean; minSeconds?: number } {
  const used: Toleration[] = [];
  for (const taint of taints) {
    const m = tolerations.filter((t) => toleratesTaint(t, taint));
    if (m.length === 0) return { evictNow: true };
    used.push(...m);
  }
  let min: number | undefined;
  for (const t of used) {
    if (t.tolerationSeconds === undefined || t.tolerationSeconds === null) continue;
    if (t.tolerationSeconds <= 0) return { evictNow: true };
    if (min === undefined || t.tolerationSeconds < min) min = t.tolerationSeconds;
  }
  return { evictNow: false, minSeconds: min };
}

/**
 * The taints the controller wants for a node's conditions (upstream `doNoExecuteTaintingPass` and
 * `doNoScheduleTaintingPass`): NoExecute not-ready/unreachable from Ready, NoSchedule for every mapped condition
 * and for `spec.unschedulable`.
 */
export function desiredTaints(conditions: readonly NodeCondition[], unschedulable: boolean): Array<{ key: string; effect: 'NoExecute' | 'NoSchedule' }> {
  const out: Array<{ key: string; effect: 'NoExecute' | 'NoSchedule' }> = [];
  const status = (type: string) => conditions.find((c) => c.type === type)?.status ?? (type === 'Ready' ? 'Unknown' : undefined);
  const ready = status('Ready');
  if (ready === 'False') out.push({ key: TAINT_NOT_READY, effect: 'NoExecute' });
  if (ready === 'Unknown') out.push({ key: TAINT_UNREACHABLE, effect: 'NoExecute' });
  for (const m of CONDITION_TAINTS) if (status(m.type) === m.status) out.push({ key: m.key, effect: 'NoSchedule' });
  if (unschedulable) out.push({ key: TAINT_UNSCHEDULABLE, effect: 'NoSchedule' });
  return out;
}

/** Every (key, effect) this controller owns: taints with these are added and removed by it alone. */
export const MANAGED_TAINTS: ReadonlySet<string> = new Set([
  `${TAINT_NOT_READY}:NoExecute`, `${TAINT_UNREACHABLE}:NoExecute`, `${TAINT_UNSCHEDULABLE}:NoSchedule`,
  ...CONDITION_TAINTS.map((m) => `${m.key}:NoSchedule`),
]);

/**
 * The node's taints after reconciling the managed ones: unmanaged taints kept in order, managed ones kept if
 * still wanted, missing ones appended (`timeAdded` for NoExecute, as upstream). Undefined when nothing changes.
 */
export function reconcileTaints(current: readonly Taint[] | undefined, want: Array<{ key: string; effect: string }>, nowIso: string): Taint[] | undefined {
  const wantSet = new Set(want.map((w) => `${w.key}:${w.effect}`));
  const cur = [...(current ?? [])];
  const kept = cur.filter((t) => !MANAGED_TAINTS.has(`${t.key}:${t.effect}`) || wantSet.has(`${t.key}:${t.effect}`));
  const have = new Set(kept.map((t) => `${t.key}:${t.effect}`));
  const added: Taint[] = want
    .filter((w) => !have.has(`${w.key}:${w.effect}`))
    .map((w) => (w.effect === 'NoExecute' ? { key: w.key, effect: w.effect, timeAdded: nowIso } : { key: w.key, effect: w.effect }));
  if (added.length === 0 && kept.length === cur.length) return undefined;
  return [...kept, ...added];
}
