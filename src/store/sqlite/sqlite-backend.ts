/**
 * SqliteBackend: the durable store, a kine-style revision log in one SQLite file (better-sqlite3, WAL).
 *
 * - Every write appends one row; its AUTOINCREMENT id is the global revision. Optimistic concurrency is enforced by
 *   the unique (name, prev_revision) index, so it holds even against another process writing the same file.
 * - Writes issued in the same event-loop turn are grouped into one transaction (one WAL commit) at setImmediate
 *   time. Each call still gets its own revision and its own result or error: a failed precondition (exists,
 *   conflict, not found) only fails that call, because each write is a single statement that SQLite aborts alone.
 *   Only a failure of the transaction itself (I/O error, commit failure) fails the whole group — none of it is then
 *   committed, so callers never see a write acknowledged that is not on disk.
 * - Watchers are notified in-process right after commit by one WatchHub; history for replays comes from the table.
 * - Compaction (kine's rule) runs in id-range batches, each its own transaction, yielding to the event loop between
 *   batches. The logical compact revision is recorded first and physical progress per batch, so a compaction cut
 *   short by a crash is finished at the next start.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { prefixEnd } from '../key-range.js';
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
} from '../types.js';
import { WatchHub } from '../watch-hub.js';
import { applySchema } from './schema.js';
import * as SQL from './sql.js';

/** Options for SqliteBackend. */
export interface SqliteBackendOptions {
  /** Ids per compaction transaction (default 5000). Smaller = shorter write stalls during compaction. */
  compactBatchSize?: number;
  /** Group writes of one event-loop turn into one transaction (default true). */
  batchWrites?: boolean;
}

interface LatestRow {
  id: number;
  created: number;
  deleted: number;
  create_revision: number;
  value: string;
}
interface ListRow {
  id: number;
  name: string;
  created: number;
  create_revision: number;
  value: string;
}
interface HistoryRow {
  id: number;
  name: string;
  created: number;
  deleted: number;
  create_revision: number;
  prev_revision: number;
  value: string;
  old_value: string | null;
}

/** Result of one write executed inside a transaction, published and returned only after commit. */
interface WriteResult {
  kv: KeyValue;
  event: WatchEvent;
}
interface QueuedWrite {
  run: () => WriteResult;
  resolve: (kv: KeyValue) => void;
  reject: (err: unknown) => void;
}

function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'SQLITE_CONSTRAINT_UNIQUE';
}

function historyEvent(r: HistoryRow): WatchEvent {
  const createRevision = r.created ? r.id : r.create_revision;
  const kv: KeyValue = { key: r.name, value: r.value, createRevision, modRevision: r.id };
  if (r.created) return { type: 'PUT', kv };
  const prevKv: KeyValue = {
    key: r.name,
    value: r.deleted ? r.value : (r.old_value as string),
    createRevision,
    modRevision: r.prev_revision,
  };
  return { type: r.deleted ? 'DELETE' : 'PUT', kv, prevKv };
}

/** The SQLite Backend; see the module comment. `file` is the database path (its directory is created). */
export class SqliteBackend implements Backend {
  private db: Database.Database | undefined;
  private stmts!: ReturnType<SqliteBackend['prepare']>;
  private rev = 0;
  private compacted = 0;
  private closed = false;
  private queue: QueuedWrite[] = [];
  private flushScheduled = false;
  private compaction: Promise<void> = Promise.resolve();
  private readonly compactBatchSize: number;
  private readonly batchWrites: boolean;
  private readonly hub = new WatchHub({
    history: (prefix, after, until, limit) => this.history(prefix, after, until, limit),
    compactRevision: () => this.compacted,
  });

  constructor(
    readonly file: string,
    options: SqliteBackendOptions = {},
  ) {
    this.compactBatchSize = Math.max(1, options.compactBatchSize ?? 5000);
    this.batchWrites = options.batchWrites ?? true;
  }

