/**
 * Every SQL statement the SQLite backend runs, in one place so the queries can be reviewed (and their plans
 * checked) together. All are prepared once at start; nothing is compiled per call.
 *
 * Prefix reads use the half-open range [lo, hi) on `name` so they are index range scans on kv_name_id; "the value
 * of a key at revision R" is its row with MAX(id) <= R (kine's rule), skipped when that row is a tombstone.
 */

/** Newest row of a key (current version or tombstone). Params: name. */
export const GET_LATEST = `
SELECT id, created, deleted, create_revision, value FROM kv WHERE name = ? ORDER BY id DESC LIMIT 1`;

/** Newest row of a key at or below a revision. Params: name, revision. */
export const GET_AT = `
SELECT id, created, deleted, create_revision, value FROM kv WHERE name = ? AND id <= ? ORDER BY id DESC LIMIT 1`;

/**
 * Live keys in [lo, hi) at revision, in key order. Params: lo, hi, revision, limit (-1 = all).
 * The GROUP BY streams in index order and CROSS JOIN keeps it the outer loop, so ORDER BY m.name needs no temp
 * B-tree and LIMIT stops the scan early: a 500-item page costs ~1 ms regardless of how many keys follow it.
 */
export const LIST = `
SELECT kv.id, m.name, kv.created, kv.create_revision, kv.value
FROM (SELECT name, MAX(id) AS mid FROM kv WHERE name >= ? AND name < ? AND id <= ? GROUP BY name ORDER BY name) AS m
CROSS JOIN kv ON kv.id = m.mid
WHERE kv.deleted = 0
ORDER BY m.name
LIMIT ?`;

/** Same as LIST but strictly after a continue key. Params: after, hi, revision, limit. */
export const LIST_AFTER = `
SELECT kv.id, m.name, kv.created, kv.create_revision, kv.value
FROM (SELECT name, MAX(id) AS mid FROM kv WHERE name > ? AND name < ? AND id <= ? GROUP BY name ORDER BY name) AS m
CROSS JOIN kv ON kv.id = m.mid
WHERE kv.deleted = 0
ORDER BY m.name
LIMIT ?`;

/** Number of live keys in [lo, hi). Params: lo, hi. */
export const COUNT = `
SELECT COUNT(*) AS n
FROM (SELECT MAX(id) AS mid FROM kv WHERE name >= ? AND name < ? GROUP BY name) AS m
JOIN kv ON kv.id = m.mid
WHERE kv.deleted = 0`;

/** Creates a key. Params: name, prev_revision (the tombstone's id or 0), value. */
export const INSERT_CREATE = `
INSERT INTO kv (name, created, deleted, create_revision, prev_revision, value, old_value)
VALUES (?, 1, 0, 0, ?, ?, NULL)`;

/**
 * Updates a key from an expected version: copies the expected row forward. It inserts nothing when that row is not
 * a live version of the key, and hits the unique (name, prev_revision) index when another write already replaced
 * it, so the expected-revision check happens inside the database. Params: value, expected id, name.
 */
export const INSERT_UPDATE = `
INSERT INTO kv (name, created, deleted, create_revision, prev_revision, value, old_value)
SELECT name, 0, 0, CASE WHEN created = 1 THEN id ELSE create_revision END, id, ?, value
FROM kv WHERE id = ? AND name = ? AND deleted = 0
RETURNING id, create_revision, old_value`;

/** Writes a tombstone over an expected version (same guards as INSERT_UPDATE). Params: expected id, name. */
export const INSERT_DELETE = `
INSERT INTO kv (name, created, deleted, create_revision, prev_revision, value, old_value)
SELECT name, 0, 1, CASE WHEN created = 1 THEN id ELSE create_revision END, id, value, NULL
FROM kv WHERE id = ? AND name = ? AND deleted = 0
RETURNING id, create_revision, value`;

/** Rows (after, until] under [lo, hi) in revision order, for watch replay. Params: after, until, lo, hi, limit. */
export const HISTORY = `
SELECT id, name, created, deleted, create_revision, prev_revision, value, old_value
FROM kv WHERE id > ? AND id <= ? AND name >= ? AND name < ?
ORDER BY id LIMIT ?`;

/** The highest revision ever assigned (survives deletion of the newest rows). */
export const CURRENT_REVISION = `SELECT seq FROM sqlite_sequence WHERE name = 'kv'`;

/** Reads a meta counter (compact_revision, compact_progress, schema_version). Params: key. */
export const META_GET = `SELECT value FROM meta WHERE key = ?`;
/** Writes a meta counter. Params: value, key. */
export const META_SET = `UPDATE meta SET value = ? WHERE key = ?`;

/** Compaction step 1: delete every row that a row with id in (from, to] replaced. Params: from, to. */
export const COMPACT_SUPERSEDED = `
DELETE FROM kv WHERE id IN (SELECT prev_revision FROM kv WHERE id > ? AND id <= ? AND prev_revision != 0)`;

/** Compaction step 2: delete tombstones with id in (from, to]. Params: from, to. */
export const COMPACT_TOMBSTONES = `DELETE FROM kv WHERE id > ? AND id <= ? AND deleted = 1`;

/** Write transactions take the write lock up front, so a busy database fails (or waits) at BEGIN, not mid-group. */
export const BEGIN = 'BEGIN IMMEDIATE';
/** Ends a write group. */
export const COMMIT = 'COMMIT';
/** Abandons a write group after a transaction-level failure. */
export const ROLLBACK = 'ROLLBACK';
