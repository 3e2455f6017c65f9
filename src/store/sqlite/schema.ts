/**
 * The SQLite schema of the store, kine-style: ONE append-only log table whose AUTOINCREMENT id is the global
 * revision (= Kubernetes resourceVersion), plus a small meta table for the compaction state. AUTOINCREMENT (not a
 * plain rowid) guarantees a revision is never reused, even after compaction deletes the newest rows, so the current
 * revision survives restarts as `sqlite_sequence.seq`.
 */
import type Database from 'better-sqlite3';

/** Bumped whenever the layout changes incompatibly; a database with another version is refused at start. */
export const SCHEMA_VERSION = 1;

/**
 * Columns of `kv` (one row per write):
 * - name: the key.
 * - created: 1 when the row created the key; its create revision is then its own id (create_revision holds 0,
 *   which saves an UPDATE per create).
 * - deleted: 1 for a tombstone; `value` then holds the last value before the delete (etcd's DELETE event carries it).
 * - create_revision: revision that created the key (for created = 0 rows).
 * - prev_revision: id of the row this one replaced (0 for the first create of a key). The UNIQUE index on
 *   (name, prev_revision) makes two writers starting from the same version collide inside the database: the loser
 *   gets a constraint error that the backend maps to ConflictError / KeyExistsError.
 * - value, old_value: the new value and (for updates) the replaced one, so watch replay yields prevKv without a join.
 */
export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS kv (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  created INTEGER NOT NULL,
  deleted INTEGER NOT NULL,
  create_revision INTEGER NOT NULL,
  prev_revision INTEGER NOT NULL,
  value TEXT,
  old_value TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS kv_name_prev_revision ON kv (name, prev_revision);
CREATE INDEX IF NOT EXISTS kv_name_id ON kv (name, id);
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ${SCHEMA_VERSION});
INSERT OR IGNORE INTO meta (key, value) VALUES ('compact_revision', 0);
INSERT OR IGNORE INTO meta (key, value) VALUES ('compact_progress', 0);
`;

/**
 * Sets the pragmas (WAL + synchronous=NORMAL: a committed write is in the WAL before the call returns, so it
 * survives kill -9 of the process; only an OS crash can lose the last moments) and creates the schema.
 */
export function applySchema(db: Database.Database): void {
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('temp_store = MEMORY');
  db.pragma('cache_size = -65536');
  db.exec(SCHEMA_SQL);
  const row = db.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).get() as { value: number };
  if (row.value !== SCHEMA_VERSION) {
    throw new Error(`store schema version ${row.value} is not supported (expected ${SCHEMA_VERSION})`);
  }
}
