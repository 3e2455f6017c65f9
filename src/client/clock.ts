/**
 * Time as the client library sees it. Every component that sleeps, backs off or compares timestamps (informers,
 * work queues, rate limiters, leader election, event aggregation) takes a {@link Clock} so tests can drive time by
 * hand, the way client-go injects `k8s.io/utils/clock.Clock` into its reflector, workqueue and leaderelection.
 */

/** A scheduled callback that can be cancelled; cancelling a fired or cancelled timer is a no-op. */
export interface Timer {
  cancel(): void;
}

/**
 * The clock contract (client-go `clock.WithTicker` reduced to what Skiff needs): wall time in milliseconds and
 * one-shot timers. Everything else (sleep, deadlines) is built on these two so a fake clock controls all of it.
 */
export interface Clock {
  /** Milliseconds since the epoch, like `Date.now()`. */
  now(): number;
  /** Runs `fn` once after `ms` milliseconds of this clock's time. */
  setTimer(fn: () => void, ms: number): Timer;
}

/** The process clock: `Date.now()` and `setTimeout`. */
export const realClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    const t = setTimeout(fn, Math.max(0, ms));
    return { cancel: () => clearTimeout(t) };
  },
};

/**
 * Resolves after `ms` of `clock` time, or early (without rejecting) when `signal` aborts, so long-running loops can
 * wait for a backoff and still stop promptly — the role `wait.Until`'s stop channel plays in client-go.
 */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = () => {
      timer.cancel();
      resolve();
    };
    const timer = clock.setTimer(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Exponential backoff with jitter, as client-go's `wait.Backoff`/`ExponentialBackoffManager` that the reflector uses
 * (800 ms initial, factor 2, cap 30 s, jitter 1.0): each delay is `min(cap, initial·factor^n)` stretched by up to
 * `jitter`×itself with the injected random source, so many clients restarting together spread out.
 */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly opts: { initialMs: number; maxMs: number; factor?: number; jitter?: number; random?: () => number },
  ) {}

  /** The delay before the next retry; each call doubles the base until the cap. */
  next(): number {
    const factor = this.opts.factor ?? 2;
    const base = Math.min(this.opts.maxMs, this.opts.initialMs * Math.pow(factor, this.attempt));
    this.attempt++;
    const jitter = this.opts.jitter ?? 0;
    const random = this.opts.random ?? Math.random;
    return jitter > 0 ? Math.round(base + base * jitter * random()) : base;
  }

  /** Back to the initial delay, after a success. */
  reset(): void {
    this.attempt = 0;
  }

  /** How many delays were handed out since the last reset. */
  get attempts(): number {
    return this.attempt;
  }
}
