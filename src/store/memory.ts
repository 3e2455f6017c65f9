/**
 * MemoryBackend: the store contract held in process memory, shaped like kine's log (every write is a new row with
 * the next global revision; deletes are tombstone rows). Used by unit tests and by `memory://` for throwaway
 * clusters. It keeps the same MVCC semantics as the SQLite backend, so code tested against it behaves the same on
 * disk: reads at past revisions, watch replay from the log, compaction with CompactedError.
 */
import { prefixEnd } from './key-range.js';
import {
  CompactedError,
  ConflictError,
  FutureRevisionError,
  KeyExistsError,
  NotFoundError,
  StoreError,
  type Backend,
  type KeyValue,
  type ListOptions,
  type ListResult,
  type WatchCallbacks,
  type WatchEvent,
  type Watcher,
} from './types.js';
import { WatchHub } from './watch-hub.js';

/** One log row (one revision). */
interface Row {
  rev: number;
  key: string;
  value: string;
  createRevision: number;
  /** Tombstone: `value` is the last value before the delete. */
  deleted: boolean;
  /** True when this row created the key (no prevKv). */
  created: boolean;
  /** Revision and value of the version this row replaced (0 / undefined for a create). */
  prevRev: number;
  prevValue?: string;
}

function rowEvent(r: Row): WatchEvent {
  const kv: KeyValue = { key: r.key, value: r.value, createRevision: r.createRevision, modRevision: r.rev };
  if (r.created) return { type: 'PUT', kv };
  const prevKv: KeyValue = {
    key: r.key,
    value: r.deleted ? r.value : (r.prevValue as string),
    createRevision: r.createRevision,
    modRevision: r.prevRev,
  };
  return { type: r.deleted ? 'DELETE' : 'PUT', kv, prevKv };
}

function rowKv(r: Row): KeyValue {
  return { key: r.key, value: r.value, createRevision: r.createRevision, modRevision: r.rev };
}

/** First index in sorted `arr` whose element is > `key` (or >= when `inclusive`). */
function lowerBound(arr: string[], key: string, inclusive: boolean): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (arr[mid] < key || (!inclusive && arr[mid] === key)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * A key's bucket: its first three `/`-separated parts with the trailing `/` (`/registry/pods/` of
 * `/registry/pods/ns/name`), or '' for a key with fewer parts. A prefix with three parts has the bucket of every key
 * it matches.
 */
function bucketOf(key: string): string {
  const a = key.indexOf('/');
  const b = a < 0 ? -1 : key.indexOf('/', a + 1);
  const c = b < 0 ? -1 : key.indexOf('/', b + 1);
  return c < 0 ? '' : key.slice(0, c + 1);
}

/**
 * The keys of one bucket, sorted, except for the keys created since the last `sorted()`: those wait unsorted and are
 * merged in then. (Inserting each new key into the sorted array moved the whole array on every create: quadratic in
 * the number of keys, and the biggest cost of a create under load.) A key is added once, when its first row is
 * appended, and leaves only with compaction, which rebuilds the bucket from `sorted()`.
 */
class KeyBucket {
  private added: string[] = [];

  constructor(private keys: string[]) {}

  add(key: string): void {
    this.added.push(key);
  }

  sorted(): string[] {
    const added = this.added;
    if (added.length === 0) return this.keys;
    this.added = [];
    added.sort();
    const old = this.keys;
    if (old.length === 0 || added[0] > old[old.length - 1]) {
      this.keys = old.length === 0 ? added : old.concat(added);
      return this.keys;
    }
    const merged: string[] = new Array(old.length + added.length);
    let i = 0;
    let j = 0;
    let k = 0;
    while (i < old.length && j < added.length) merged[k++] = old[i] < added[j] ? old[i++] : added[j++];
    while (i < old.length) merged[k++] = old[i++];
    while (j < added.length) merged[k++] = added[j++];
    this.keys = merged;
    return merged;
  }
}

