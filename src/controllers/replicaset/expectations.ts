/**
 * Controller expectations (upstream `pkg/controller/controller_utils.go` `UIDTrackingControllerExpectations`):
 * after a controller issues N creates or deletes for an owner it records that it *expects* to see them in its
 * informer, and does not act on that owner again until every one has been observed (or five minutes have passed,
 * in case a watch event was lost). This is what keeps a ReplicaSet whose informer lags its own writes from creating
 * the same pods twice. Deletions are tracked by pod key, so a pod seen first as terminating and then as gone is
 * counted once.
 */
import type { Clock } from '../../client/clock.js';

/** Upstream `ExpectationsTimeout`: expectations older than this are considered satisfied. */
export const EXPECTATIONS_TIMEOUT_MS = 5 * 60_000;

interface Expectation {
  add: number;
  del: number;
  timestamp: number;
  deleteKeys: Set<string>;
}

/** See the module comment. Keys are the owner's `namespace/name`. */
export class ControllerExpectations {
  private readonly store = new Map<string, Expectation>();

  constructor(
    private readonly clock: Clock,
    private readonly timeoutMs = EXPECTATIONS_TIMEOUT_MS,
  ) {}

  /**
   * True when the owner may be synced: no expectations recorded (a new owner, or one whose expectations were
   * deleted), all of them observed, or recorded longer ago than the timeout (upstream `SatisfiedExpectations`).
   */
  satisfied(key: string): boolean {
    const e = this.store.get(key);
    if (!e) return true;
    if (e.add <= 0 && e.del <= 0) return true;
    return this.clock.now() - e.timestamp > this.timeoutMs;
  }

  /** Records that `n` pods are about to be created (upstream `ExpectCreations`); replaces earlier expectations. */
  expectCreations(key: string, n: number): void {
    this.store.set(key, { add: n, del: 0, timestamp: this.clock.now(), deleteKeys: new Set() });
  }

  /** Records that these pods are about to be deleted (upstream `UIDTrackingControllerExpectations.ExpectDeletions`). */
  expectDeletions(key: string, podKeys: string[]): void {
    this.store.set(key, { add: 0, del: podKeys.length, timestamp: this.clock.now(), deleteKeys: new Set(podKeys) });
  }

  /** The informer saw one of the expected creations, or a create failed and will not be seen (`CreationObserved`). */
  creationObserved(key: string): void {
    const e = this.store.get(key);
    if (e) e.add--;
  }

  /** The informer saw `podKey` deleted or terminating; counted once per expected pod (`DeletionObserved`). */
  deletionObserved(key: string, podKey: string): void {
    const e = this.store.get(key);
    if (e && e.deleteKeys.delete(podKey)) e.del--;
  }

  /** Forgets an owner (it was deleted), as upstream `DeleteExpectations`. */
  delete(key: string): void {
    this.store.delete(key);
  }
}
