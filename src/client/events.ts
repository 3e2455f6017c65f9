/**
 * Recording `core/v1` Events the way client-go's `record.EventRecorder` + `EventCorrelator` do, so `kubectl
 * describe` shows "(x5 over 3m)" rather than five rows: an event identical to a recent one — same involved object,
 * type, reason, message and source — within 10 minutes is folded into it by PATCHing `count` and `lastTimestamp`
 * instead of creating a new object. New events are named `<object name>.<hex nanosecond timestamp>` like
 * upstream's. Recording never blocks or fails the caller: events go through a bounded in-memory queue (1000 like
 * the upstream broadcaster; overflow is dropped with a log line) and write failures are logged, not thrown.
 *
 * Cost per event matters (the scheduler records one per bound pod): recording only queues the subject's reference;
 * correlation runs when an event is taken off the queue (as upstream's, in the sink goroutine), with identity keys
 * that are plain string concatenations built once per event and spam filter, aggregator and correlation caches that
 * are LRU maps of 4096 entries like upstream's (O(1) eviction, no scans). Up to `maxInFlight` writes run at once
 * (default one) — writes of the same correlation key stay strictly ordered (create before its PATCHes).
 */

import { realClock, type Clock } from './clock.js';
import { DynamicClient, type ResourceClient } from './dynamic.js';
import { defaultLogger, type Logger } from './log.js';
import { isNotFound } from './rest.js';
import { rfc3339 } from '../api/time.js';

/** Event severity (`corev1.EventTypeNormal` / `EventTypeWarning`). */
export type EventType = 'Normal' | 'Warning';

/** The core/v1 Event fields the recorder writes. */
export interface CoreEvent {
  apiVersion?: 'v1';
  kind?: 'Event';
  metadata: { name?: string; namespace?: string; resourceVersion?: string };
  involvedObject: { apiVersion?: string; kind?: string; name?: string; namespace?: string; uid?: string; resourceVersion?: string };
  reason: string;
  message: string;
  type: EventType;
  source: { component: string; host?: string };
  reportingComponent: string;
  reportingInstance: string;
  firstTimestamp: string;
  lastTimestamp: string;
  count: number;
}

/** Spam filter burst and refill period (client-go defaults: 25, one token per 5 minutes). */
const SPAM_BURST = 25;
const SPAM_REFILL_MS = 300_000;
/** Distinct messages for one (object, reason) before the aggregator combines them (client-go: 10). */
const AGGREGATE_MAX_SIMILAR = 10;
/** Entries of each LRU cache (client-go `maxLruCacheEntries`). */
const LRU_ENTRIES = 4096;
/** Most one log line about dropped events per this many ms. */
const DROP_LOG_INTERVAL_MS = 10_000;
/** Key separator: cannot occur in names, kinds, types or reasons. */
const SEP = '\u0000';

/** Options of an {@link EventRecorder}. */
export interface EventRecorderOptions {
  /** `source.component` and `reportingComponent` (e.g. `replicaset-controller`, `default-scheduler`, `kubelet`). */
  component: string;
  /** `source.host` and `reportingInstance` (the node name for kubelets). */
  host?: string;
  /** Window in which identical events are aggregated (upstream's 10 minutes). */
  aggregateWindowMs?: number;
  /** Most events waiting to be written; more are dropped (upstream broadcaster queue length 1000). */
  maxQueue?: number;
  /**
   * Most event writes in flight at once (default 1, upstream's sequential sink: a burst's events wait in the queue
   * instead of competing with the recording component's own requests at the apiserver).
   */
  maxInFlight?: number;
  /**
   * While this returns true, one write at most is in flight whatever `maxInFlight` says: the recording component
   * has requests of its own waiting on the apiserver (the scheduler's bindings), which go first.
   */
  busy?: () => boolean;
  clock?: Clock;
  logger?: Logger;
}

/** What an event can be about: any object with kind and metadata. */
export interface EventSubject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; uid?: string; resourceVersion?: string };
}

