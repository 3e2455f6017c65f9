/**
 * The controller work queue, as client-go's `workqueue.TypedRateLimitingInterface`: keys, not events, are queued
 * (so a burst of changes to one object collapses into one reconcile), and the same key is never processed by two
 * workers at once. The rules, matching client-go's `Type`:
 * - `add` of a key already waiting is a no-op (de-duplication through the *dirty* set);
 * - `add` of a key being processed marks it dirty; `done` then queues it again, so the change is not lost;
 * - `addAfter` keeps the earliest pending deadline per key; `addRateLimited` delays by the rate limiter
 *   (per-key exponential backoff 5 ms → 1000 s, max'ed with a 10 qps / 100 burst token bucket); `forget` resets it;
 * - after `shutDown`, adds are ignored, queued keys are still handed out, then `get` resolves `undefined`.
 */

import { Counter, Gauge, type Registry } from 'prom-client';
import { realClock, type Clock, type Timer } from './clock.js';
import { TokenBucket } from './token-bucket.js';

/** Decides how long an item waits before it is retried (client-go `workqueue.RateLimiter`). */
export interface RateLimiter {
  /** Delay in ms for the next retry of `item`; counts a failure. */
  when(item: string): number;
  /** Clears the failure history of `item` (after a success). */
  forget(item: string): void;
  /** Failures counted for `item` since the last forget. */
  numRequeues(item: string): number;
}

/** Per-item exponential backoff `base·2^failures` capped at `max` (client-go `ItemExponentialFailureRateLimiter`). */
export class ItemExponentialRateLimiter implements RateLimiter {
  private readonly failures = new Map<string, number>();
  constructor(
    readonly baseMs = 5,
    readonly maxMs = 1_000_000,
  ) {}
  when(item: string): number {
    const n = this.failures.get(item) ?? 0;
    this.failures.set(item, n + 1);
    return Math.min(this.maxMs, this.baseMs * Math.pow(2, n));
  }
  forget(item: string): void {
    this.failures.delete(item);
  }
  numRequeues(item: string): number {
    return this.failures.get(item) ?? 0;
  }
}

/** An overall token bucket shared by all items (client-go `BucketRateLimiter`; default 10 qps, burst 100). */
export class BucketRateLimiter implements RateLimiter {
  private readonly bucket: TokenBucket;
  constructor(qps = 10, burst = 100, clock: Clock = realClock) {
    this.bucket = new TokenBucket(qps, burst, clock);
  }
  when(): number {
    return this.bucket.reserve();
  }
  forget(): void {}
  numRequeues(): number {
    return 0;
  }
}

/** The largest delay of several limiters (client-go `MaxOfRateLimiter`). */
export class MaxOfRateLimiter implements RateLimiter {
  private readonly limiters: RateLimiter[];
  constructor(...limiters: RateLimiter[]) {
    this.limiters = limiters;
  }
  when(item: string): number {
    return Math.max(0, ...this.limiters.map((l) => l.when(item)));
  }
  forget(item: string): void {
    for (const l of this.limiters) l.forget(item);
  }
  numRequeues(item: string): number {
    return Math.max(0, ...this.limiters.map((l) => l.numRequeues(item)));
  }
}

/** client-go's `DefaultControllerRateLimiter`: per-item 5 ms → 1000 s, and 10 qps / burst 100 overall. */
export function defaultControllerRateLimiter(clock: Clock = realClock): RateLimiter {
  return new MaxOfRateLimiter(new ItemExponentialRateLimiter(5, 1_000_000), new BucketRateLimiter(10, 100, clock));
}

/** Options of a {@link WorkQueue}. */
export interface WorkQueueOptions {
  /** Names the queue in metrics and logs (client-go `QueueConfig.Name`). */
  name?: string;
  rateLimiter?: RateLimiter;
  clock?: Clock;
  /** Registers `workqueue_depth`, `workqueue_adds_total` and `workqueue_retries_total` (label `name`) here. */
  registry?: Registry;
}

interface Metrics {
  depth: Gauge<'name'>;
  adds: Counter<'name'>;
  retries: Counter<'name'>;
}

