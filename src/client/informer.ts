/**
 * Shared informers (client-go `cache.SharedIndexInformer` + `Reflector`; the shape of kubernetes-client/javascript
 * `src/cache.ts` without its known bugs). An informer lists a resource (paged, `resourceVersion=0` first so the
 * apiserver can answer from its watch cache), remembers the list's resourceVersion, and watches from it with
 * bookmarks. Objects live in a `Map`-backed {@link Indexer} keyed `namespace/name`; handlers get add, update (only
 * when the resourceVersion changed — except periodic resyncs) and delete notifications.
 *
 * Failure handling is explicit, because swallowed errors and missing backoff are what broke the JavaScript client
 * (its issues #2222, #364, #1933):
 * - 410 Gone (an ERROR frame or an HTTP answer) → relist from the last resourceVersion (then, if that is gone
 *   too, a consistent read) and diff against the cache: deletes for objects that vanished, adds and updates for the
 *   rest (client-go `DeltaFIFO.Replace`).
 * - A watch the server ends normally (its `timeoutSeconds`) → re-watch at once from the last resourceVersion.
 * - Any other failure (list or watch errors, dropped connections, undecodable frames) → reported to every
 *   `onError` handler and the log, then retried after jittered exponential backoff (client-go reflector defaults:
 *   800 ms, ×2, cap 30 s, jitter 1.0).
 * - No frame (not even a BOOKMARK) within `stallTimeoutMs` → the watch is considered stalled, reported, and
 *   restarted from the last resourceVersion.
 */

import { ApiError, type Status } from '../api/errors.js';
import { Backoff, realClock, sleep, type Clock, type Timer } from './clock.js';
import { Indexer, keyOf, Lister, type IndexFunc, type MetaObject } from './cache.js';
import type { ResourceClient, WatchHandle } from './dynamic.js';
import { defaultLogger, type Logger } from './log.js';
import { isGone } from './rest.js';
import type { WatchEvent } from './watch.js';

/** Notification callbacks (client-go `ResourceEventHandlerFuncs`). Handlers must not mutate the objects. */
export interface EventHandler<T> {
  /** `isInInitialList` is true for objects of the first list and for the replay a late handler gets. */
  onAdd?(obj: T, isInInitialList: boolean): void;
  onUpdate?(oldObj: T, newObj: T): void;
  /** Gets the last state the informer knew (after a relist, that may be older than the real final state). */
  onDelete?(obj: T): void;
}

/** Where an error came from. */
export type InformerPhase = 'list' | 'watch' | 'handler';

/** Options of an {@link Informer}. */
export interface InformerOptions {
  /** Restrict to one namespace (all namespaces when unset). */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Page size of lists (client-go pager default 500). */
  pageSize?: number;
  /** Re-deliver every cached object as an update this often (0/unset: never), as client-go's resync does. */
  resyncPeriodMs?: number;
  /**
   * Restart a watch that delivered no frame for this long. kube-apiserver sends bookmarks about once a minute, so
   * the default 120 000 ms is twice that interval; 0 disables stall detection.
   */
  stallTimeoutMs?: number;
  /** Server-side watch timeout; default random in [300, 600) s like client-go's reflector. */
  watchTimeoutSeconds?: number;
  /** Retry backoff (defaults: 800 ms initial, 30 s cap, factor 2, jitter 1.0). */
  backoff?: { initialMs?: number; maxMs?: number; factor?: number; jitter?: number };
  clock?: Clock;
  /** Random source in [0, 1) for jitter and watch timeouts. */
  random?: () => number;
  logger?: Logger;
}

/** The watch delivered nothing within the stall window and was restarted. */
export class WatchStalledError extends Error {
  constructor(readonly resource: string, readonly afterMs: number) {
    super(`watch of ${resource} delivered no event or bookmark for ${afterMs} ms; restarting it`);
    this.name = 'WatchStalledError';
  }
}

type WatchOutcome = 'closed' | 'gone' | 'stalled';

/** See the module comment. One informer per resource (and selector) should be shared by all its consumers. */
export class Informer<T extends MetaObject> {
  readonly indexer = new Indexer<T>();
  readonly lister = new Lister<T>(this.indexer);
  private readonly handlers = new Set<EventHandler<T>>();
  private readonly errorHandlers = new Set<(err: unknown, phase: InformerPhase) => void>();
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly log: Logger;
  private readonly backoff: Backoff;
  private readonly stop$ = new AbortController();
  private running?: Promise<void>;
  private watchHandle?: WatchHandle;
  private resyncTimer?: Timer;
  private synced = false;
  private syncWaiters: Array<(ok: boolean) => void> = [];
  private rv = '';

  constructor(
    readonly client: ResourceClient<T>,
    private readonly opts: InformerOptions = {},
  ) {
    this.clock = opts.clock ?? realClock;
    this.random = opts.random ?? Math.random;
    this.log = opts.logger ?? defaultLogger('informer');
    this.backoff = new Backoff({
      initialMs: opts.backoff?.initialMs ?? 800,
      maxMs: opts.backoff?.maxMs ?? 30_000,
      factor: opts.backoff?.factor ?? 2,
      jitter: opts.backoff?.jitter ?? 1.0,
      random: this.random,
    });
  }

