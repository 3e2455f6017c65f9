/**
 * Tells a call that comes alone from one in a burst, for work that is cheapest done at once on the event loop when
 * alone (no thread-pool round trip) but must go off the loop in a burst (where it would block everything else): a
 * call is lone when at least `gapMs` passed since the previous call ended.
 */
export class LoneCallGate {
  private lastEnd = -Infinity;

  constructor(private readonly gapMs: number) {}

  /** Whether this call (now) is alone; it counts as the latest call, ending now unless {@link ended} says later. */
  lone(now = performance.now()): boolean {
    const lone = now - this.lastEnd >= this.gapMs;
    this.lastEnd = now;
    return lone;
  }

  /** The call just ended (after synchronous work): the gap to the next call is measured from here. */
  ended(now = performance.now()): void {
    this.lastEnd = now;
  }
}
