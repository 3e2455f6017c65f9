/**
 * A token bucket, the limiter behind client-go's `flowcontrol.NewTokenBucketRateLimiter` (REST client qps/burst) and
 * the workqueue's `BucketRateLimiter` (both built on `golang.org/x/time/rate`). Tokens refill continuously at `qps`
 * up to `burst`; {@link TokenBucket.reserve} takes a token now and says how long the caller must wait for it, letting
 * the balance go negative so concurrent callers queue up fairly instead of all waking at once.
 */

import { realClock, sleep, type Clock } from './clock.js';

/** See the module comment. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly qps: number,
    readonly burst: number,
    private readonly clock: Clock = realClock,
  ) {
    if (!(qps > 0) || !(burst >= 1)) throw new Error(`TokenBucket: qps must be > 0 and burst >= 1 (got ${qps}, ${burst})`);
    this.tokens = burst;
    this.last = clock.now();
  }

  private refill(): void {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.qps);
    this.last = now;
  }

  /** Takes a token if one is available now (client-go `TryAccept`). */
  tryAccept(): boolean {
    this.refill();
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    return false;
  }

  /** Takes a token, possibly borrowed from the future, and returns the milliseconds until it is really available. */
  reserve(): number {
    this.refill();
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.qps) * 1000);
  }

  /** Waits for a token (client-go `Wait`). */
  async wait(signal?: AbortSignal): Promise<void> {
    const d = this.reserve();
    if (d > 0) await sleep(this.clock, d, signal);
  }
}
