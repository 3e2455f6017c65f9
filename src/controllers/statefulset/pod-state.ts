/**
 * Pod and ownership predicates used by the StatefulSet and DaemonSet controllers, matching upstream's
 * `podutil.IsPodReady`/`IsPodAvailable` and `metav1.GetControllerOf`/`NewControllerRef`.
 */
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { isPodAvailable, isPodReady } from '../pod-utils.js';

export { isPodAvailable, isPodReady };

/** What ownership needs to know about an owner. */
export interface OwnerLike {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; uid?: string; deletionTimestamp?: string };
}

/** A controller reference as upstream controllers set it: controller and blockOwnerDeletion true. */
export function controllerRef(owner: OwnerLike, apiVersion: string, kind: string): OwnerReference {
  return { apiVersion, kind, name: owner.metadata!.name!, uid: owner.metadata!.uid!, controller: true, blockOwnerDeletion: true };
}

/** The owner reference with `controller: true`, if any (upstream `metav1.GetControllerOf`). */
export function controllerOf(obj: { metadata?: { ownerReferences?: readonly unknown[] } }): OwnerReference | undefined {
  return (obj.metadata?.ownerReferences as OwnerReference[] | undefined)?.find((r) => r.controller === true);
}

/**
 * Milliseconds until a ready pod becomes available, or undefined when it is not ready or already available. Lets a
 * controller requeue exactly when availability changes (upstream requeues after minReadySeconds).
 */
export function msUntilAvailable(pod: Pod, minReadySeconds: number, now: number): number | undefined {
  if (!minReadySeconds || !isPodReady(pod)) return undefined;
  const c = pod.status?.conditions?.find((x) => x.type === 'Ready');
  const since = c?.lastTransitionTime ? Date.parse(c.lastTransitionTime) : NaN;
  if (Number.isNaN(since)) return minReadySeconds * 1000;
  const left = since + minReadySeconds * 1000 - now;
  return left > 0 ? left : undefined;
}

/** Marked for deletion (upstream `isTerminating`). */
export function isTerminating(obj: { metadata?: { deletionTimestamp?: string } }): boolean {
  return !!obj.metadata?.deletionTimestamp;
}

/**
 * Scales an int-or-percent against `total`, rounding percentages up as DaemonSet rolling updates and StatefulSet
 * maxUnavailable do (upstream `intstr.GetScaledValueFromIntOrPercent(…, roundUp=true)`).
 */
export function scaledValue(v: number | string | undefined, total: number, fallback: number): number {
  if (v === undefined || v === null) return fallback;
  if (typeof v === 'number') return v;
  const m = /^(\d+)%$/.exec(v);
  if (m) return Math.ceil((Number(m[1]) * total) / 100);
  if (/^\d+$/.test(v)) return Number(v);
  throw new Error(`invalid value for IntOrString: invalid value "${v}"`);
}
