/**
 * The reconciler contract and its runner — Skiff's controller-runtime. A controller is level-triggered: informer
 * notifications only enqueue a *key* (`namespace/name`); the reconciler reads current state by that key and
 * converges, never trusting an event payload (controller-runtime `pkg/reconcile`). Outcomes, as controller-runtime's
 * `reconcileHandler` treats them:
 * - resolved with `{ requeueAfter }` → forget the failure history, reconcile again after that many ms;
 * - resolved with `{ requeue: true }` → retry with the rate limiter's backoff;
 * - resolved otherwise → done (failure history forgotten);
 * - threw {@link TerminalError} → logged and dropped (no retry until the next change);
 * - threw anything else → logged and retried with per-key exponential backoff (`addRateLimited`).
 * A deleted object reaches the reconciler as a key that no longer exists: handling not-found is its job.
 */

import { Counter, type Registry } from 'prom-client';
import { realClock, type Clock } from './clock.js';
import { keyOf, splitKey, type MetaObject } from './cache.js';
import type { Informer } from './informer.js';
import { defaultLogger, type Logger } from './log.js';
import { WorkQueue, type RateLimiter } from './workqueue.js';

/** The object to reconcile (controller-runtime `reconcile.Request`); `namespace` is absent for cluster-scoped kinds. */
export interface ReconcileRequest {
  namespace?: string;
  name: string;
}

/** What to do next (controller-runtime `reconcile.Result`). */
export interface ReconcileResult {
  /** Reconcile again after this many milliseconds (e.g. to poll an external system or wait for a deadline). */
  requeueAfter?: number;
  /** Retry with backoff without treating it as an error. */
  requeue?: boolean;
}

/** The one method a controller implements; see the module comment for how outcomes are handled. */
export interface Reconciler {
  reconcile(req: ReconcileRequest): Promise<ReconcileResult | void>;
}

/**
 * An error retrying cannot fix (invalid spec, unsupported configuration): logged and dropped instead of retried
 * (controller-runtime `reconcile.TerminalError`).
 */
export class TerminalError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TerminalError';
  }
}

/** Maps an object of a watched kind to the keys it should trigger (controller-runtime `handler.MapFunc`). */
export type MapFunc<O> = (obj: O) => ReconcileRequest[];

/** Options of a controller. */
export interface ControllerOptions {
  /** Names the controller in logs, metrics and its queue. */
  name?: string;
  /** Concurrent reconciles (controller-runtime `MaxConcurrentReconciles`, default 1). Keys never run twice at once. */
  workers?: number;
  rateLimiter?: RateLimiter;
  clock?: Clock;
  logger?: Logger;
  /** Registers the queue metrics and `controller_reconcile_total{controller,result}` here. */
  registry?: Registry;
}

interface Source {
  informer: Informer<MetaObject>;
  map: MapFunc<MetaObject>;
}

/** The request for an object itself. */
export function requestFor(obj: MetaObject): ReconcileRequest {
  return splitKey(keyOf(obj));
}

function requestKey(r: ReconcileRequest): string {
  return r.namespace ? `${r.namespace}/${r.name}` : r.name;
}

/**
 * Fluent setup, as controller-runtime's builder: `controllerFor(rsInformer).owns(podInformer).complete(reconciler)`.
 * The primary informer's objects enqueue themselves; `owns` maps objects to their controlling owner of the primary
 * kind; `watches` maps with a function.
 */
export class ControllerBuilder<T extends MetaObject> {
  private readonly sources: Source[] = [];

  constructor(
    private readonly primary: Informer<T>,
    private readonly opts: ControllerOptions,
  ) {
    this.sources.push({ informer: primary as unknown as Informer<MetaObject>, map: (o) => [requestFor(o)] });
  }

  /**
   * Reconcile the owner when an owned object changes: the `ownerReferences` entry with `controller: true` whose
   * kind and API group match the primary resource (controller-runtime `Owns` → `EnqueueRequestForOwner` with
   * `OnlyControllerOwner`). The owner shares the object's namespace, or has none if the primary is cluster-scoped.
   */
  owns<O extends MetaObject>(informer: Informer<O>): this {
    const ref = this.primary.client.ref;
    const map: MapFunc<MetaObject> = (o) => {
      const owners = (o.metadata?.ownerReferences ?? []) as Array<{ apiVersion?: string; kind?: string; name?: string; controller?: boolean }>;
      const owner = owners.find((r) => r.controller === true);
      if (!owner?.name || owner.kind !== ref.kind) return [];
      const group = owner.apiVersion?.includes('/') ? owner.apiVersion.split('/')[0] : '';
      if (group !== ref.group) return [];
      return [ref.namespaced ? { namespace: o.metadata?.namespace, name: owner.name } : { name: owner.name }];
    };
    this.sources.push({ informer: informer as unknown as Informer<MetaObject>, map });
    return this;
  }