interface Seen {
  name: string;
  namespace: string;
  count: number;
  lastSeen: number;
}

interface Pending {
  /**
   * The event's `involvedObject`, copied from the subject when recorded: a queued event holds these few strings, not
   * the subject's whole metadata (the scheduler's queue holds thousands of events while bindings go first).
   */
  ref: CoreEvent['involvedObject'];
  type: EventType;
  reason: string;
  message: string;
  at: number;
}

/**
 * A Map kept to the {@link LRU_ENTRIES} most recently used entries (insertion order = recency: a hit moves its entry
 * to the end). Eviction reads the oldest entry through one iterator kept across calls: every entry before its
 * position has been deleted (evicted, or moved to the end by a hit), so its next entry is the oldest. A fresh
 * `keys().next()` per eviction instead walks over all the deleted slots at the front of the table — thousands once
 * the map is full and every event evicts one (the scheduler's recorder: one new object per event), which made the
 * LRU upkeep most of the recorder's own cost.
 */
class Lru<K, V> {
  private readonly m = new Map<K, V>();
  private oldest?: IterableIterator<K>;

  get size(): number {
    return this.m.size;
  }

  /** The value, marking the entry most recently used. */
  get(k: K): V | undefined {
    const m = this.m;
    const v = m.get(k);
    if (v !== undefined) {
      m.delete(k);
      m.set(k, v);
    }
    return v;
  }

  /** Sets `k` as the most recently used entry, evicting the least recently used beyond {@link LRU_ENTRIES}. */
  set(k: K, v: V): void {
    const m = this.m;
    m.delete(k);
    m.set(k, v);
    if (m.size <= LRU_ENTRIES) return;
    let r = (this.oldest ??= m.keys()).next();
    if (r.done) r = (this.oldest = m.keys()).next();
    m.delete(r.value as K);
  }
}

/**
 * Lower-case hex of `ms * 1e6 + extra` (a Unix time in nanoseconds, as upstream names events `%x` of UnixNano) for
 * 0 ≤ ms < 2^48 and 0 ≤ extra < 1e6, exact without BigInt: the value is split at 2^24 (six hex digits) into two
 * parts that each stay below 2^53.
 */
export function nanosHex(ms: number, extra: number): string {
  const msHi = Math.floor(ms / 0x1000000);
  let lo = (ms - msHi * 0x1000000) * 1_000_000 + extra;
  const carry = Math.floor(lo / 0x1000000);
  lo -= carry * 0x1000000;
  const hi = msHi * 1_000_000 + carry;
  const loHex = lo.toString(16);
  return hi === 0 ? loHex : hi.toString(16) + '000000'.slice(loHex.length) + loHex;
}

/** See the module comment. */
export class EventRecorder {
  private readonly events: ResourceClient<CoreEvent>;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly window: number;
  private readonly maxQueue: number;
  private readonly maxInFlight: number;
  private readonly seen = new Lru<string, Seen>();
  private readonly queue: Pending[] = [];
  /** Writes in flight, by correlation key: a later write of the same key waits for it. */
  private readonly busy = new Map<string, Promise<void>>();
  private inFlight = 0;
  private idle?: { promise: Promise<void>; resolve: () => void };
  /**
   * A pump is scheduled for the end of this turn. Writes start there, not inside the recording call: events are
   * background work, and the recording code is often on someone's critical path (the scheduler records `Scheduled`
   * while it handles the binding answer, in the turn where `skiff server`'s kubelet reads the bound pod; the kubelet
   * records `Created`/`Started` on a pod's start path). Events recorded in one turn start together.
   */
  private pumpScheduled = false;
  /** Events dropped on a full queue since the last log line about it, and when that line was written. */
  private dropped = 0;
  private lastDropLog?: number;
  private seq = 0;
  private closed = false;
  private readonly spam = new Lru<string, { tokens: number; last: number }>();
  /** Messages seen per (object, type, reason): the first as a plain string, a Set only once a second differs. */
  private readonly similar = new Lru<string, { first: string; messages?: Set<string>; lastSeen: number }>();
  private readonly source: { component: string; host?: string };

