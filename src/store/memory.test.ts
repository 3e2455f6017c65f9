import { runStoreConformance } from './conformance.js';
import { MemoryBackend } from './memory.js';

runStoreConformance({
  name: 'memory',
  newStore: async () => {
    const s = new MemoryBackend();
    await s.start();
    return s;
  },
});

import assert from 'node:assert/strict';
import { test } from 'node:test';

test('memory: keys created out of order list sorted, across deferred merges, deletes and compaction', async () => {
  const s = new MemoryBackend();
  await s.start();
  const names: string[] = [];
  // A fixed permutation (no randomness): 7 is coprime to 200.
  for (let i = 0; i < 200; i++) names.push(`/registry/pods/ns/p-${(i * 7) % 200}`);
  const expectSorted = async (prefix: string) => {
    const want = [...live].filter((k) => k.startsWith(prefix)).sort();
    assert.deepEqual((await s.list(prefix)).items.map((kv) => kv.key), want);
    assert.equal(await s.count(prefix), want.length);
  };
  const live = new Set<string>();
  for (let i = 0; i < names.length; i++) {
    await s.create(names[i], `v${i}`);
    live.add(names[i]);
    if (i % 37 === 0) await expectSorted('/registry/pods/ns/');
  }
  await expectSorted('/registry/pods/ns/p-1');
  // Paging with startAfter sees every key once, in order.
  const paged: string[] = [];
  let after: string | undefined;
  for (;;) {
    const r = await s.list('/registry/pods/ns/', { limit: 17, startAfter: after });
    paged.push(...r.items.map((kv) => kv.key));
    if (!r.more) break;
    after = r.items[r.items.length - 1].key;
  }
  assert.deepEqual(paged, [...names].sort());
  for (const k of names.slice(0, 50)) { await s.delete(k); live.delete(k); }
  await s.compact(await s.currentRevision());
  // Recreate some compacted-away keys and add new ones before the next read.
  for (const k of names.slice(0, 10)) { await s.create(k, 'again'); live.add(k); }
  await s.create('/registry/pods/ns/z-last', 'z');
  await s.create('/registry/pods/ns/a-first', 'a');
  live.add('/registry/pods/ns/z-last').add('/registry/pods/ns/a-first');
  await expectSorted('/registry/pods/ns/');
  await s.close();
});

test('memory: range reads across resource buckets and short prefixes stay sorted', async () => {
  const s = new MemoryBackend();
  await s.start();
  const keys = ['/registry/services/ns/b', '/x', '/registry/pods/ns/z', '/a/b', '/registry/pods/ns/a', '/registry/podsecurity/p',
    '/registry/services/ns/a', '/registry/pods/other/m', '/registry/apps/deployments/ns/d'];
  for (const k of keys) await s.create(k, 'v');
  const list = async (p: string) => (await s.list(p)).items.map((kv) => kv.key);
  const want = (p: string) => keys.filter((k) => k.startsWith(p)).sort();
  for (const p of ['', '/', '/registry/', '/registry/pods', '/registry/pods/', '/registry/pods/ns/', '/registry/services/ns/', '/a/', '/registry/apps/', '/nothing/here/']) {
    assert.deepEqual(await list(p), want(p), p);
    assert.equal(await s.count(p), want(p).length, p);
  }
  await s.create('/registry/pods/ns/m', 'v');
  keys.push('/registry/pods/ns/m');
  assert.deepEqual(await list('/registry/'), want('/registry/'));
  assert.deepEqual(await list('/registry/pods/ns/'), want('/registry/pods/ns/'));
  await s.close();
});
