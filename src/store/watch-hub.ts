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
 *
 * The arrays (and event objects) handed to `onEvents` may be shared by every watcher of the same prefix: consumers
 * must treat them as read-only (copy before sorting or mutating).
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
  readonly group: Group;
  /** The watch's starting point: only events with a higher revision are delivered. */
  readonly after: number;
  readonly callbacks: WatchCallbacks;
  /** Highest revision delivered (or replayed) so far; later deliveries skip anything at or below it. */
  cursor: number;
  /** Replay target while replaying. */
  until: number;
  replaying: boolean;
  cancelled: boolean;
  /** Live event chunks that arrived while replaying (shared arrays: never mutated). */
  pending: WatchEvent[][];
}

/** Watchers of one prefix share the matching work and the queue of undelivered events. */
interface Group {
  readonly prefix: string;
  readonly watchers: Set<WatchState>;
  pending: WatchEvent[][];
}

/** Fans committed events out to prefix watchers; see the module comment. */
export class WatchHub {
  private readonly groups = new Map<string, Group>();
  private readonly dirty = new Set<Group>();
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
    let group = this.groups.get(prefix);
    if (!group) this.groups.set(prefix, (group = { prefix, watchers: new Set(), pending: [] }));
    const w: WatchState = {
      group,
      after,
      callbacks,
      // Revisions up to `current` come from the replay; queued live events at or below the cursor are skipped, which
      // also covers events published but not yet flushed when this watcher registered.
      cursor: after,
      until: current,
      replaying: after < current,
      cancelled: false,
      pending: [],
    };
    group.watchers.add(w);
    this.watcherCount++;
    if (w.replaying) setImmediate(() => this.replayStep(w));
    return { cancel: () => this.remove(w) };
  }

  /**
   * Queues events of committed writes (in revision order) for every matching watcher; delivery happens in a
   * microtask, once per group per flush, so the cost of a write does not grow with the number of watchers.
   */
  publish(events: WatchEvent[]): void {
    if (events.length === 0 || this.watcherCount === 0) return;
    for (const group of this.groups.values()) {
      const prefix = group.prefix;
      let matched: WatchEvent[] | undefined;
      if (prefix === '') matched = events;
      else {
        for (const ev of events) {
          if (ev.kv.key.startsWith(prefix)) (matched ??= []).push(ev);
        }
      }
      if (!matched) continue;
      group.pending.push(matched);
      this.dirty.add(group);
    }
    if (this.dirty.size > 0 && !this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  /** Ends every watcher with `err` (used when the backend closes). */
  closeAll(err: Error = new StoreError('store closed')): void {
    for (const group of [...this.groups.values()]) {
      for (const w of [...group.watchers]) this.fail(w, err);
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    const groups = [...this.dirty];
    this.dirty.clear();
    for (const group of groups) {
      if (group.pending.length === 0) continue;
      const events = group.pending.length === 1 ? group.pending[0] : group.pending.flat();
      group.pending = [];
      // Snapshot: a watcher added by a callback during delivery replays these revisions instead.
      for (const w of [...group.watchers]) {
        if (w.cancelled) continue;
        if (w.replaying) w.pending.push(events);
        else this.deliver(w, events);
      }
    }
  }

  /** Delivers the part of `events` above the watcher's cursor. */
  private deliver(w: WatchState, events: WatchEvent[]): void {
    if (w.cancelled || events.length === 0) return;
    const last = events[events.length - 1].kv.modRevision;
    if (last <= w.cursor) return;
    const fresh = events[0].kv.modRevision > w.cursor ? events : events.filter((e) => e.kv.modRevision > w.cursor);
    w.cursor = last;
    try {
      w.callbacks.onEvents(fresh);
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
      events = this.source.history(w.group.prefix, w.cursor, w.until, REPLAY_CHUNK);
    } catch (err) {
      this.fail(w, err instanceof Error ? err : new Error(String(err)));
      return;
    }
    const done = events.length < REPLAY_CHUNK;
    this.deliver(w, events);
    if (w.cancelled) return;
    if (done) {
      w.cursor = Math.max(w.cursor, w.until);
      w.replaying = false;
      const pending = w.pending;
      w.pending = [];
      for (const chunk of pending) this.deliver(w, chunk);
    } else {
      setImmediate(() => this.replayStep(w));
    }
  }

  private remove(w: WatchState): boolean {
    if (w.cancelled) return false;
    w.cancelled = true;
    w.pending = [];
    const group = w.group;
    group.watchers.delete(w);
    if (group.watchers.size === 0 && this.groups.get(group.prefix) === group) {
      this.groups.delete(group.prefix);
      this.dirty.delete(group);
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
