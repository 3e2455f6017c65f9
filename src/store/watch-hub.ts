/**
 * The in-process watch broadcaster shared by every backend. Only this process writes to the store, so instead of
 * polling the log like kine does, a backend hands each committed batch of events to `publish()` and the hub fans it
 * out to all watchers. Watchers are grouped by prefix, so a write costs one `startsWith` per distinct prefix, not
 * per watcher: thousands of watchers on a handful of prefixes (the apiserver's shape) stay cheap.
 *
 * A watcher that starts below the current revision first replays history from the backend's log in chunks (one
 * chunk per macrotask so a long replay never blocks writers) while live events queue up behind it; then it switches
 * to live delivery. Every watcher therefore sees strictly increasing revisions with no gaps and no duplicates, like
 * an etcd watch stream.
 */
import { CompactedError, StoreError, type WatchCallbacks, type WatchEvent, type Watcher } from './types.js';

/** What the hub needs from a backend to replay history. */
export interface HistorySource {
  /** Events for keys under `prefix` with `after` < revision <= `until`, in revision order, at most `limit`. */
  history(prefix: string, after: number, until: number, limit: number): WatchEvent[];
  /** The backend's compact revision; replay below it fails with CompactedError. */
  compactRevision(): number;
}

/** Events replayed per macrotask. */
const REPLAY_CHUNK = 1000;

interface WatchState {
  readonly prefix: string;
  /** The watch's starting point: only events with a higher revision are delivered. */
  readonly after: number;
  readonly callbacks: WatchCallbacks;
  /** Replay position (last replayed revision) and target while replaying. */
  cursor: number;
  until: number;
  replaying: boolean;
  cancelled: boolean;
  /** Live event chunks waiting for delivery (shared arrays: never mutated). */
  pending: WatchEvent[][];
}

/** Fans committed events out to prefix watchers; see the module comment. */
export class WatchHub {
  private readonly groups = new Map<string, Set<WatchState>>();
  private readonly dirty = new Set<WatchState>();
  private flushScheduled = false;
  private watcherCount = 0;

  constructor(private readonly source: HistorySource) {}

  /** Number of active watchers (for metrics and tests). */
  get size(): number {
    return this.watcherCount;
  }

  /**
   * Registers a watcher for revisions > `after` under `prefix`. `current` is the backend's committed revision at the
   * time of the call: history (after, current] is replayed from the log, later revisions arrive through publish().
   * Throws CompactedError synchronously when `after` is below the compact revision.
   */
  watch(prefix: string, after: number, current: number, callbacks: WatchCallbacks): Watcher {
    const compacted = this.source.compactRevision();
    if (after < compacted) throw new CompactedError(after, compacted);
    const w: WatchState = {
      prefix,
      after,
      callbacks,
      cursor: after,
      until: current,
      replaying: after < current,
      cancelled: false,
      pending: [],
    };
    let group = this.groups.get(prefix);
    if (!group) this.groups.set(prefix, (group = new Set()));
    group.add(w);
    this.watcherCount++;
    if (w.replaying) setImmediate(() => this.replayStep(w));
    return { cancel: () => this.remove(w) };
  }

  /** Delivers events of committed writes (in revision order) to every matching watcher, asynchronously. */
  publish(events: WatchEvent[]): void {
    if (events.length === 0 || this.watcherCount === 0) return;
    for (const [prefix, group] of this.groups) {
      let matched: WatchEvent[] | undefined;
      if (prefix === '') matched = events;
      else {
        for (const ev of events) {
          if (ev.kv.key.startsWith(prefix)) (matched ??= []).push(ev);
        }
      }
      if (!matched) continue;
      const last = matched[matched.length - 1].kv.modRevision;
      for (const w of group) {
        if (w.after >= last) continue; // watch started in the future
        const chunk = w.after >= matched[0].kv.modRevision ? matched.filter((e) => e.kv.modRevision > w.after) : matched;
        w.pending.push(chunk);
        this.dirty.add(w);
      }
    }
    if (this.dirty.size > 0 && !this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  /** Ends every watcher with `err` (used when the backend closes). */
  closeAll(err: Error = new StoreError('store closed')): void {
    for (const group of [...this.groups.values()]) {
      for (const w of [...group]) this.fail(w, err);
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    const ws = [...this.dirty];
    this.dirty.clear();
    for (const w of ws) {
      if (!w.replaying) this.deliverPending(w);
    }
  }

  private deliverPending(w: WatchState): void {
    if (w.cancelled || w.pending.length === 0) return;
    const events = w.pending.length === 1 ? w.pending[0] : w.pending.flat();
    w.pending = [];
    this.deliver(w, events);
  }

  private deliver(w: WatchState, events: WatchEvent[]): void {
    if (w.cancelled || events.length === 0) return;
    try {
      w.callbacks.onEvents(events);
    } catch (err) {
      // A consumer that throws is terminated with its own error rather than silently losing events.
      this.fail(w, err instanceof Error ? err : new Error(String(err)));
    }
  }

  private replayStep(w: WatchState): void {
    if (w.cancelled) return;
    const compacted = this.source.compactRevision();
    if (w.cursor < compacted) {
      this.fail(w, new CompactedError(w.after, compacted));
      return;
    }
    let events: WatchEvent[];
    try {
      events = this.source.history(w.prefix, w.cursor, w.until, REPLAY_CHUNK);
    } catch (err) {
      this.fail(w, err instanceof Error ? err : new Error(String(err)));
      return;
    }
    const done = events.length < REPLAY_CHUNK;
    w.cursor = done ? w.until : events[events.length - 1].kv.modRevision;
    this.deliver(w, events);
    if (w.cancelled) return;
    if (done) {
      w.replaying = false;
      this.deliverPending(w);
    } else {
      setImmediate(() => this.replayStep(w));
    }
  }

  private remove(w: WatchState): boolean {
    if (w.cancelled) return false;
    w.cancelled = true;
    w.pending = [];
    this.dirty.delete(w);
    const group = this.groups.get(w.prefix);
    if (group) {
      group.delete(w);
      if (group.size === 0) this.groups.delete(w.prefix);
    }
    this.watcherCount--;
    return true;
  }

  private fail(w: WatchState, err: Error): void {
    if (!this.remove(w)) return;
    try {
      w.callbacks.onError?.(err);
    } catch {
      // The watcher is already gone; an onError that throws has nobody left to tell.
    }
  }
}