  constructor(
    client: DynamicClient | ResourceClient<CoreEvent>,
    private readonly opts: EventRecorderOptions,
  ) {
    this.events = client instanceof DynamicClient ? client.resource<CoreEvent>('v1', 'Event') : client;
    this.clock = opts.clock ?? realClock;
    this.log = opts.logger ?? defaultLogger(`events/${opts.component}`);
    this.window = opts.aggregateWindowMs ?? 10 * 60_000;
    this.maxQueue = opts.maxQueue ?? 1000;
    this.maxInFlight = Math.max(1, opts.maxInFlight ?? 1);
    this.source = { component: opts.component, host: opts.host };
  }

  /**
   * Records an event about `obj` (client-go `Event`). Returns at once; the write happens in the background.
   * Events about cluster-scoped objects go to the `default` namespace, as upstream's recorder does.
   */
  event(obj: EventSubject, type: EventType, reason: string, message: string): void {
    if (this.closed) return;
    // Queued behind the writes in flight: the ones the end-of-turn pump will start at once are not waiting.
    if (this.queue.length - (this.maxInFlight - this.inFlight) >= this.maxQueue) {
      // One line per 10 s at most, with the count: an overloaded component drops thousands a second.
      this.dropped++;
      const now = this.clock.now();
      if (this.lastDropLog === undefined || now - this.lastDropLog >= DROP_LOG_INTERVAL_MS) {
        this.log.warn({ reason, object: obj.metadata?.name, dropped: this.dropped }, 'event queue full; dropping events');
        this.dropped = 0;
        this.lastDropLog = now;
      }
      return;
    }
    const m = obj.metadata ?? {};
    // Correlation (spam filter, aggregation, the identity keys) runs when the event is taken off the queue, as
    // upstream's EventCorrelator runs in the broadcaster's sink goroutine: recording stays a few field copies on the
    // caller's path, and a burst's events cost nothing more until they are written.
    const ref = { apiVersion: obj.apiVersion, kind: obj.kind, name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion };
    this.queue.push({ ref, type, reason, message, at: this.clock.now() });
    if (!this.pumpScheduled) {
      this.pumpScheduled = true;
      setImmediate(() => {
        this.pumpScheduled = false;
        this.pump();
      });
    }
  }

  /** Resolves when every queued event has been written (or failed and been logged). */
  async flush(): Promise<void> {
    while (this.inFlight > 0 || this.queue.length > 0) {
      this.idle ??= (() => { let resolve!: () => void; const promise = new Promise<void>((r) => { resolve = r; }); return { promise, resolve }; })();
      await this.idle.promise;
    }
  }

  /** Stops accepting events and waits for the queue to drain (client-go `Broadcaster.Shutdown`). */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  /** Starts queued writes up to the in-flight limit, in queue order. */
  private pump(): void {
    const limit = this.opts.busy?.() ? 1 : this.maxInFlight;
    while (this.inFlight < limit && this.queue.length > 0) {
      const p = this.queue.shift()!;
      // Component and host are fixed per recorder, so the subject, type (and later reason, message) identify an event.
      const r = p.ref;
      const key = `${r.kind}${SEP}${r.namespace}${SEP}${r.name}${SEP}${r.uid}${SEP}${r.apiVersion}${SEP}${p.type}`;
      if (!this.allowBySpamFilter(key, p.at)) continue;
      this.inFlight++;
      // Aggregation runs here, in queue order, so the outcome does not depend on write latencies.
      const agg = this.aggregate(p, key);
      const ckey = `${key}${SEP}${p.reason}${SEP}${agg.combined ? '(combined)' : agg.message}`;
      const before = this.busy.get(ckey);
      const run = (before ? before.then(() => this.write(p, agg.message, ckey)) : this.write(p, agg.message, ckey))
        .catch((err) => this.log.error({ err }, 'event write failed unexpectedly'));
      this.busy.set(ckey, run);
      void run.then(() => {
        if (this.busy.get(ckey) === run) this.busy.delete(ckey);
        this.inFlight--;
        if (this.queue.length > 0) this.pump();
        else this.settleIdle();
      });
    }
    // The queue may have ended in events the spam filter dropped, with nothing in flight.
    this.settleIdle();
  }