/** The in-memory Backend; see the module comment. */
export class MemoryBackend implements Backend {
  private log: Row[] = [];
  private readonly versions = new Map<string, Row[]>();
  /**
   * Every key with at least one row (deleted keys stay until compaction removes their rows), in buckets by their
   * first three `/`-separated parts (`/registry/pods/`: one resource), each sorted except for the keys created since
   * its last range read (see KeyBucket). A range read sorts in only its own resource's new keys, so the busy
   * resources are not re-sorted by reads of the quiet ones.
   */
  private readonly buckets = new Map<string, KeyBucket>();
  private rev = 0;
  private compacted = 0;
  private started = false;
  private closed = false;
  private readonly hub = new WatchHub({
    history: (prefix, after, until, limit) => this.history(prefix, after, until, limit),
    compactRevision: () => this.compacted,
  });

  async start(): Promise<void> {
    this.started = true;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.hub.closeAll();
  }

  async get(key: string, revision?: number): Promise<KeyValue | undefined> {
    this.check();
    const at = this.readRevision(revision);
    const row = this.rowAt(key, at);
    return row && !row.deleted ? rowKv(row) : undefined;
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListResult> {
    this.check();
    const at = this.readRevision(options.revision);
    const limit = options.limit && options.limit > 0 ? options.limit : Infinity;
    const end = prefixEnd(prefix);
    const keys = this.keysFor(prefix);
    const start =
      options.startAfter !== undefined && options.startAfter >= prefix
        ? lowerBound(keys, options.startAfter, false)
        : lowerBound(keys, prefix, true);
    const items: KeyValue[] = [];
    let more = false;
    for (let i = start; i < keys.length; i++) {
      const key = keys[i];
      if (key >= end || !key.startsWith(prefix)) break;
      const row = this.rowAt(key, at);
      if (!row || row.deleted) continue;
      if (items.length >= limit) {
        more = true;
        break;
      }
      items.push(rowKv(row));
    }
    return { items, revision: at, more };
  }

  async count(prefix: string): Promise<number> {
    this.check();
    let n = 0;
    const end = prefixEnd(prefix);
    const keys = this.keysFor(prefix);
    for (let i = lowerBound(keys, prefix, true); i < keys.length; i++) {
      const key = keys[i];
      if (key >= end || !key.startsWith(prefix)) break;
      const rows = this.versions.get(key)!;
      if (!rows[rows.length - 1].deleted) n++;
    }
    return n;
  }

  async create(key: string, value: string): Promise<KeyValue> {
    this.check();
    const latest = this.latest(key);
    if (latest && !latest.deleted) throw new KeyExistsError(key);
    const rev = this.rev + 1;
    const row: Row = { rev, key, value, createRevision: rev, deleted: false, created: true, prevRev: latest?.rev ?? 0 };
    this.append(row);
    return rowKv(row);
  }

  async update(key: string, value: string, expectedModRevision: number): Promise<KeyValue> {
    this.check();
    const latest = this.latest(key);
    if (!latest || latest.deleted) throw new NotFoundError(key);
    if (latest.rev !== expectedModRevision) throw new ConflictError(key, expectedModRevision, latest.rev);
    const row: Row = {
      rev: this.rev + 1,
      key,
      value,
      createRevision: latest.createRevision,
      deleted: false,
      created: false,
      prevRev: latest.rev,
      prevValue: latest.value,
    };
    this.append(row);
    return rowKv(row);
  }

  async delete(key: string, expectedModRevision?: number): Promise<KeyValue> {
    this.check();
    const latest = this.latest(key);
    if (!latest || latest.deleted) throw new NotFoundError(key);
    if (expectedModRevision !== undefined && latest.rev !== expectedModRevision) {
      throw new ConflictError(key, expectedModRevision, latest.rev);
    }
    const row: Row = {
      rev: this.rev + 1,
      key,
      value: latest.value,
      createRevision: latest.createRevision,
      deleted: true,
      created: false,
      prevRev: latest.rev,
    };
    this.append(row);
    return rowKv(row);
  }

  watch(prefix: string, afterRevision: number, callbacks: WatchCallbacks): Watcher {
    this.check();
    return this.hub.watch(prefix, Math.max(0, afterRevision), this.rev, callbacks);
  }

  async compact(revision: number): Promise<void> {
    this.check();
    if (revision > this.rev) throw new FutureRevisionError(revision, this.rev);
    if (revision <= this.compacted) return;
    this.compacted = revision;
    const keep = new Set<Row>();
    for (const [key, rows] of this.versions) {
      // Index of the newest row at or below the compact revision: everything older is superseded.
      let i = rows.length - 1;
      while (i >= 0 && rows[i].rev > revision) i--;
      if (i < 0) continue;
      const drop = rows[i].deleted ? i + 1 : i;
      if (drop === 0) continue;
      const rest = rows.slice(drop);
      if (rest.length === 0) this.versions.delete(key);
      else this.versions.set(key, rest);
    }
    for (const rows of this.versions.values()) for (const r of rows) keep.add(r);
    this.log = this.log.filter((r) => keep.has(r));
    for (const [name, b] of this.buckets) {
      const kept = b.sorted().filter((k) => this.versions.has(k));
      if (kept.length === 0) this.buckets.delete(name);
      else this.buckets.set(name, new KeyBucket(kept));
    }
  }

  async currentRevision(): Promise<number> {
    return this.rev;
  }

  compactRevision(): number {
    return this.compacted;
  }

  private check(): void {
    if (!this.started) throw new StoreError('store not started');
    if (this.closed) throw new StoreError('store closed');
  }

  private readRevision(revision: number | undefined): number {
    if (!revision || revision <= 0) return this.rev;
    if (revision > this.rev) throw new FutureRevisionError(revision, this.rev);
    if (revision < this.compacted) throw new CompactedError(revision, this.compacted);
    return revision;
  }

  private latest(key: string): Row | undefined {
    const rows = this.versions.get(key);
    return rows ? rows[rows.length - 1] : undefined;
  }

  /**
   * The sorted keys a range read of `prefix` must scan: its bucket's when the prefix names a bucket (every key under
   * the prefix is in it), else every key (a short prefix such as `/registry/`: rare, so simply sorted afresh).
   */
  private keysFor(prefix: string): string[] {
    const name = bucketOf(prefix);
    if (name !== '') return this.buckets.get(name)?.sorted() ?? [];
    const all: string[] = [];
    for (const b of this.buckets.values()) for (const k of b.sorted()) all.push(k);
    return all.sort();
  }

  private rowAt(key: string, at: number): Row | undefined {
    const rows = this.versions.get(key);
    if (!rows) return undefined;
    for (let i = rows.length - 1; i >= 0; i--) if (rows[i].rev <= at) return rows[i];
    return undefined;
  }

  private append(row: Row): void {
    this.rev = row.rev;
    this.log.push(row);
    const rows = this.versions.get(row.key);
    if (rows) rows.push(row);
    else {
      this.versions.set(row.key, [row]);
      const name = bucketOf(row.key);
      let b = this.buckets.get(name);
      if (b === undefined) this.buckets.set(name, (b = new KeyBucket([])));
      b.add(row.key);
    }
    this.hub.publish([rowEvent(row)]);
  }

  private history(prefix: string, after: number, until: number, limit: number): WatchEvent[] {
    // Binary search the first row above `after`; the log is in revision order.
    let lo = 0;
    let hi = this.log.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.log[mid].rev <= after) lo = mid + 1;
      else hi = mid;
    }
    const out: WatchEvent[] = [];
    for (let i = lo; i < this.log.length && out.length < limit; i++) {
      const r = this.log[i];
      if (r.rev > until) break;
      if (r.key.startsWith(prefix)) out.push(rowEvent(r));
    }
    return out;
  }
}