  /** Reconcile the keys `map` returns whenever an object of `informer` changes (controller-runtime `Watches`). */
  watches<O extends MetaObject>(informer: Informer<O>, map: MapFunc<O>): this {
    this.sources.push({ informer: informer as unknown as Informer<MetaObject>, map: map as MapFunc<MetaObject> });
    return this;
  }

  /** Builds the controller (controller-runtime `Complete`); it starts with {@link Controller.start}. */
  complete(reconciler: Reconciler): Controller {
    return new Controller(reconciler, this.sources, this.opts);
  }
}

/** Starts a {@link ControllerBuilder} for the primary resource's informer. */
export function controllerFor<T extends MetaObject>(informer: Informer<T>, opts: ControllerOptions = {}): ControllerBuilder<T> {
  return new ControllerBuilder(informer, opts);
}

const reconcileCounters = new WeakMap<Registry, Counter<'controller' | 'result'>>();

/** A running controller: sources feed one de-duplicating queue drained by N workers. */
export class Controller {
  readonly name: string;
  readonly queue: WorkQueue;
  private readonly log: Logger;
  private readonly unsubscribe: Array<() => void> = [];
  private workers: Promise<void>[] = [];
  private stopped = false;
  private started = false;
  private readonly counter?: Counter<'controller' | 'result'>;

  constructor(
    private readonly reconciler: Reconciler,
    private readonly sources: Source[],
    private readonly opts: ControllerOptions,
  ) {
    this.name = opts.name ?? sources[0]!.informer.resourceName;
    this.log = opts.logger ?? defaultLogger(`controller/${this.name}`);
    this.queue = new WorkQueue({ name: this.name, rateLimiter: opts.rateLimiter, clock: opts.clock ?? realClock, registry: opts.registry });
    if (opts.registry) {
      let c = reconcileCounters.get(opts.registry);
      if (!c) {
        c = new Counter({
          name: 'controller_reconcile_total', help: 'Total number of reconciliations per controller',
          labelNames: ['controller', 'result'], registers: [opts.registry],
        });
        reconcileCounters.set(opts.registry, c);
      }
      this.counter = c;
    }
  }

  /** Queues a key by hand (e.g. from a timer or another controller). */
  enqueue(req: ReconcileRequest): void {
    this.queue.add(requestKey(req));
  }

  /**
   * Subscribes to the sources, starts their informers (a no-op for ones already running), waits until all have
   * synced, then starts the workers. Resolves once workers run; false if stopped before the caches synced.
   */
  async start(): Promise<boolean> {
    if (this.started) return true;
    this.started = true;
    for (const s of this.sources) {
      const push = (o: MetaObject) => {
        for (const r of s.map(o)) this.enqueue(r);
      };
      this.unsubscribe.push(
        s.informer.addEventHandler({
          onAdd: push,
          onUpdate: (oldObj, newObj) => {
            push(oldObj);
            push(newObj);
          },
          onDelete: push,
        }),
      );
      s.informer.start();
    }
    const synced = await Promise.all(this.sources.map((s) => s.informer.waitForSync()));
    if (this.stopped || synced.includes(false)) return false;
    this.log.info({ controller: this.name, workers: this.opts.workers ?? 1 }, 'starting workers');
    for (let i = 0; i < (this.opts.workers ?? 1); i++) this.workers.push(this.work());
    return true;
  }

  /**
   * Stops taking keys, lets in-flight reconciles finish and resolves when all workers have exited. Informers are
   * shared and left running: their owner stops them.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const u of this.unsubscribe.splice(0)) u();
    this.queue.shutDown();
    await Promise.all(this.workers);
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      if (this.stopped) {
        this.queue.done(key);
        continue;
      }
      await this.process(key);
    }
  }

  private async process(key: string): Promise<void> {
    const req = splitKey(key);
    let result = 'success';
    try {
      const res = await this.reconciler.reconcile(req);
      if (res?.requeueAfter !== undefined && res.requeueAfter > 0) {
        result = 'requeue_after';
        this.queue.forget(key);
        this.queue.addAfter(key, res.requeueAfter);
      } else if (res?.requeue) {
        result = 'requeue';
        this.queue.addRateLimited(key);
      } else {
        this.queue.forget(key);
      }
    } catch (err) {
      if (err instanceof TerminalError) {
        result = 'terminal_error';
        this.log.error({ err, controller: this.name, key }, 'reconcile failed with a terminal error; not retrying');
        this.queue.forget(key);
      } else {
        result = 'error';
        this.queue.addRateLimited(key);
        this.log.warn({ err, controller: this.name, key, retries: this.queue.numRequeues(key) }, 'reconcile failed; retrying with backoff');
      }
    } finally {
      this.counter?.inc({ controller: this.name, result });
      this.queue.done(key);
    }
  }
}
