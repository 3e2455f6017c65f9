/**
 * Low-priority background work of the node agent (sandbox-pool refills, the disk and cgroup part of removing a
 * pod's sandbox and containers): it runs one task at a time, and only while no pod is being started — a pod start
 * holds the queue ({@link BackgroundQueue.hold}) from the kubelet's first sync until its status reports it started.
 * A real kubelet likewise gives its pod workers priority over housekeeping (container GC, orphan cleanup).
 *
 * Bounds, so nothing starves: a hold ends by itself after `holdMaxMs`, and a task that waited `maxDeferMs` runs
 * even while starts are in progress.
 */
interface Task {
  what: string;
  fn: () => Promise<unknown> | unknown;
  at: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export interface BackgroundQueueOptions {
  /** A task that waited this long runs even while pods are starting (default 1000 ms). */
  maxDeferMs?: number;
  /** A hold not released after this long ends by itself (default 2000 ms). */
  holdMaxMs?: number;
}

export class BackgroundQueue {
  private readonly tasks: Task[] = [];
  private holds = 0;
  /** Tasks waiting in {@link idle} for the holds to end. */
  private readonly idleWaiters = new Set<() => void>();
  private running = false;
  /** A {@link flush} in progress: tasks run regardless of holds until the queue is empty. */
  private draining?: { promise: Promise<void>; resolve: () => void };
  private timer?: NodeJS.Timeout;
  private readonly maxDeferMs: number;
  private readonly holdMaxMs: number;

  constructor(opts: BackgroundQueueOptions = {}) {
    this.maxDeferMs = opts.maxDeferMs ?? 1000;
    this.holdMaxMs = opts.holdMaxMs ?? 2000;
  }

  /** Pods are being started: background tasks wait until every hold is released (bounded). Idempotent release. */
  hold(): () => void {
    this.holds++;
    let released = false;
    const timer = setTimeout(() => release(), this.holdMaxMs);
    timer.unref();
    const release = () => {
      if (released) return;
      released = true;
      clearTimeout(timer);
      this.holds--;
      if (this.holds === 0) for (const w of [...this.idleWaiters]) w();
      this.pump();
    };
    return release;
  }

  /** Whether a pod start holds the queue now. */
  get held(): boolean {
    return this.holds > 0;
  }

  /** Tasks waiting (not counting one that runs). */
  get pending(): number {
    return this.tasks.length;
  }

  /**
   * A yield point inside a running task, between its steps: resolves at once when no start holds the queue, else
   * once the holds end (or after `maxDeferMs`), so a long task (a pool refill: infra process, CNI ADD, warm shim)
   * does not keep competing with a start that began while it ran.
   */
  idle(): Promise<void> {
    if (this.holds === 0 || this.draining) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.idleWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, this.maxDeferMs);
      this.idleWaiters.add(done);
    });
  }

  /** Queues `fn`; resolves (or rejects) with its outcome once it ran. */
  run(what: string, fn: () => Promise<unknown> | unknown): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.tasks.push({ what, fn, at: Date.now(), resolve, reject });
      this.pump();
    });
  }

  /**
   * Runs every queued task now, holds or not (close, purge), including tasks queued while it drains; resolves once
   * the queue is empty and nothing runs. Meanwhile {@link idle} does not wait.
   */
  flush(): Promise<void> {
    if (!this.running && !this.tasks.length) return Promise.resolve();
    if (!this.draining) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.draining = { promise, resolve };
    }
    for (const w of [...this.idleWaiters]) w();
    this.pump();
    return this.draining.promise;
  }

  private pump(): void {
    if (this.running) return;
    if (!this.tasks.length) {
      this.draining?.resolve();
      this.draining = undefined;
      return;
    }
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const waited = Date.now() - this.tasks[0]!.at;
    if (this.holds > 0 && !this.draining && waited < this.maxDeferMs) {
      // Re-checked when a hold ends, or once the oldest task has waited its bound (a queued task keeps the process
      // alive that long, as work in flight does).
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.pump();
      }, this.maxDeferMs - waited);
      return;
    }
    const t = this.tasks.shift()!;
    this.running = true;
    let p: Promise<unknown>;
    try {
      p = Promise.resolve(t.fn());
    } catch (err) {
      p = Promise.reject(err);
    }
    p.then(t.resolve, t.reject).finally(() => {
      this.running = false;
      // Draining: the next task at once; otherwise after a turn of the loop (pod work that became ready goes first).
      if (this.draining) this.pump();
      else setImmediate(() => this.pump());
    });
  }
}
