/**
 * The scheduling queue (upstream `pkg/scheduler/backend/queue/scheduling_queue.go`, `PriorityQueue`), three parts:
 *
 * - **activeQ**: pods ready to be tried, a heap ordered by the QueueSort plugin (PrioritySort: higher
 *   `spec.priority` first, then earlier queue timestamp).
 * - **backoffQ**: pods that failed recently and wait out an exponential backoff — 1 s after the first attempt,
 *   doubling per attempt up to 10 s (upstream `podInitialBackoffDuration`/`podMaxBackoffDuration`) — ordered by
 *   backoff expiry and flushed to activeQ every second.
 * - **unschedulable pods**: pods that were rejected. They stay until a cluster event that one of the rejecting
 *   plugins registered for (node added, node labels/taints/allocatable changed, an assigned pod deleted, …) and whose
 *   queueing hint says `Queue` — then they go to backoffQ if still backing off, else activeQ — or until they have
 *   waited 5 minutes (upstream `podMaxInUnschedulablePodsDuration`, checked every 30 s).
 *
 * Events that arrive while a pod is being scheduled ("in flight") are remembered, so a pod that fails right after a
 * helpful event is requeued instead of parked (upstream's in-flight events, `moveRequestCycle` before it). Pods whose
 * PreEnqueue plugins say Pending are parked as gated until an update or event lets them through. All timing uses an
 * injected clock.
 */

import type { Pod } from 'kubernetes-types/core/v1.js';
import type { Clock, Timer } from '../../client/clock.js';
import { Code, type ClusterEvent, type ClusterEventWithHint, type QueuedPodInfo, type Status } from '../framework/interface.js';
import { PodInfo } from '../framework/node-info.js';
import { Heap } from './heap.js';

/** Upstream `DefaultPodInitialBackoffDuration`. */
export const DEFAULT_INITIAL_BACKOFF_MS = 1_000;
/** Upstream `DefaultPodMaxBackoffDuration`. */
export const DEFAULT_MAX_BACKOFF_MS = 10_000;
/** Upstream `DefaultPodMaxInUnschedulablePodsDuration`. */
export const DEFAULT_MAX_IN_UNSCHEDULABLE_MS = 5 * 60_000;

/** Events the queue itself knows, for plugins without registrations and for the periodic flush. */
export const UNSCHEDULABLE_TIMEOUT: ClusterEvent = { resource: '*', actionType: 4095, label: 'UnschedulableTimeout' };
/** Moves every unschedulable pod (upstream `ForceActivate`/`WildCardEvent`). */
export const FORCE_ACTIVATE: ClusterEvent = { resource: '*', actionType: 4095, label: 'ForceActivate' };

/** Options of a {@link SchedulingQueue}. */
export interface SchedulingQueueOptions {
  /** QueueSort ordering. */
  less(a: QueuedPodInfo, b: QueuedPodInfo): boolean;
  clock: Clock;
  /** PreEnqueue gate; a non-null status parks the pod as gated. */
  preEnqueue?(pod: Pod): Status | null;
  /** Plugin name → registered events (from the framework). Plugins absent here are woken by every event. */
  events?: ReadonlyMap<string, readonly ClusterEventWithHint[]>;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  maxInUnschedulableMs?: number;
}

interface InFlightEvent {
  event: ClusterEvent;
  oldObj: unknown;
  newObj: unknown;
}

const uidOf = (p: Pod) => p.metadata?.uid ?? `${p.metadata?.namespace}/${p.metadata?.name}`;

/** True when the update may change the scheduling outcome (upstream `isPodUpdated`: ignores status and bookkeeping). */
function isPodUpdated(oldPod: Pod, newPod: Pod): boolean {
  const strip = (p: Pod) => ({
    ...p,
    status: undefined,
    metadata: { ...p.metadata, resourceVersion: undefined, generation: undefined, managedFields: undefined },
  });
  return JSON.stringify(strip(oldPod)) !== JSON.stringify(strip(newPod));
}

