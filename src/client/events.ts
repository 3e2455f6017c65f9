/**
 * Recording `core/v1` Events the way client-go's `record.EventRecorder` + `EventCorrelator` do, so `kubectl
 * describe` shows "(x5 over 3m)" rather than five rows: an event identical to a recent one — same involved object,
 * type, reason, message and source — within 10 minutes is folded into it by PATCHing `count` and `lastTimestamp`
 * instead of creating a new object. New events are named `<object name>.<hex nanosecond timestamp>` like
 * upstream's. Recording never blocks or fails the caller: events go through a bounded in-memory queue (1000 like
 * the upstream broadcaster; overflow is dropped with a log line) and write failures are logged, not thrown.
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

/** Options of an {@link EventRecorder}. */
/** Spam filter burst and refill period (client-go defaults: 25, one token per 5 minutes). */
const SPAM_BURST = 25;
const SPAM_REFILL_MS = 300_000;
/** Distinct messages for one (object, reason) before the aggregator combines them (client-go: 10). */
const AGGREGATE_MAX_SIMILAR = 10;

export interface EventRecorderOptions {
  /** `source.component` and `reportingComponent` (e.g. `replicaset-controller`, `default-scheduler`, `kubelet`). */
  component: string;
  /** `source.host` and `reportingInstance` (the node name for kubelets). */
  host?: string;
  /** Window in which identical events are aggregated (upstream's 10 minutes). */
  aggregateWindowMs?: number;
  /** Most events waiting to be written; more are dropped (upstream broadcaster queue length 1000). */
  maxQueue?: number;
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


/** See the module comment. */
export class EventRecorder {
  private readonly events: ResourceClient<CoreEvent>;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly window: number;
  private readonly maxQueue: number;
  private readonly seen = new Map<string, Seen>();
  private readonly queue: Array<() => Promise<void>> = [];
  private draining?: Promise<void>;
  private seq = 0;
  private closed = false;
  private readonly spam = new Map<string, { tokens: number; last: number }>();
  private readonly similar = new Map<string, { messages: Set<string>; lastSeen: number }>();

  constructor(
    client: DynamicClient | ResourceClient<CoreEvent>,
    private readonly opts: EventRecorderOptions,
  ) {
    this.events = client instanceof DynamicClient ? client.resource<CoreEvent>('v1', 'Event') : client;
    this.clock = opts.clock ?? realClock;
    this.log = opts.logger ?? defaultLogger(`events/${opts.component}`);
    this.window = opts.aggregateWindowMs ?? 10 * 60_000;
    this.maxQueue = opts.maxQueue ?? 1000;
  }

  /**
   * Records an event about `obj` (client-go `Event`). Returns at once; the write happens in the background.
   * Events about cluster-scoped objects go to the `default` namespace, as upstream's recorder does.
   */
  event(obj: EventSubject, type: EventType, reason: string, message: string): void {
    if (this.closed) return;
    if (this.queue.length >= this.maxQueue) {
      this.log.warn({ reason, object: obj.metadata?.name }, 'event queue full; dropping event');
      return;
    }
    const at = this.clock.now();
    if (!this.allowBySpamFilter(obj, type, at)) return;
    this.queue.push(() => this.write(obj, type, reason, message, at));
    if (!this.draining) this.draining = this.drain();
  }

  /** Resolves when every queued event has been written (or failed and been logged). */
  async flush(): Promise<void> {
    while (this.draining) await this.draining;
  }

  /** Stops accepting events and waits for the queue to drain (client-go `Broadcaster.Shutdown`). */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  private async drain(): Promise<void> {
    for (let job = this.queue.shift(); job; job = this.queue.shift()) {
      try {
        await job();
      } catch (err) {
        this.log.error({ err }, 'event write failed unexpectedly');
      }
    }
    this.draining = undefined;
  }