  /** `resource.group` for logs and errors. */
  get resourceName(): string {
    const r = this.client.ref;
    return r.group ? `${r.resource}.${r.group}` : r.resource;
  }

  /** The resourceVersion of the last list, watch event or bookmark seen (client-go `LastSyncResourceVersion`). */
  get lastSyncResourceVersion(): string {
    return this.rv;
  }

  /**
   * Registers handlers; returns a function that removes them. A handler added after the cache filled first gets an
   * add for every cached object, as client-go's shared informer replays for late handlers.
   */
  addEventHandler(h: EventHandler<T>): () => void {
    this.handlers.add(h);
    if (this.synced) for (const o of this.indexer.values()) this.call(() => h.onAdd?.(o, true));
    return () => void this.handlers.delete(h);
  }

  /** Registers an error handler; every list, watch and handler failure is passed to it (and logged). */
  onError(fn: (err: unknown, phase: InformerPhase) => void): () => void {
    this.errorHandlers.add(fn);
    return () => void this.errorHandlers.delete(fn);
  }

  /** Adds a named index usable through `lister.byIndex` (client-go `AddIndexers`). */
  addIndexer(name: string, fn: IndexFunc<T>): void {
    this.indexer.addIndexer(name, fn);
  }

  /** Starts list+watch in the background; calling it again does nothing. */
  start(): void {
    if (this.running || this.stop$.signal.aborted) return;
    this.running = this.run();
    this.armResync();
  }

  /** Whether the first list has been stored and delivered (client-go `HasSynced`). */
  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves true once synced, or false if the informer is stopped first (client-go `WaitForCacheSync`). */
  waitForSync(): Promise<boolean> {
    if (this.synced) return Promise.resolve(true);
    if (this.stop$.signal.aborted) return Promise.resolve(false);
    return new Promise((r) => this.syncWaiters.push(r));
  }

  /** Stops watching and retrying; resolves when the loop has ended. The cache stays readable. */
  async stop(): Promise<void> {
    this.stop$.abort();
    this.watchHandle?.abort();
    this.resyncTimer?.cancel();
    for (const w of this.syncWaiters.splice(0)) w(false);
    await this.running;
  }

  private get stopped(): boolean {
    return this.stop$.signal.aborted;
  }

  private async run(): Promise<void> {
    let needList = true;
    let listFrom = '0';
    while (!this.stopped) {
      let phase: InformerPhase = needList ? 'list' : 'watch';
      try {
        if (needList) {
          await this.listAndReplace(listFrom);
          needList = false;
          this.backoff.reset();
        }
        phase = 'watch';
        const outcome = await this.watchOnce();
        if (outcome === 'gone') {
          this.log.info({ resource: this.resourceName, resourceVersion: this.rv }, 'watch resourceVersion expired (410); relisting');
          needList = true;
          listFrom = this.rv;
        }
      } catch (err) {
        if (this.stopped) break;
        if (isGone(err) && phase === 'watch') {
          this.log.info({ resource: this.resourceName, resourceVersion: this.rv }, 'watch resourceVersion expired (410); relisting');
          needList = true;
          listFrom = this.rv;
          continue;
        }
        if (isGone(err) && phase === 'list' && listFrom !== '') {
          // The list's resourceVersion (or a continue token) is compacted: fall back to a consistent read at once,
          // as client-go does after `isExpiredError` on list.
          this.log.info({ resource: this.resourceName, resourceVersion: listFrom }, 'list resourceVersion expired (410); listing consistently');
          listFrom = '';
          continue;
        }
        const delay = this.backoff.next();
        this.report(err, phase, { retryInMs: delay });
        await sleep(this.clock, delay, this.stop$.signal);
      }
    }
  }

