/**
 * A floor/ceiling reference for the API benchmark: how fast raw better-sqlite3 can insert rows on this machine's disk
 * with the same pragmas the store uses (WAL, synchronous=NORMAL). Printing it beside apiserver numbers tells whether
 * a slow run is the store's fault or the disk's.
 */
import Database from 'better-sqlite3';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** Rows per second for one-row transactions and for transactions of 100 rows. */
export interface RawInsertRate {
  singlePerSec: number;
  batchedPerSec: number;
}

/**
 * Inserts `n` rows one transaction each, then `n` rows in transactions of 100, into a scratch database under `dir`
 * (removed afterwards), and reports both rates. Synchronous: it blocks the event loop for the duration.
 */
export function measureRawInsertRate(dir: string, n: number): RawInsertRate {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `raw-insert-rate-${process.pid}-${Date.now()}.db`);
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec(`CREATE TABLE scratch (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, value BLOB)`);
    const insert = db.prepare('INSERT INTO scratch (name, value) VALUES (?, ?)');
    const value = 'x'.repeat(512);

    let t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) insert.run(`/single/${i}`, value);
    const singleNs = Number(process.hrtime.bigint() - t0);

    const batch = db.transaction((from: number, to: number) => {
      for (let i = from; i < to; i++) insert.run(`/batched/${i}`, value);
    });
    t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i += 100) batch(i, Math.min(n, i + 100));
    const batchedNs = Number(process.hrtime.bigint() - t0);

    return {
      singlePerSec: Math.round((n * 1e9) / Math.max(1, singleNs)),
      batchedPerSec: Math.round((n * 1e9) / Math.max(1, batchedNs)),
    };
  } finally {
    db.close();
    for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
  }
}
