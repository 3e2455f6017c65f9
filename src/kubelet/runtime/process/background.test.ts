import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BackgroundQueue } from './background.js';

const tick = () => new Promise<void>((r) => setImmediate(r));

test('background queue: tasks run one at a time, in order, at once when nothing holds it', async () => {
  const q = new BackgroundQueue();
  const log: string[] = [];
  let release!: () => void;
  const first = q.run('a', () => new Promise<void>((r) => {
    log.push('a start');
    release = () => {
      log.push('a end');
      r();
    };
  }));
  const second = q.run('b', () => {
    log.push('b');
  });
  await tick();
  assert.deepEqual(log, ['a start']);
  release();
  await Promise.all([first, second]);
  assert.deepEqual(log, ['a start', 'a end', 'b']);
});

test('background queue: a hold defers tasks until it is released; failures reject run()', async () => {
  const q = new BackgroundQueue({ maxDeferMs: 60_000 });
  const release = q.hold();
  assert.equal(q.held, true);
  let ran = false;
  const p = q.run('x', () => {
    ran = true;
  });
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(ran, false);
  assert.equal(q.pending, 1);
  release();
  release(); // idempotent
  await p;
  assert.equal(ran, true);
  assert.equal(q.held, false);
  await assert.rejects(q.run('bad', () => Promise.reject(new Error('boom'))), /boom/);
});

test('background queue: bounded: a task that waited maxDeferMs runs despite a hold; a hold ends after holdMaxMs', async () => {
  const q = new BackgroundQueue({ maxDeferMs: 30, holdMaxMs: 60_000 });
  const release = q.hold();
  const t0 = Date.now();
  await q.run('late', () => undefined);
  assert.ok(Date.now() - t0 >= 25, 'ran only after its bound');
  release();

  const q2 = new BackgroundQueue({ maxDeferMs: 60_000, holdMaxMs: 30 });
  q2.hold(); // never released by hand
  await q2.run('after the hold expired', () => undefined);
  assert.equal(q2.held, false);
});

test('background queue: flush runs queued tasks now, holds or not', async () => {
  const q = new BackgroundQueue({ maxDeferMs: 60_000 });
  const release = q.hold();
  const done: string[] = [];
  const a = q.run('a', async () => {
    await tick();
    done.push('a');
  });
  const b = q.run('b', () => {
    done.push('b');
  });
  await q.flush();
  assert.deepEqual(done, ['a', 'b']);
  await Promise.all([a, b]);
  release();
});