  private async listAndReplace(resourceVersion: string): Promise<void> {
    const o = this.opts;
    const list = await this.client.listAll(o.namespace, {
      resourceVersion,
      labelSelector: o.labelSelector,
      fieldSelector: o.fieldSelector,
      limit: o.pageSize ?? 500,
      signal: this.stop$.signal,
    });
    if (this.stopped) return;
    const initial = !this.synced;
    const seen = new Set<string>();
    for (const item of list.items) {
      const obj = this.withKind(item);
      const key = keyOf(obj);
      seen.add(key);
      const old = this.indexer.get(key);
      this.indexer.set(key, obj);
      if (!old) this.emit((h) => h.onAdd?.(obj, initial));
      else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) this.emit((h) => h.onUpdate?.(old, obj));
    }
    for (const key of this.indexer.keys()) {
      if (seen.has(key)) continue;
      const old = this.indexer.delete(key)!;
      this.emit((h) => h.onDelete?.(old));
    }
    this.rv = list.metadata.resourceVersion ?? '';
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncWaiters.splice(0)) w(true);
    }
  }

  private watchOnce(): Promise<WatchOutcome> {
    const o = this.opts;
    const stallMs = o.stallTimeoutMs ?? 120_000;
    return new Promise<WatchOutcome>((resolve, reject) => {
      let stallTimer: Timer | undefined;
      let outcome: WatchOutcome | undefined;
      let frameError: unknown;
      // One timer per watch, not one per frame: frames only note their time, and the timer, when it fires early
      // because frames came in meanwhile, re-arms itself for the rest of the window.
      let lastFrameAt = this.clock.now();
      const checkStall = () => {
        stallTimer = undefined;
        if (outcome || frameError) return;
        const quiet = this.clock.now() - lastFrameAt;
        if (quiet >= stallMs) {
          outcome = 'stalled';
          handle.abort();
        } else stallTimer = this.clock.setTimer(checkStall, stallMs - quiet);
      };
      const arm = () => {
        lastFrameAt = this.clock.now();
        if (stallMs > 0 && !stallTimer) stallTimer = this.clock.setTimer(checkStall, stallMs);
      };
      const onEvent = (ev: WatchEvent<T>) => {
        if (outcome || frameError) return;
        lastFrameAt = this.clock.now();
        if (ev.type === 'ERROR') {
          const s = ev.object as Partial<Status>;
          if (s.code === 410) outcome = 'gone';
          else frameError = new ApiError(s.code ?? 500, s.reason ?? 'InternalError', s.message ?? 'watch ERROR event', s.details);
          handle.abort();
          return;
        }
        const rv = ev.object.metadata?.resourceVersion;
        if (ev.type !== 'BOOKMARK') this.apply(ev.type, this.withKind(ev.object));
        if (rv) this.rv = rv;
        this.backoff.reset();
      };
      const handle = this.client.watch(
        o.namespace,
        {
          resourceVersion: this.rv,
          allowWatchBookmarks: true,
          labelSelector: o.labelSelector,
          fieldSelector: o.fieldSelector,
          timeoutSeconds: o.watchTimeoutSeconds ?? Math.floor(300 * (1 + this.random())),
        },
        onEvent,
        (err) => {
          stallTimer?.cancel();
          this.watchHandle = undefined;
          if (frameError) reject(frameError);
          else if (outcome === 'stalled') {
            this.report(new WatchStalledError(this.resourceName, stallMs), 'watch', { resourceVersion: this.rv });
            resolve('stalled');
          } else if (outcome === 'gone') resolve('gone');
          else if (err) reject(err);
          else resolve('closed');
        },
      );
      this.watchHandle = handle;
      if (this.stopped) handle.abort();
      arm();
    });
  }

  private apply(type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: T): void {
    const key = keyOf(obj);
    if (type === 'DELETED') {
      this.indexer.delete(key);
      for (const h of this.handlers) {
        if (!h.onDelete) continue;
        try {
          h.onDelete(obj);
        } catch (err) {
          this.report(err, 'handler');
        }
      }
      return;
    }
    const old = this.indexer.get(key);
    this.indexer.set(key, obj);
    // Plain loops rather than emit(closure): this runs for every watch event of every informer.
    if (!old) {
      for (const h of this.handlers) {
        if (!h.onAdd) continue;
        try {
          h.onAdd(obj, false);
        } catch (err) {
          this.report(err, 'handler');
        }
      }
    } else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) {
      for (const h of this.handlers) {
        if (!h.onUpdate) continue;
        try {
          h.onUpdate(old, obj);
        } catch (err) {
          this.report(err, 'handler');
        }
      }
    }
  }

  /** List items come without apiVersion/kind; fill them in so handlers can build owner references and events. */
  private withKind(obj: T): T {
    const o = obj as T & { apiVersion?: string; kind?: string };
    if (!o.kind) o.kind = this.client.ref.kind;
    if (!o.apiVersion) o.apiVersion = this.client.apiVersion;
    return obj;
  }

  private armResync(): void {
    const period = this.opts.resyncPeriodMs ?? 0;
    if (period <= 0 || this.stopped) return;
    this.resyncTimer = this.clock.setTimer(() => {
      if (this.synced) for (const o of this.indexer.values()) this.emit((h) => h.onUpdate?.(o, o));
      this.armResync();
    }, period);
  }

  private emit(fn: (h: EventHandler<T>) => void): void {
    for (const h of this.handlers) this.call(() => fn(h));
  }

  private call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.report(err, 'handler');
    }
  }

  private report(err: unknown, phase: InformerPhase, extra: Record<string, unknown> = {}): void {
    this.log.warn({ err, resource: this.resourceName, phase, ...extra }, `informer ${phase} failed`);
    for (const fn of this.errorHandlers) {
      try {
        fn(err, phase);
      } catch (e) {
        this.log.error({ err: e, resource: this.resourceName }, 'informer onError handler threw');
      }
    }
  }
}