  async start(): Promise<void> {
    if (this.db) throw new StoreError('store already started');
    if (this.file !== ':memory:') mkdirSync(dirname(this.file), { recursive: true });
    const db = new Database(this.file, { timeout: 5000 });
    try {
      applySchema(db);
      this.db = db;
      this.stmts = this.prepare(db);
    } catch (err) {
      db.close();
      throw err;
    }
    this.rev = this.readCurrentRevision();
    this.compacted = this.meta('compact_revision');
    // Finish a compaction that a crash cut short (progress is behind the recorded compact revision).
    await this.physicalCompact();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.db) this.flush();
    this.closed = true;
    await this.compaction.catch(() => undefined);
    this.hub.closeAll();
    this.db?.close();
  }

  async get(key: string, revision?: number): Promise<KeyValue | undefined> {
    this.check();
    const at = this.readRevision(revision);
    const row = (at === this.rev ? this.stmts.getLatest.get(key) : this.stmts.getAt.get(key, at)) as LatestRow | undefined;
    if (!row || row.deleted) return undefined;
    return { key, value: row.value, createRevision: row.created ? row.id : row.create_revision, modRevision: row.id };
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListResult> {
    this.check();
    const at = this.readRevision(options.revision);
    const limit = options.limit && options.limit > 0 ? Math.floor(options.limit) : 0;
    const hi = prefixEnd(prefix);
    const after = options.startAfter;
    const rows = (
      after !== undefined && after >= prefix
        ? this.stmts.listAfter.all(after, hi, at, limit ? limit + 1 : -1)
        : this.stmts.list.all(prefix, hi, at, limit ? limit + 1 : -1)
    ) as ListRow[];
    const more = limit > 0 && rows.length > limit;
    if (more) rows.length = limit;
    const items = rows.map(
      (r): KeyValue => ({
        key: r.name,
        value: r.value,
        createRevision: r.created ? r.id : r.create_revision,
        modRevision: r.id,
      }),
    );
    return { items, revision: at, more };
  }

  async count(prefix: string): Promise<number> {
    this.check();
    return (this.stmts.count.get(prefix, prefixEnd(prefix)) as { n: number }).n;
  }

  create(key: string, value: string): Promise<KeyValue> {
    return this.enqueue(() => {
      const latest = this.stmts.getLatest.get(key) as LatestRow | undefined;
      if (latest && !latest.deleted) throw new KeyExistsError(key);
      let id: number;
      try {
        id = Number(this.stmts.insertCreate.run(key, latest?.id ?? 0, value).lastInsertRowid);
      } catch (err) {
        if (isUniqueViolation(err)) throw new KeyExistsError(key);
        throw err;
      }
      const kv: KeyValue = { key, value, createRevision: id, modRevision: id };
      return { kv, event: { type: 'PUT', kv } };
    });
  }

  update(key: string, value: string, expectedModRevision: number): Promise<KeyValue> {
    return this.enqueue(() => {
      let row: { id: number; create_revision: number; old_value: string } | undefined;
      try {
        row = this.stmts.insertUpdate.get(value, expectedModRevision, key) as typeof row;
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
      }
      if (!row) throw this.writeFailure(key, expectedModRevision);
      const kv: KeyValue = { key, value, createRevision: row.create_revision, modRevision: row.id };
      const prevKv: KeyValue = {
        key,
        value: row.old_value,
        createRevision: row.create_revision,
        modRevision: expectedModRevision,
      };
      return { kv, event: { type: 'PUT', kv, prevKv } };
    });
  }

  delete(key: string, expectedModRevision?: number): Promise<KeyValue> {
    return this.enqueue(() => {
      let expected = expectedModRevision;
      if (expected === undefined) {
        const latest = this.stmts.getLatest.get(key) as LatestRow | undefined;
        if (!latest || latest.deleted) throw new NotFoundError(key);
        expected = latest.id;
      }
      let row: { id: number; create_revision: number; value: string } | undefined;
      try {
        row = this.stmts.insertDelete.get(expected, key) as typeof row;
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
      }
      if (!row) throw this.writeFailure(key, expected);
      const kv: KeyValue = { key, value: row.value, createRevision: row.create_revision, modRevision: row.id };
      const prevKv: KeyValue = { ...kv, modRevision: expected };
      return { kv, event: { type: 'DELETE', kv, prevKv } };
    });
  }

  /** Throws CompactedError synchronously when `afterRevision` is below the compact revision. */
  watch(prefix: string, afterRevision: number, callbacks: WatchCallbacks): Watcher {
    this.check();
    return this.hub.watch(prefix, Math.max(0, afterRevision), this.rev, callbacks);
  }

  /**
   * Compacts history up to `revision` (etcd semantics: the state at `revision` stays readable, anything older does
   * not). A revision at or below the current compact revision is a no-op; above the current revision fails with
   * FutureRevisionError. Resolves when the rows are physically gone.
   */
  compact(revision: number): Promise<void> {
    try {
      this.check();
    } catch (err) {
      return Promise.reject(err);
    }
    if (revision > this.rev) return Promise.reject(new FutureRevisionError(revision, this.rev));
    if (revision > this.compacted) {
      // Logical first: from now on reads and watches below `revision` fail, before any row disappears.
      this.compacted = revision;
      this.stmts.metaSet.run(revision, 'compact_revision');
    }
    const run = this.compaction.then(() => this.physicalCompact());
    this.compaction = run.catch(() => undefined);
    return run;
  }

  async currentRevision(): Promise<number> {
    return this.rev;
  }

  compactRevision(): number {
    return this.compacted;
  }

  private prepare(db: Database.Database) {
    return {
      getLatest: db.prepare(SQL.GET_LATEST),
      getAt: db.prepare(SQL.GET_AT),
      list: db.prepare(SQL.LIST),
      listAfter: db.prepare(SQL.LIST_AFTER),
      count: db.prepare(SQL.COUNT),
      insertCreate: db.prepare(SQL.INSERT_CREATE),
      insertUpdate: db.prepare(SQL.INSERT_UPDATE),
      insertDelete: db.prepare(SQL.INSERT_DELETE),
      history: db.prepare(SQL.HISTORY),
      currentRevision: db.prepare(SQL.CURRENT_REVISION),
      metaGet: db.prepare(SQL.META_GET),
      metaSet: db.prepare(SQL.META_SET),
      compactSuperseded: db.prepare(SQL.COMPACT_SUPERSEDED),
      compactTombstones: db.prepare(SQL.COMPACT_TOMBSTONES),
      begin: db.prepare(SQL.BEGIN),
      commit: db.prepare(SQL.COMMIT),
      rollback: db.prepare(SQL.ROLLBACK),
    };
  }

  private check(): void {
    if (this.closed) throw new StoreError('store closed');
    if (!this.db) throw new StoreError('store not started');
  }

  private meta(key: string): number {
    return (this.stmts.metaGet.get(key) as { value: number } | undefined)?.value ?? 0;
  }

  private readCurrentRevision(): number {
    return (this.stmts.currentRevision.get() as { seq: number } | undefined)?.seq ?? 0;
  }

  private readRevision(revision: number | undefined): number {
    if (!revision || revision <= 0) return this.rev;
    if (revision > this.rev) throw new FutureRevisionError(revision, this.rev);
    if (revision < this.compacted) throw new CompactedError(revision, this.compacted);
    return revision;
  }

  /** Why a guarded insert wrote nothing: the key is gone (NotFound) or it has moved on (Conflict). */
  private writeFailure(key: string, expected: number): StoreError {
    const latest = this.stmts.getLatest.get(key) as LatestRow | undefined;
    if (!latest || latest.deleted) return new NotFoundError(key);
    return new ConflictError(key, expected, latest.id);
  }

  private enqueue(run: () => WriteResult): Promise<KeyValue> {
    try {
      this.check();
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<KeyValue>((resolve, reject) => {
      this.queue.push({ run, resolve, reject });
      if (!this.batchWrites) this.flush();
      else if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Runs every queued write in one transaction, then publishes and settles them in revision order. */
  private flush(): void {
    this.flushScheduled = false;
    const ops = this.queue;
    if (ops.length === 0) return;
    this.queue = [];
    const s = this.stmts;
    const results: (WriteResult | StoreError)[] = new Array(ops.length);
    try {
      s.begin.run();
      for (let i = 0; i < ops.length; i++) {
        try {
          results[i] = ops[i].run();
        } catch (err) {
          // Precondition failures abort only their own statement; anything else aborts the group.
          if (err instanceof StoreError) results[i] = err;
          else throw err;
        }
      }
      s.commit.run();
    } catch (err) {
      if (this.db?.inTransaction) {
        try {
          s.rollback.run();
        } catch {
          // The original error is the one worth reporting; a failed rollback leaves SQLite to roll back itself.
        }
      }
      this.rev = this.readCurrentRevision();
      for (const op of ops) op.reject(err);
      return;
    }
    const events: WatchEvent[] = [];
    for (const r of results) {
      if (r instanceof StoreError) continue;
      events.push(r.event);
      this.rev = r.kv.modRevision;
    }
    this.hub.publish(events);
    for (let i = 0; i < ops.length; i++) {
      const r = results[i];
      if (r instanceof StoreError) ops[i].reject(r);
      else ops[i].resolve(r.kv);
    }
  }

  private history(prefix: string, after: number, until: number, limit: number): WatchEvent[] {
    const rows = this.stmts.history.all(after, until, prefix, prefixEnd(prefix), limit) as HistoryRow[];
    return rows.map(historyEvent);
  }

  /** Deletes superseded rows and tombstones between the physical progress and the compact revision, in batches. */
  private async physicalCompact(): Promise<void> {
    const s = this.stmts;
    let progress = this.meta('compact_progress');
    const target = this.compacted;
    while (progress < target && !this.closed) {
      const to = Math.min(target, progress + this.compactBatchSize);
      s.begin.run();
      try {
        s.compactSuperseded.run(progress, to);
        s.compactTombstones.run(progress, to);
        s.metaSet.run(to, 'compact_progress');
        s.commit.run();
      } catch (err) {
        if (this.db?.inTransaction) s.rollback.run();
        throw err;
      }
      progress = to;
      if (progress < target) await new Promise((r) => setImmediate(r));
    }
  }
}
