import { test } from 'node:test';
import assert from 'node:assert/strict';
import { settle } from './conformance.js';
import { MemoryBackend } from './memory.js';
import type { WatchEvent } from './types.js';

async function started(): Promise<MemoryBackend> {
  const s = new MemoryBackend();
  await s.start();
  return s;
}

test('a watcher whose callback throws is ended with that error; others continue', async () => {
  const s = await started();
  const errors: Error[] = [];
  let calls = 0;
  s.watch('/', 0, {
    onEvents: () => {
      calls++;
      throw new Error('consumer bug');
    },
    onError: (e) => errors.push(e),
  });
  const good: WatchEvent[] = [];
  s.watch('/', 0, { onEvents: (e) => good.push(...e) });
  await s.create('/a', '1');
  await settle();
  await s.create('/b', '1');
  await settle();
  assert.equal(calls, 1);
  assert.equal(errors[0]?.message, 'consumer bug');
  assert.equal(good.length, 2);
  await s.close();
});

test('a watcher started from inside a callback sees each revision exactly once', async () => {
  const s = await started();
  const inner: number[] = [];
  let startedInner = false;
  s.watch('/', 0, {
    onEvents: (evs) => {
      if (startedInner) return;
      startedInner = true;
      // Starts at the first delivered revision while later events are still queued for this flush.
      s.watch('/', evs[0].kv.modRevision, { onEvents: (e) => inner.push(...e.map((x) => x.kv.modRevision)) });
    },
  });
  const writes = [s.create('/a', '1'), s.create('/b', '1'), s.create('/c', '1')];
  await Promise.all(writes);
  await settle();
  await s.create('/d', '1');
  await settle();
  assert.deepEqual(inner, [2, 3, 4]);
  await s.close();
});

test('thousands of watchers on few prefixes', async () => {
  const s = await started();
  const counts = new Array<number>(3000).fill(0);
  for (let i = 0; i < counts.length; i++) {
    s.watch(`/p${i % 5}/`, 0, { onEvents: (e) => (counts[i] += e.length) });
  }
  for (let i = 0; i < 200; i++) await s.create(`/p${i % 5}/k${i}`, 'v');
  await settle();
  assert.ok(counts.every((c) => c === 40));
  await s.close();
});