/** See the module comment. */
export class SchedulingQueue {
  private readonly activeQ: Heap<QueuedPodInfo>;
  private readonly backoffQ: Heap<QueuedPodInfo>;
  private readonly unschedulable = new Map<string, QueuedPodInfo>();
  /**
   * Pods in flight (popped, attempt not over) → the sequence number of the first event they may see. Events are kept
   * once, in {@link events} (sequence `eventsBase + index`), for as long as some in-flight pod may need them
   * (upstream's single `inFlightEvents` list): recording an event costs O(1), not one push per in-flight pod — with
   * hundreds of bindings in flight that was most of the cost of a pod informer event. Map order is pop order, so the
   * first entry has the oldest start.
   */
  private readonly inFlight = new Map<string, number>();
  private events: InFlightEvent[] = [];
  private eventsBase = 0;
  private readonly clock: Clock;
  private readonly initialBackoff: number;
  private readonly maxBackoff: number;
  private readonly maxInUnschedulable: number;
  private waiters: Array<(q: QueuedPodInfo | undefined) => void> = [];
  /** The pending timer of each periodic flush (one per flush: a fired timer is replaced, not kept). */
  private timers: Timer[] = [];
  private closed = false;
  /** Incremented per pop (upstream `schedulingCycle`). */
  schedulingCycle = 0;

  constructor(private readonly opts: SchedulingQueueOptions) {
    this.clock = opts.clock;
    this.initialBackoff = opts.initialBackoffMs ?? DEFAULT_INITIAL_BACKOFF_MS;
    this.maxBackoff = opts.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS;
    this.maxInUnschedulable = opts.maxInUnschedulableMs ?? DEFAULT_MAX_IN_UNSCHEDULABLE_MS;
    const key = (q: QueuedPodInfo) => uidOf(q.pod);
    this.activeQ = new Heap(key, opts.less);
    this.backoffQ = new Heap(key, (a, b) => this.backoffExpiry(a) < this.backoffExpiry(b));
  }

  /** Starts the periodic flushes: backoffQ every 1 s, unschedulable leftovers every 30 s (upstream `Run`). */
  run(): void {
    const every = (ms: number, fn: () => void) => {
      // The slot of this flush in `timers`: every tick replaces its own timer (pushing one per tick grew the array by
      // one entry a second for as long as the scheduler ran).
      const slot = this.timers.length;
      const tick = () => {
        if (this.closed) return;
        fn();
        this.timers[slot] = this.clock.setTimer(tick, ms);
      };
      this.timers[slot] = this.clock.setTimer(tick, ms);
    };
    every(1_000, () => this.flushBackoffQCompleted());
    every(30_000, () => this.flushUnschedulableLeftover());
  }

  /** Stops timers and wakes pending `pop` calls with undefined. */
  close(): void {
    this.closed = true;
    for (const t of this.timers) t.cancel();
    this.timers = [];
    for (const w of this.waiters.splice(0)) w(undefined);
  }

  /** Backoff for the pod's attempts so far: 1 s, 2 s, 4 s, 8 s, 10 s, 10 s … (upstream `calculateBackoffDuration`). */
  backoffDuration(q: QueuedPodInfo): number {
    let d = this.initialBackoff;
    for (let i = 1; i < q.attempts; i++) {
      d *= 2;
      if (d > this.maxBackoff) return this.maxBackoff;
    }
    return Math.min(d, this.maxBackoff);
  }

  private backoffExpiry(q: QueuedPodInfo): number {
    return q.timestamp + this.backoffDuration(q);
  }

  private isBackingOff(q: QueuedPodInfo): boolean {
    return q.attempts > 0 && this.backoffExpiry(q) > this.clock.now();
  }

  private newQueued(pod: Pod): QueuedPodInfo {
    const now = this.clock.now();
    return { pod, podInfo: new PodInfo(pod), timestamp: now, initialAttemptTimestamp: undefined, attempts: 0, unschedulablePlugins: new Set(), pendingPlugins: new Set() };
  }

  /** Runs PreEnqueue; true when the pod may enter activeQ, else it is parked as gated. */
  private moveToActive(q: QueuedPodInfo, event: string): boolean {
    const s = this.opts.preEnqueue?.(q.pod);
    if (s && s.code !== Code.Success) {
      q.gatingPlugin = s.plugin;
      q.pendingPlugins = new Set(s.plugin ? [s.plugin] : []);
      this.unschedulable.set(uidOf(q.pod), q);
      return false;
    }
    q.gatingPlugin = undefined;
    q.pendingPlugins = new Set();
    this.unschedulable.delete(uidOf(q.pod));
    this.backoffQ.delete(uidOf(q.pod));
    this.activeQ.addOrUpdate(q);
    void event;
    this.wake();
    return true;
  }

  private wake(): void {
    while (this.waiters.length && this.activeQ.size) {
      const w = this.waiters.shift()!;
      w(this.popNow());
    }
  }

