/**
 * In-memory bookkeeping of the Job controller that the informer caches cannot give (upstream
 * pkg/controller/job/tracking_utils.go, backoff_utils.go and pkg/controller/controller_utils.go expectations):
 * - {@link PodExpectations}: creations/deletions issued but not yet seen in the Pod cache, so a sync that runs
 *   before the cache catches up does not create duplicates;
 * - {@link FinalizerExpectations}: Pods whose tracking finalizer was removed but whose update was not yet seen, so
 *   they are not counted twice;
 * - {@link BackoffStore}: failures since the last success and the time of the last failure, from which the delay
 *   before creating replacement Pods is computed (10 s doubling, capped).
 */
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { Clock } from '../../client/clock.js';

/** Upstream `ExpectationsTimeout`: stale expectations are ignored after five minutes. */
const EXPECTATIONS_TIMEOUT_MS = 5 * 60_000;

/** Counts of Pod creations/deletions a Job waits to observe (upstream `ControllerExpectations`). */
export class PodExpectations {
  private readonly m = new Map<string, { add: number; del: number; at: number }>();

  constructor(private readonly clock: Clock) {}

  /** Adds expected creations and deletions for `key`. */
  expect(key: string, add: number, del: number): void {
    const e = this.m.get(key);
    if (e && (e.add > 0 || e.del > 0)) {
      e.add += add;
      e.del += del;
      e.at = this.clock.now();
    } else this.m.set(key, { add, del, at: this.clock.now() });
  }

  creationObserved(key: string): void {
    const e = this.m.get(key);
    if (e) e.add--;
  }

  deletionObserved(key: string): void {
    const e = this.m.get(key);
    if (e) e.del--;
  }

  /** True when nothing is outstanding (or the expectations expired). */
  satisfied(key: string): boolean {
    const e = this.m.get(key);
    return !e || (e.add <= 0 && e.del <= 0) || this.clock.now() - e.at > EXPECTATIONS_TIMEOUT_MS;
  }

  delete(key: string): void {
    this.m.delete(key);
  }
}

/** Pod UIDs whose finalizer removal is in flight, per Job (upstream `uidTrackingExpectations`). */
export class FinalizerExpectations {
  private readonly m = new Map<string, Set<string>>();

  expect(key: string, uids: string[]): void {
    let s = this.m.get(key);
    if (!s) this.m.set(key, (s = new Set()));
    for (const u of uids) s.add(u);
  }

  observed(key: string, uid: string): void {
    this.m.get(key)?.delete(uid);
  }

  expected(key: string): Set<string> {
    return new Set(this.m.get(key) ?? []);
  }

  delete(key: string): void {
    this.m.delete(key);
  }
}

/** Failures since the last success (upstream `backoffRecord`). */
export interface BackoffRecord {
  failuresAfterLastSuccess: number;
  lastFailureTime?: number;
}

/**
 * The moment a Pod finished: the latest `finishedAt` of its terminated containers, else the latest condition
 * transition, else its deletion or creation time (upstream `getFinishedTime`).
 */
export function finishedTime(pod: Pod): number {
  let t = 0;
  for (const cs of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
    const f = cs.state?.terminated?.finishedAt;
    if (f) t = Math.max(t, Date.parse(f));
  }
  if (t) return t;
  for (const c of pod.status?.conditions ?? []) if (c.lastTransitionTime) t = Math.max(t, Date.parse(c.lastTransitionTime));
  if (t) return t;
  const d = pod.metadata?.deletionTimestamp ?? pod.metadata?.creationTimestamp;
  return d ? Date.parse(d) : 0;
}

/** Per-Job backoff records (upstream `backoffStore`). */
export class BackoffStore {
  private readonly m = new Map<string, BackoffRecord>();

  /** The record this sync would store given the newly finished Pods (upstream `newBackoffRecord`). */
  next(key: string, newSucceeded: Pod[], newFailed: Pod[]): BackoffRecord {
    const cur: BackoffRecord = { ...(this.m.get(key) ?? { failuresAfterLastSuccess: 0 }) };
    const failTimes = newFailed.map(finishedTime).sort((a, b) => a - b);
    const okTimes = newSucceeded.map(finishedTime).sort((a, b) => a - b);
    if (okTimes.length === 0) {
      if (failTimes.length === 0) return cur;
      return { failuresAfterLastSuccess: cur.failuresAfterLastSuccess + failTimes.length, lastFailureTime: failTimes[failTimes.length - 1] };
    }
    if (failTimes.length === 0) return { failuresAfterLastSuccess: 0 };
    const lastOk = okTimes[okTimes.length - 1];
    const lastFail = failTimes[failTimes.length - 1];
    if (lastOk > lastFail) return { failuresAfterLastSuccess: 0 };
    return { failuresAfterLastSuccess: failTimes.filter((t) => t > lastOk).length, lastFailureTime: lastFail };
  }

  set(key: string, r: BackoffRecord): void {
    this.m.set(key, r);
  }

  delete(key: string): void {
    this.m.delete(key);
  }
}

/**
 * Time left before the next Pod may be created after `failures` consecutive failures, the last at `lastFailure`:
 * `base·2^(failures−1)` capped at `max`, minus the time already elapsed (upstream
 * `getRemainingTimeForFailuresCount`).
 */
export function remainingBackoff(clock: Clock, baseMs: number, maxMs: number, failures: number, lastFailure: number | undefined): number {
  if (failures <= 0 || lastFailure === undefined) return 0;
  let d = baseMs;
  for (let i = 1; i < failures; i++) {
    d *= 2;
    if (d >= maxMs) {
      d = maxMs;
      break;
    }
  }
  const elapsed = clock.now() - lastFailure;
  return d < elapsed ? 0 : d - elapsed;
}