const metricsByRegistry = new WeakMap<Registry, Metrics>();

function metricsFor(registry: Registry): Metrics {
  let m = metricsByRegistry.get(registry);
  if (!m) {
    m = {
      depth: new Gauge({ name: 'workqueue_depth', help: 'Current depth of workqueue', labelNames: ['name'], registers: [registry] }),
      adds: new Counter({ name: 'workqueue_adds_total', help: 'Total number of adds handled by workqueue', labelNames: ['name'], registers: [registry] }),
      retries: new Counter({ name: 'workqueue_retries_total', help: 'Total number of retries handled by workqueue', labelNames: ['name'], registers: [registry] }),
    };
    metricsByRegistry.set(registry, m);
  }
  return m;
}

/** See the module comment. */
export class WorkQueue {
  readonly name: string;
  private readonly queue: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly waiting = new Map<string, { at: number; timer: Timer }>();
  private waiters: Array<() => void> = [];
  private shutting = false;
  private readonly limiter: RateLimiter;
  private readonly clock: Clock;
  private readonly metrics?: Metrics;

  constructor(opts: WorkQueueOptions = {}) {
    this.name = opts.name ?? '';
    this.clock = opts.clock ?? realClock;
    this.limiter = opts.rateLimiter ?? defaultControllerRateLimiter(this.clock);
    if (opts.registry) this.metrics = metricsFor(opts.registry);
  }

  /** Queues `key` unless it is already waiting; a key being processed is re-queued by `done`. */
  add(key: string): void {
    if (this.shutting || this.dirty.has(key)) return;
    this.metrics?.adds.inc({ name: this.name });
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    this.queue.push(key);
    this.metrics?.depth.set({ name: this.name }, this.queue.length);
    this.waiters.shift()?.();
  }

  /** Queues `key` after `ms`; of several pending deadlines for one key the earliest wins (client-go `AddAfter`). */
  addAfter(key: string, ms: number): void {
    if (this.shutting) return;
    if (ms <= 0) return this.add(key);
    const at = this.clock.now() + ms;
    const existing = this.waiting.get(key);
    if (existing && existing.at <= at) return;
    existing?.timer.cancel();
    const timer = this.clock.setTimer(() => {
      this.waiting.delete(key);
      this.add(key);
    }, ms);
    this.waiting.set(key, { at, timer });
  }

  /** Queues `key` after the rate limiter's delay (a failed attempt; client-go `AddRateLimited`). */
  addRateLimited(key: string): void {
    this.metrics?.retries.inc({ name: this.name });
    this.addAfter(key, this.limiter.when(key));
  }

  /** Ends backoff tracking of `key` (after a success or when giving up). */
  forget(key: string): void {
    this.limiter.forget(key);
  }

  /** How often `key` was rate-limited since its last `forget`. */
  numRequeues(key: string): number {
    return this.limiter.numRequeues(key);
  }

  /** Waits for the next key and marks it as processing; `undefined` once shut down and drained. */
  async get(): Promise<string | undefined> {
    while (this.queue.length === 0 && !this.shutting) await new Promise<void>((r) => this.waiters.push(r));
    const key = this.queue.shift();
    if (key === undefined) return undefined;
    this.metrics?.depth.set({ name: this.name }, this.queue.length);
    this.processing.add(key);
    this.dirty.delete(key);
    return key;
  }

  /** Marks `key` as processed; if it was added meanwhile it goes back into the queue. */
  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key) && !this.shutting) {
      this.queue.push(key);
      this.metrics?.depth.set({ name: this.name }, this.queue.length);
      this.waiters.shift()?.();
    }
  }

  /** Keys waiting to be handed out (not counting delayed ones). */
  len(): number {
    return this.queue.length;
  }

  /** Stops accepting keys, cancels delayed adds and wakes every waiting `get`. */
  shutDown(): void {
    this.shutting = true;
    for (const w of this.waiting.values()) w.timer.cancel();
    this.waiting.clear();
    for (const w of this.waiters.splice(0)) w();
  }

  get shuttingDown(): boolean {
    return this.shutting;
  }
}