  /** A new unscheduled pod (informer add). */
  add(pod: Pod): void {
    const uid = uidOf(pod);
    if (this.inFlight.has(uid)) return;
    const q = this.unschedulable.get(uid) ?? this.backoffQ.get(uid) ?? this.activeQ.get(uid);
    if (q) {
      q.pod = pod;
      q.podInfo = new PodInfo(pod);
    }
    this.moveToActive(q ?? this.newQueued(pod), 'PodAdd');
  }

  /** An unscheduled pod changed (upstream `Update`). */
  update(oldPod: Pod, newPod: Pod): void {
    const uid = uidOf(newPod);
    const setPod = (q: QueuedPodInfo) => {
      q.pod = newPod;
      q.podInfo = new PodInfo(newPod);
    };
    const a = this.activeQ.get(uid);
    if (a) {
      setPod(a);
      this.activeQ.addOrUpdate(a);
      return;
    }
    const b = this.backoffQ.get(uid);
    if (b) {
      setPod(b);
      this.backoffQ.addOrUpdate(b);
      return;
    }
    const u = this.unschedulable.get(uid);
    if (u) {
      setPod(u);
      if (isPodUpdated(oldPod, newPod)) {
        if (u.gatingPlugin || !this.isBackingOff(u)) this.moveToActive(u, 'PodUpdate');
        else {
          this.unschedulable.delete(uid);
          this.backoffQ.addOrUpdate(u);
        }
      }
      return;
    }
    if (this.inFlight.has(uid)) return;
    this.add(newPod);
  }

  /** The pod was deleted or got assigned elsewhere: forget it. */
  delete(pod: Pod): void {
    const uid = uidOf(pod);
    this.activeQ.delete(uid);
    this.backoffQ.delete(uid);
    this.unschedulable.delete(uid);
  }

  /** Takes the next pod if one is ready, without waiting. */
  tryPop(): QueuedPodInfo | undefined {
    return this.activeQ.size ? this.popNow() : undefined;
  }

  /** Waits for the next pod (upstream `Pop`); undefined once closed. */
  pop(): Promise<QueuedPodInfo | undefined> {
    if (this.closed) return Promise.resolve(undefined);
    if (this.activeQ.size) return Promise.resolve(this.popNow());
    return new Promise((r) => this.waiters.push(r));
  }

  private popNow(): QueuedPodInfo {
    const q = this.activeQ.pop()!;
    q.attempts++;
    q.initialAttemptTimestamp ??= this.clock.now();
    this.schedulingCycle++;
    const uid = uidOf(q.pod);
    this.inFlight.delete(uid); // re-inserted last: the map stays ordered by start
    this.inFlight.set(uid, this.eventsBase + this.events.length);
    return q;
  }

  /** The scheduling attempt of this pod is over (success or after {@link addUnschedulableIfNotPresent}). */
  done(pod: Pod): void {
    if (this.inFlight.delete(uidOf(pod))) this.trimEvents();
  }

  /** Drops the recorded events no in-flight pod can see any more (amortized: in chunks). */
  private trimEvents(): void {
    if (this.inFlight.size === 0) {
      this.eventsBase += this.events.length;
      this.events = [];
      return;
    }
    const oldest: number = this.inFlight.values().next().value!;
    const drop = oldest - this.eventsBase;
    if (drop >= 256 && drop * 2 >= this.events.length) {
      this.events = this.events.slice(drop);
      this.eventsBase = oldest;
    }
  }

  /**
   * A scheduling attempt failed (upstream `AddUnschedulableIfNotPresent`). `status` is the failure: an Error goes to
   * backoffQ; a rejection is parked unless an event seen while the pod was in flight may have helped it.
   */
  addUnschedulableIfNotPresent(q: QueuedPodInfo, status: Status | null): void {
    const uid = uidOf(q.pod);
    const start = this.inFlight.get(uid);
    const seen = start === undefined ? [] : this.events.slice(start - this.eventsBase);
    if (start !== undefined) {
      this.inFlight.delete(uid);
      this.trimEvents();
    }
    if (this.activeQ.has(uid) || this.backoffQ.has(uid) || this.unschedulable.has(uid)) return;
    q.timestamp = this.clock.now();
    const rejected = status && (status.code === Code.Unschedulable || status.code === Code.UnschedulableAndUnresolvable);
    if (!rejected || (q.unschedulablePlugins.size === 0 && q.pendingPlugins.size === 0)) {
      this.backoffQ.addOrUpdate(q);
      return;
    }
    for (const e of seen) {
      if (this.podMatchesEvent(q, e.event, e.oldObj, e.newObj)) {
        this.backoffQ.addOrUpdate(q);
        return;
      }
    }
    this.unschedulable.set(uid, q);
  }

