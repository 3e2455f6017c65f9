/**
 * A manually driven {@link Clock} for tests (client-go `k8s.io/utils/clock/testing.FakeClock`). Time only moves when
 * a test calls {@link FakeClock.advance} or {@link FakeClock.step}; timers fire in due order. Because the client
 * library also does real network I/O, {@link FakeClock.waitForTimers} lets a test wait until the code under test has
 * gone to sleep (registered its timers) — the point where the system is quiescent and time can be moved safely.
 */

import type { Clock, Timer } from '../clock.js';

interface Pending {
  at: number;
  seq: number;
  fn: () => void;
  delay: number;
}

/** See the module comment. `now` starts at a fixed instant so timestamps in tests are stable. */
export class FakeClock implements Clock {
  private t: number;
  private seq = 0;
  private readonly timers = new Set<Pending>();
  /** Every delay ever passed to setTimer, in call order, so tests can assert backoff sequences. */
  readonly delays: number[] = [];

  constructor(start = Date.UTC(2025, 0, 1, 0, 0, 0)) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimer(fn: () => void, ms: number): Timer {
    const p: Pending = { at: this.t + Math.max(0, ms), seq: this.seq++, fn, delay: ms };
    this.delays.push(ms);
    this.timers.add(p);
    return { cancel: () => void this.timers.delete(p) };
  }

  /** Number of timers registered and not yet fired or cancelled. */
  pending(): number {
    return this.timers.size;
  }

  /** Delays of the pending timers, earliest first. */
  pendingDelays(): number[] {
    return this.sorted().map((p) => p.delay);
  }

  /** Moves time forward by `ms`, firing every timer that falls due, in order (timers they add included). */
  advance(ms: number): void {
    const target = this.t + ms;
    for (;;) {
      const next = this.sorted()[0];
      if (!next || next.at > target) break;
      this.timers.delete(next);
      this.t = Math.max(this.t, next.at);
      next.fn();
    }
    this.t = target;
  }

  /**
   * Waits (in real time, up to `timeoutMs`) until at least `n` timers are pending, i.e. the code under test has
   * finished its I/O and is sleeping. Rejects on timeout so a broken test fails instead of hanging.
   */
  async waitForTimers(n = 1, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.timers.size < n) {
      if (Date.now() > deadline) throw new Error(`FakeClock: waited ${timeoutMs} ms for ${n} timers, have ${this.timers.size}`);
      await new Promise((r) => setTimeout(r, 1));
    }
  }

  /** Waits for `n` pending timers, then advances exactly to the earliest one and fires it; returns the time moved. */
  async step(n = 1): Promise<number> {
    await this.waitForTimers(n);
    const next = this.sorted()[0]!;
    const d = Math.max(0, next.at - this.t);
    this.advance(d);
    return d;
  }

  private sorted(): Pending[] {
    return [...this.timers].sort((a, b) => a.at - b.at || a.seq - b.seq);
  }
}
