import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { recordWatch, runStoreConformance } from '../conformance.js';
import { CompactedError, ConflictError, KeyExistsError } from '../types.js';
import { SqliteBackend } from './sqlite-backend.js';

const root = mkdtempSync(join(tmpdir(), 'skiff-sqlite-test-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshFile = () => join(root, `db-${++n}`, 'state.db');

runStoreConformance({
  name: 'sqlite (batched writes)',
  newStore: async () => {
    const s = new SqliteBackend(freshFile(), { compactBatchSize: 3 });
    await s.start();
    return s;
  },
});

runStoreConformance({
  name: 'sqlite (unbatched writes)',
  newStore: async () => {
    const s = new SqliteBackend(freshFile(), { batchWrites: false });
    await s.start();
    return s;
  },
});

async function open(file: string, opts = {}): Promise<SqliteBackend> {
  const s = new SqliteBackend(file, opts);
  await s.start();
  return s;
}

test('restart on the same file keeps every key and the revision keeps increasing', async () => {
  const file = freshFile();
  let s = await open(file);
  const a = await s.create('/a', '1');
  const a2 = await s.update('/a', '2', a.modRevision);
  await s.create('/b', 'b');
  const d = await s.delete('/b');
  await s.close();

  s = await open(file);
  assert.equal(await s.currentRevision(), d.modRevision);
  assert.deepEqual(await s.get('/a'), a2);
  assert.equal(await s.get('/b'), undefined);
  assert.equal((await s.get('/a', a.modRevision))?.value, '1');
  const c = await s.create('/c', 'c');
  assert.equal(c.modRevision, d.modRevision + 1);
  await assert.rejects(s.update('/a', 'x', a.modRevision), ConflictError);
  await s.close();
});

test('revision is never reused even when compaction removed the newest rows', async () => {
  const file = freshFile();
  let s = await open(file);
  await s.create('/a', '1');
  const d = await s.delete('/a');
  await s.compact(d.modRevision);
  await s.close();
  const db = new Database(file);
  assert.equal((db.prepare('SELECT COUNT(*) AS n FROM kv').get() as { n: number }).n, 0);
  db.close();
  s = await open(file);
  assert.equal(await s.currentRevision(), d.modRevision);
  assert.equal((await s.create('/a', '2')).modRevision, d.modRevision + 1);
  await s.close();
});

test('compact revision persists across restarts', async () => {
  const file = freshFile();
  let s = await open(file);
  const a = await s.create('/a', '1');
  const a2 = await s.update('/a', '2', a.modRevision);
  await s.update('/a', '3', a2.modRevision);
  await s.compact(a2.modRevision);
  await s.close();
  s = await open(file);
  assert.equal(s.compactRevision(), a2.modRevision);
  await assert.rejects(s.get('/a', a.modRevision), CompactedError);
  assert.throws(() => s.watch('/', a.modRevision, { onEvents() {} }), CompactedError);
  assert.equal((await s.get('/a', a2.modRevision))?.value, '2');
  await s.close();
});

test('compaction physically removes superseded rows and tombstones only', async () => {
  const file = freshFile();
  const s = await open(file, { compactBatchSize: 2 });
  let k = await s.create('/k', '0');
  for (let i = 1; i <= 10; i++) k = await s.update('/k', String(i), k.modRevision);
  await s.create('/gone', 'x');
  await s.delete('/gone');
  await s.create('/keep', 'y');
  const cur = await s.currentRevision();
  await s.compact(cur);
  const db = new Database(file, { readonly: true });
  const rows = db.prepare('SELECT name, value FROM kv ORDER BY id').all();
  db.close();
  assert.deepEqual(rows, [{ name: '/k', value: '10' }, { name: '/keep', value: 'y' }]);
  await s.close();
});

test('an interrupted compaction is finished at the next start', async () => {
  const file = freshFile();
  let s = await open(file);
  let k = await s.create('/k', '0');
  for (let i = 1; i <= 5; i++) k = await s.update('/k', String(i), k.modRevision);
  await s.close();
  // Simulate a crash after the logical compact revision was recorded but before any row was deleted.
  const db = new Database(file);
  db.prepare(`UPDATE meta SET value = ? WHERE key = 'compact_revision'`).run(k.modRevision);
  db.close();
  s = await open(file);
  assert.equal(s.compactRevision(), k.modRevision);
  const check = new Database(file, { readonly: true });
  assert.equal((check.prepare('SELECT COUNT(*) AS n FROM kv').get() as { n: number }).n, 1);
  check.close();
  assert.deepEqual(await s.get('/k'), k);
  await s.close();
});

test('a unique-index collision surfaces as ConflictError / KeyExistsError', async () => {
  const file = freshFile();
  const s = await open(file);
  const a = await s.create('/a', '1');
  // Another writer (a second connection) replaces /a behind this process's back, from the same base.
  const other = new Database(file);
  other
    .prepare(
      `INSERT INTO kv (name, created, deleted, create_revision, prev_revision, value, old_value)
       VALUES ('/a', 0, 0, ?, ?, 'theirs', '1')`,
    )
    .run(a.modRevision, a.modRevision);
  assert.throws(
    () =>
      other
        .prepare(`INSERT INTO kv (name, created, deleted, create_revision, prev_revision, value) VALUES ('/a', 0, 0, 1, ?, 'x')`)
        .run(a.modRevision),
    /UNIQUE/,
  );
  const err = await s.update('/a', 'mine', a.modRevision).catch((e: unknown) => e);
  assert.ok(err instanceof ConflictError, String(err));
  await assert.rejects(s.delete('/a', a.modRevision), ConflictError);
  // Same for creates: the other writer creates /b first.
  other
    .prepare(`INSERT INTO kv (name, created, deleted, create_revision, prev_revision, value) VALUES ('/b', 1, 0, 0, 0, 'theirs')`)
    .run();
  await assert.rejects(s.create('/b', 'mine'), KeyExistsError);
  other.close();
  await s.close();
});

test('two backends on one file: the database arbitrates conflicting writes', async () => {
  const file = freshFile();
  const s1 = await open(file);
  const s2 = await open(file);
  const a = await s1.create('/a', '1');
  const [r1, r2] = await Promise.allSettled([s1.update('/a', 'one', a.modRevision), s2.update('/a', 'two', a.modRevision)]);
  assert.equal([r1, r2].filter((r) => r.status === 'fulfilled').length, 1);
  const loser = r1.status === 'rejected' ? r1 : (r2 as PromiseRejectedResult);
  assert.ok(loser.reason instanceof ConflictError);
  await s1.close();
  await s2.close();
});

test('batched writes: one failing precondition fails only its own call', async () => {
  const s = await open(freshFile());
  const base = await s.currentRevision();
  const w = recordWatch(s, '/', base);
  const results = await Promise.allSettled([
    s.create('/x', '1'),
    s.create('/x', '2'),
    s.create('/y', '1'),
    s.update('/nope', 'v', 1),
    s.delete('/y'),
  ]);
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled']);
  assert.deepEqual(
    results.map((r) => (r.status === 'fulfilled' ? r.value.modRevision : 0)),
    [base + 1, 0, base + 2, 0, base + 3],
  );
  const evs = await w.waitFor(3);
  assert.deepEqual(evs.map((e) => [e.type, e.kv.key]), [['PUT', '/x'], ['PUT', '/y'], ['DELETE', '/y']]);
  w.watcher.cancel();
  await s.close();
});

test('batched writes: a transaction failure fails the whole group and commits nothing', async () => {
  const file = freshFile();
  const s = await open(file);
  await s.create('/before', '1');
  const base = await s.currentRevision();
  const w = recordWatch(s, '/', base);
  const db = new Database(file);
  db.exec(`CREATE TRIGGER boom BEFORE INSERT ON kv WHEN NEW.name = '/boom' BEGIN SELECT RAISE(ABORT, 'disk on fire'); END`);
  const results = await Promise.allSettled([s.create('/ok1', '1'), s.create('/boom', '1'), s.create('/ok2', '1')]);
  assert.ok(results.every((r) => r.status === 'rejected'));
  assert.equal(await s.currentRevision(), base);
  assert.equal(await s.get('/ok1'), undefined);
  db.exec('DROP TRIGGER boom');
  db.close();
  const ok = await s.create('/ok1', '1');
  assert.equal(ok.modRevision, base + 1);
  const evs = await w.waitFor(1);
  assert.deepEqual(evs.map((e) => e.kv.key), ['/ok1']);
  w.watcher.cancel();
  await s.close();
});

test('long replay is chunked and stays ordered while live writes continue', async () => {
  const s = await open(freshFile());
  const writes: Promise<unknown>[] = [];
  for (let i = 0; i < 2500; i++) writes.push(s.create(`/r/${i}`, String(i)));
  await Promise.all(writes);
  const w = recordWatch(s, '/r/', 0);
  const live = s.create('/r/live', 'x');
  const evs = await w.waitFor(2501, 5000);
  await live;
  assert.equal(evs.length, 2501);
  for (let i = 0; i < evs.length; i++) assert.equal(evs[i].kv.modRevision, i + 1);
  w.watcher.cancel();
  await s.close();
});

test('writes after close are rejected', async () => {
  const s = await open(freshFile());
  await s.close();
  await assert.rejects(s.create('/a', '1'), /closed/);
  await assert.rejects(s.get('/a'), /closed/);
});

test('an acknowledged write survives kill -9 of the writing process', async () => {
  const file = freshFile();
  const moduleUrl = new URL('./sqlite-backend.js', import.meta.url).href;
  // Under tsx the sources are .ts and the child needs the same loader; compiled tests run plain node.
  const loader = import.meta.url.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const script = `
    const { SqliteBackend } = await import(${JSON.stringify(moduleUrl)});
    const s = new SqliteBackend(${JSON.stringify(file)});
    await s.start();
    const writes = [];
    for (let i = 0; i < 200; i++) writes.push(s.create('/k/' + i, 'v' + i));
    const last = await Promise.all(writes);
    const u = await s.update('/k/0', 'updated', last[0].modRevision);
    process.stdout.write('acked ' + u.modRevision + '\\n');
    setInterval(() => {}, 1000); // stay alive until killed
  `;
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, [...loader, '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const acked = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /acked (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`child exited early (${code})`)));
  });
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
  const s = await open(file);
  assert.equal(await s.currentRevision(), acked);
  assert.equal(await s.count('/k/'), 200);
  assert.equal((await s.get('/k/0'))?.value, 'updated');
  await s.close();
});