  /**
   * client-go's EventSourceObjectSpamFilter: per source + involved object, a token bucket with a burst of 25 that
   * refills one token every 5 minutes; events beyond it are dropped (a 1,000-pod scale-up records 25 events, not
   * 1,000).
   */
  private allowBySpamFilter(obj: EventSubject, type: EventType, at: number): boolean {
    const m = obj.metadata ?? {};
    const key = JSON.stringify([this.opts.component, this.opts.host, obj.kind, m.namespace, m.name, m.uid, obj.apiVersion, type]);
    const b = this.spam.get(key) ?? { tokens: SPAM_BURST, last: at };
    b.tokens = Math.min(SPAM_BURST, b.tokens + (at - b.last) / SPAM_REFILL_MS);
    b.last = at;
    this.spam.set(key, b);
    if (this.spam.size > 4096) for (const [k, v] of this.spam) if (v.tokens >= SPAM_BURST) this.spam.delete(k);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /**
   * client-go's EventAggregator: once more than 10 events with the same source, object, type and reason but
   * different messages arrive within the window, later ones are folded into one
   * "(combined from similar events): …" event whose count grows.
   */
  private aggregate(obj: EventSubject, type: EventType, reason: string, message: string, at: number): { message: string; combined: boolean } {
    const m = obj.metadata ?? {};
    const key = JSON.stringify([this.opts.component, this.opts.host, obj.kind, m.namespace, m.name, m.uid, obj.apiVersion, type, reason]);
    let rec = this.similar.get(key);
    if (!rec || at - rec.lastSeen > this.window) {
      rec = { messages: new Set(), lastSeen: at };
      this.similar.set(key, rec);
    }
    rec.lastSeen = at;
    if (rec.messages.has(message) || rec.messages.size < AGGREGATE_MAX_SIMILAR) {
      rec.messages.add(message);
      return { message, combined: false };
    }
    return { message: `(combined from similar events): ${message}`, combined: true };
  }

  private async write(obj: EventSubject, type: EventType, reason: string, rawMessage: string, at: number): Promise<void> {
    const agg = this.aggregate(obj, type, reason, rawMessage, at);
    const message = agg.message;
    const m = obj.metadata ?? {};
    const involvedObject = { apiVersion: obj.apiVersion, kind: obj.kind, name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion };
    const source = { component: this.opts.component, host: this.opts.host };
    // resourceVersion changes with every write of the object, so it is not part of the identity (upstream agrees).
    const key = JSON.stringify([obj.apiVersion, obj.kind, m.namespace, m.name, m.uid, type, reason, agg.combined ? '(combined)' : message, source.component, source.host]);
    const prev = this.seen.get(key);
    if (prev && at - prev.lastSeen <= this.window) {
      const count = prev.count + 1;
      try {
        await this.events.patch(prev.namespace, prev.name, 'strategic', { count, lastTimestamp: rfc3339(at), message });
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
    const namespace = m.namespace || 'default';
    const ns = BigInt(at) * 1_000_000n + BigInt(this.seq++ % 1_000_000);
    const ev: CoreEvent = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${m.name}.${ns.toString(16)}`, namespace },
      involvedObject,
      reason,
      message,
      type,
      source,
      reportingComponent: this.opts.component,
      reportingInstance: this.opts.host ?? '',
      firstTimestamp: rfc3339(at),
      lastTimestamp: rfc3339(at),
      count: 1,
    };
    try {
      await this.events.create(namespace, ev);
      this.seen.set(key, { name: ev.metadata.name!, namespace, count: 1, lastSeen: at });
      this.prune(at);
    } catch (err) {
      this.log.warn({ err, event: ev.metadata.name, reason }, 'could not create event');
    }
  }

  /** Keeps the correlation cache bounded: forget entries older than the window. */
  private prune(now: number): void {
    if (this.seen.size < 4096) return;
    for (const [k, s] of this.seen) if (now - s.lastSeen > this.window) this.seen.delete(k);
  }
}