  /** Wakes {@link EventRecorder.flush} once nothing is queued or in flight. */
  private settleIdle(): void {
    if (this.inFlight === 0 && this.queue.length === 0 && this.idle) {
      const idle = this.idle;
      this.idle = undefined;
      idle.resolve();
    }
  }

  /**
   * client-go's EventSourceObjectSpamFilter: per source + involved object, a token bucket with a burst of 25 that
   * refills one token every 5 minutes; events beyond it are dropped (a 1,000-pod scale-up records 25 events, not
   * 1,000).
   */
  private allowBySpamFilter(key: string, at: number): boolean {
    let b = this.spam.get(key);
    if (!b) {
      this.spam.set(key, { tokens: SPAM_BURST - 1, last: at });
      return true;
    }
    b.tokens = Math.min(SPAM_BURST, b.tokens + (at - b.last) / SPAM_REFILL_MS);
    b.last = at;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /**
   * client-go's EventAggregator: once more than 10 events with the same source, object, type and reason but
   * different messages arrive within the window, later ones are folded into one
   * "(combined from similar events): …" event whose count grows.
   */
  private aggregate(p: Pending, subjectKey: string): { message: string; combined: boolean } {
    const key = `${subjectKey}${SEP}${p.reason}`;
    let rec = this.similar.get(key);
    if (!rec || p.at - rec.lastSeen > this.window) {
      // The common case (first event of its kind about this object): nothing to combine with.
      this.similar.set(key, { first: p.message, lastSeen: p.at });
      return { message: p.message, combined: false };
    }
    rec.lastSeen = p.at;
    if (p.message === rec.first) return { message: p.message, combined: false };
    const messages = (rec.messages ??= new Set([rec.first]));
    if (messages.has(p.message) || messages.size < AGGREGATE_MAX_SIMILAR) {
      messages.add(p.message);
      return { message: p.message, combined: false };
    }
    return { message: `(combined from similar events): ${p.message}`, combined: true };
  }

  private async write(p: Pending, message: string, key: string): Promise<void> {
    const { ref, type, reason, at } = p;
    // resourceVersion changes with every write of the object, so it is not part of the identity (upstream agrees).
    const prev = this.seen.get(key);
    const ts = rfc3339(at); // formats each second once
    if (prev && at - prev.lastSeen <= this.window) {
      const count = prev.count + 1;
      try {
        await this.events.patch(prev.namespace, prev.name, 'strategic', { count, lastTimestamp: ts, message }, { discardResult: true });
        prev.count = count;
        prev.lastSeen = at;
        return;
      } catch (err) {
        if (!isNotFound(err)) {
          this.log.warn({ err, event: prev.name, reason }, 'could not update event');
          return;
        }
        // The event expired (events have a TTL) or was deleted: create a fresh one, as upstream does.
      }
    }
    const namespace = ref.namespace || 'default';
    const ev: CoreEvent = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${ref.name}.${nanosHex(at, this.seq++ % 1_000_000)}`, namespace },
      involvedObject: ref,
      reason,
      message,
      type,
      source: this.source,
      reportingComponent: this.opts.component,
      reportingInstance: this.opts.host ?? '',
      firstTimestamp: ts,
      lastTimestamp: ts,
      count: 1,
    };
    try {
      await this.events.create(namespace, ev, { discardResult: true });
      this.seen.set(key, { name: ev.metadata.name!, namespace, count: 1, lastSeen: at });
    } catch (err) {
      this.log.warn({ err, event: ev.metadata.name, reason }, 'could not create event');
    }
  }
}
