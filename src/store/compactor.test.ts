import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startCompactor } from './compactor.js';
import { MemoryBackend } from './memory.js';
import { CompactedError, FutureRevisionError } from './types.js';

async function storeWith(n: number): Promise<MemoryBackend> {
  const s = new MemoryBackend();
  await s.start();
  await writes(s, n);
  return s;
}
async function writes(s: MemoryBackend, n: number): Promise<void> {
  // Exactly n revisions: a create first if the key is new, updates otherwise.
  let kv = await s.get('/k');
  for (let i = 0; i < n; i++) {
    kv = kv ? await s.update('/k', String(i), kv.modRevision) : await s.create('/k', String(i));
  }
}

test('keeps everything younger than minAgeMs, then compacts to the old sample', async () => {
  let clock = 1_000_000;
  const logs: string[] = [];
  const s = await storeWith(50);
  const c = startCompactor(s, { minRevisions: 10, minAgeMs: 1000, now: () => clock, log: (m) => logs.push(m) });
  assert.equal(await c.runOnce(), undefined, 'initial sample only'); // shares the startup run
  await writes(s, 50); // revision 100 now
  clock += 500;
  assert.equal(await c.runOnce(), undefined, 'nothing is old enough yet');
  assert.equal(s.compactRevision(), 0);
  clock += 500;
  // The startup sample (revision 50) is now 1000 ms old: everything after it must stay.
  assert.equal(await c.runOnce(), 50);
  assert.equal(s.compactRevision(), 50);
  await assert.rejects(s.get('/k', 49), CompactedError);
  assert.match(logs.join('\n'), /compacted to revision 50/);
  await c.stop();
  await s.close();
});

test('always keeps the newest minRevisions revisions', async () => {
  let clock = 0;
  const s = await storeWith(30);
  const c = startCompactor(s, { minRevisions: 25, minAgeMs: 10, now: () => clock, log: () => {} });
  await c.runOnce();
  await writes(s, 10); // revision 40, sample at 30 is the age bound
  clock = 100;
  assert.equal(await c.runOnce(), 15, 'min(40 - 25, 30)');
  clock = 200;
  assert.equal(await c.runOnce(), undefined, 'the sample at 100 is old enough but 40-25=15 is already compacted');
  await writes(s, 100);
  clock = 300;
  assert.equal(await c.runOnce(), 40, 'bounded by the sample at time 200 (revision 40)');
  assert.equal((await s.get('/k'))?.value, '99');
  await c.stop();
  await s.close();
});

test('errors are logged, not thrown or swallowed', async () => {
  let clock = 0;
  const s = await storeWith(5);
  const errors: unknown[] = [];
  const c = startCompactor(s, { minRevisions: 0, minAgeMs: 1, now: () => clock, log: (_m, f) => f?.error && errors.push(f.error) });
  await c.runOnce();
  clock = 10;
  s.compact = async (rev: number) => {
    throw new FutureRevisionError(rev, 0);
  };
  assert.equal(await c.runOnce(), undefined);
  assert.equal(errors.length, 1);
  assert.ok(errors[0] instanceof FutureRevisionError);
  await c.stop();
  await s.close();
});

test('the timer runs compaction periodically and stop() ends it', async () => {
  let clock = 0;
  const s = await storeWith(20);
  const c = startCompactor(s, { intervalMs: 5, minRevisions: 0, minAgeMs: 1, now: () => clock++, log: () => {} });
  const deadline = Date.now() + 2000;
  while (s.compactRevision() === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  assert.equal(s.compactRevision(), 20);
  await c.stop();
  await s.close();
});