  /** Moves backoffQ pods whose backoff is over to activeQ (upstream `flushBackoffQCompleted`, every 1 s). */
  flushBackoffQCompleted(): void {
    const now = this.clock.now();
    for (;;) {
      const q = this.backoffQ.peek();
      if (!q || this.backoffExpiry(q) > now) break;
      this.backoffQ.pop();
      this.moveToActive(q, 'BackoffComplete');
    }
  }

  /** Moves pods that stayed unschedulable longer than 5 minutes (upstream `flushUnschedulablePodsLeftover`). */
  flushUnschedulableLeftover(): void {
    const now = this.clock.now();
    const stale = [...this.unschedulable.values()].filter((q) => now - q.timestamp > this.maxInUnschedulable);
    this.movePods(stale, UNSCHEDULABLE_TIMEOUT);
  }

  /**
   * A cluster event happened (upstream `MoveAllToActiveOrBackoffQueue`): every unschedulable pod that one of its
   * rejecting plugins says may now fit moves to backoffQ (still backing off) or activeQ.
   */
  moveAllToActiveOrBackoffQueue(event: ClusterEvent, oldObj?: unknown, newObj?: unknown, skip?: (pod: Pod) => boolean): void {
    if (this.inFlight.size) this.events.push({ event, oldObj, newObj });
    if (this.unschedulable.size === 0) return;
    const matched: QueuedPodInfo[] = [];
    for (const q of this.unschedulable.values()) {
      if (skip?.(q.pod)) continue;
      if (this.podMatchesEvent(q, event, oldObj, newObj)) matched.push(q);
    }
    this.movePods(matched, event);
  }

  private movePods(pods: QueuedPodInfo[], event: ClusterEvent): void {
    for (const q of pods) {
      const uid = uidOf(q.pod);
      if (q.gatingPlugin) {
        this.moveToActive(q, event.label);
        continue;
      }
      this.unschedulable.delete(uid);
      if (this.isBackingOff(q)) this.backoffQ.addOrUpdate(q);
      else this.moveToActive(q, event.label);
    }
  }

  /** Whether `event` may make the pod schedulable, asking the rejecting plugins' hints (upstream `isPodWorthRequeuing`). */
  private podMatchesEvent(q: QueuedPodInfo, event: ClusterEvent, oldObj: unknown, newObj: unknown): boolean {
    if (event.resource === '*' && event.actionType === 4095) return true;
    const rejectors = q.unschedulablePlugins.size || q.pendingPlugins.size ? [...q.unschedulablePlugins, ...q.pendingPlugins] : undefined;
    if (!rejectors) return true;
    const events = this.opts.events;
    for (const plugin of rejectors) {
      const regs = events?.get(plugin);
      if (!regs) return true; // a plugin without registrations is woken by everything
      for (const r of regs) {
        if (r.event.resource !== '*' && r.event.resource !== event.resource) continue;
        if ((r.event.actionType & event.actionType) === 0) continue;
        if (!r.hint) return true;
        try {
          if (r.hint(q.pod, oldObj, newObj) === 'Queue') return true;
        } catch {
          return true; // upstream: a failing hint queues the pod rather than risk stranding it
        }
      }
    }
    return false;
  }

  /** Whether pods wait in activeQ or are being scheduled or bound (popped, not yet done). */
  hasWork(): boolean {
    return this.activeQ.size > 0 || this.inFlight.size > 0;
  }

  /** Counts per sub-queue (upstream `PendingPods` summary) for metrics and tests. */
  lengths(): { active: number; backoff: number; unschedulable: number; inFlight: number } {
    return { active: this.activeQ.size, backoff: this.backoffQ.size, unschedulable: this.unschedulable.size, inFlight: this.inFlight.size };
  }

  /** Where a pod is: 'active', 'backoff', 'unschedulable', 'gated', 'inFlight' or undefined. */
  where(pod: Pod): 'active' | 'backoff' | 'unschedulable' | 'gated' | 'inFlight' | undefined {
    const uid = uidOf(pod);
    if (this.activeQ.has(uid)) return 'active';
    if (this.backoffQ.has(uid)) return 'backoff';
    const u = this.unschedulable.get(uid);
    if (u) return u.gatingPlugin ? 'gated' : 'unschedulable';
    if (this.inFlight.has(uid)) return 'inFlight';
    return undefined;
  }

  /** Pods waiting in the unschedulable set (for diagnostics). */
  unschedulablePods(): QueuedPodInfo[] {
    return [...this.unschedulable.values()];
  }
}
