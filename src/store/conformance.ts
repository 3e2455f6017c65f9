/**
 * The store contract as executable tests. Every Backend runs the same suite, so the apiserver can rely on etcd-like
 * semantics (global revisions = resourceVersions, optimistic concurrency, MVCC reads at a past revision, ordered
 * watches that replay then stream, 410-style CompactedError) no matter which backend a cluster uses.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CompactedError,
  ConflictError,
  FutureRevisionError,
  KeyExistsError,
  NotFoundError,
  type Backend,
  type WatchEvent,
  type Watcher,
} from './types.js';

/** Options for runStoreConformance. */
export interface StoreConformanceOptions {
  /** Suite name shown by the test runner. */
  name: string;
  /** Returns a fresh, already started, empty store. It is closed at the end of each test. */
  newStore: () => Promise<Backend>;
  /** Tests a backend legitimately cannot pass, with the reason shown as the skip message. */
  skip?: { reason: string; tests: string[] }[];
}

/** A watch that records its events and lets a test await a number of them. */
export interface RecordingWatch {
  events: WatchEvent[];
  errors: Error[];
  watcher: Watcher;
  /** Resolves once at least `n` events arrived (rejects after `timeoutMs`). */
  waitFor(n: number, timeoutMs?: number): Promise<WatchEvent[]>;
  /** Resolves once an error arrived. */
  waitForError(timeoutMs?: number): Promise<Error>;
}

/** Starts a recording watch on `store` (exported for backend-specific tests). */
export function recordWatch(store: Backend, prefix: string, afterRevision: number): RecordingWatch {
  const events: WatchEvent[] = [];
  const errors: Error[] = [];
  const waiters: (() => void)[] = [];
  const wake = () => {
    for (const w of waiters.splice(0)) w();
  };
  const watcher = store.watch(prefix, afterRevision, {
    onEvents: (evs) => {
      events.push(...evs);
      wake();
    },
    onError: (err) => {
      errors.push(err);
      wake();
    },
  });
  const until = <T>(ready: () => T | undefined, timeoutMs: number, what: string): Promise<T> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; got ${events.length} events`)), timeoutMs);
      const check = () => {
        const v = ready();
        if (v !== undefined) {
          clearTimeout(timer);
          resolve(v);
        } else waiters.push(check);
      };
      check();
    });
  return {
    events,
    errors,
    watcher,
    waitFor: (n, timeoutMs = 2000) => until(() => (events.length >= n ? events : undefined), timeoutMs, `${n} events`),
    waitForError: (timeoutMs = 2000) => until(() => errors[0], timeoutMs, 'an error'),
  };
}

/** Lets queued deliveries run (microtasks and a couple of macrotasks). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
}

const rev = (e: WatchEvent) => e.kv.modRevision;

/** Defines the conformance tests (node:test) for one backend; call it at the top level of a *.test.ts file. */
export function runStoreConformance(opts: StoreConformanceOptions): void {
  const skipped = new Map<string, string>();
  for (const s of opts.skip ?? []) for (const t of s.tests) skipped.set(t, s.reason);

  const it = (name: string, fn: (s: Backend) => Promise<void>) => {
    const reason = skipped.get(name);
    test(name, reason ? { skip: reason } : {}, async () => {
      const s = await opts.newStore();
      try {
        await fn(s);
      } finally {
        await s.close();
      }
    });
  };

  describe(`store conformance: ${opts.name}`, () => {
    it('create then get returns the stored version', async (s) => {
      const kv = await s.create('/registry/pods/default/a', '{"a":1}');
      assert.equal(kv.key, '/registry/pods/default/a');
      assert.equal(kv.value, '{"a":1}');
      assert.ok(kv.modRevision > 0);
      assert.equal(kv.createRevision, kv.modRevision);
      assert.deepEqual(await s.get('/registry/pods/default/a'), kv);
      assert.equal(await s.get('/registry/pods/default/missing'), undefined);
      assert.equal(await s.currentRevision(), kv.modRevision);
    });

    it('create of an existing key fails with KeyExistsError', async (s) => {
      await s.create('/k', 'v1');
      await assert.rejects(s.create('/k', 'v2'), KeyExistsError);
      assert.equal((await s.get('/k'))?.value, 'v1');
    });

    it('update with the expected revision replaces the value', async (s) => {
      const c = await s.create('/k', 'v1');
      const u = await s.update('/k', 'v2', c.modRevision);
      assert.equal(u.value, 'v2');
      assert.equal(u.createRevision, c.modRevision);
      assert.ok(u.modRevision > c.modRevision);
      assert.deepEqual(await s.get('/k'), u);
      const u2 = await s.update('/k', 'v3', u.modRevision);
      assert.equal(u2.createRevision, c.modRevision);
    });

    it('update with a stale revision fails with ConflictError', async (s) => {
      const c = await s.create('/k', 'v1');
      const u = await s.update('/k', 'v2', c.modRevision);
      const err = await s.update('/k', 'v3', c.modRevision).then(
        () => assert.fail('expected ConflictError'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof ConflictError);
      assert.equal(err.key, '/k');
      assert.equal(err.expected, c.modRevision);
      assert.equal(err.actual, u.modRevision);
      await assert.rejects(s.update('/k', 'v3', u.modRevision + 100), ConflictError);
      assert.equal((await s.get('/k'))?.value, 'v2');
    });

    it('update of a missing or deleted key fails with NotFoundError', async (s) => {
      await assert.rejects(s.update('/nope', 'v', 1), NotFoundError);
      const c = await s.create('/k', 'v1');
      await s.delete('/k');
      await assert.rejects(s.update('/k', 'v2', c.modRevision), NotFoundError);
    });

    it('delete without expected revision removes the key and returns the last value', async (s) => {
      const c = await s.create('/k', 'v1');
      const d = await s.delete('/k');
      assert.equal(d.key, '/k');
      assert.equal(d.value, 'v1');
      assert.equal(d.createRevision, c.modRevision);
      assert.ok(d.modRevision > c.modRevision);
      assert.equal(await s.currentRevision(), d.modRevision);
      assert.equal(await s.get('/k'), undefined);
      await assert.rejects(s.delete('/k'), NotFoundError);
      await assert.rejects(s.delete('/never'), NotFoundError);
    });

    it('delete with expected revision checks it', async (s) => {
      const c = await s.create('/k', 'v1');
      const u = await s.update('/k', 'v2', c.modRevision);
      await assert.rejects(s.delete('/k', c.modRevision), ConflictError);
      const d = await s.delete('/k', u.modRevision);
      assert.equal(d.value, 'v2');
      await assert.rejects(s.delete('/k', d.modRevision), NotFoundError);
    });

    it('a deleted key can be created again with a new createRevision', async (s) => {
      await s.create('/k', 'v1');
      await s.delete('/k');
      const c2 = await s.create('/k', 'v2');
      assert.equal(c2.createRevision, c2.modRevision);
      assert.equal((await s.get('/k'))?.value, 'v2');
    });

    it('revision is global, monotonic and bumped by every write', async (s) => {
      const start = await s.currentRevision();
      const a = await s.create('/a', '1');
      const b = await s.create('/b', '1');
      const a2 = await s.update('/a', '2', a.modRevision);
      const bd = await s.delete('/b');
      assert.deepEqual(
        [a.modRevision, b.modRevision, a2.modRevision, bd.modRevision],
        [start + 1, start + 2, start + 3, start + 4],
      );
      await assert.rejects(s.create('/a', 'x'), KeyExistsError);
      assert.equal(await s.currentRevision(), start + 4, 'failed writes do not consume revisions');
    });

    it('concurrent writes from the same base: exactly one wins', async (s) => {
      const c = await s.create('/k', 'v0');
      const results = await Promise.allSettled([1, 2, 3, 4].map((i) => s.update('/k', `v${i}`, c.modRevision)));
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof ConflictError);
      const creates = await Promise.allSettled([1, 2, 3].map((i) => s.create('/new', `n${i}`)));
      assert.equal(creates.filter((r) => r.status === 'fulfilled').length, 1);
      for (const r of creates) if (r.status === 'rejected') assert.ok(r.reason instanceof KeyExistsError);
    });

    it('list by prefix returns live keys in key order', async (s) => {
      for (const k of ['/registry/pods/b/x', '/registry/pods/a/y', '/registry/pods/a/x', '/registry/pods/ab/z', '/registry/services/a/s']) {
        await s.create(k, k);
      }
      await s.delete('/registry/pods/a/y');
      const r = await s.list('/registry/pods/');
      assert.deepEqual(
        r.items.map((i) => i.key),
        ['/registry/pods/a/x', '/registry/pods/ab/z', '/registry/pods/b/x'],
      );
      assert.equal(r.more, false);
      assert.equal(r.revision, await s.currentRevision());
      assert.equal(r.items[0].value, '/registry/pods/a/x');
    });

    it('list prefix ending in / respects the boundary', async (s) => {
      await s.create('/registry/pods/a', 'exact');
      await s.create('/registry/pods/a/1', '1');
      await s.create('/registry/pods/ab/1', 'ab');
      await s.create('/registry/pods/a0', 'a0');
      const r = await s.list('/registry/pods/a/');
      assert.deepEqual(r.items.map((i) => i.key), ['/registry/pods/a/1']);
      assert.equal(await s.count('/registry/pods/a/'), 1);
      const all = await s.list('');
      assert.equal(all.items.length, 4);
    });

    it('list paging with limit, startAfter and more', async (s) => {
      const keys = Array.from({ length: 7 }, (_, i) => `/p/k${i}`);
      for (const k of keys) await s.create(k, k);
      await s.create('/q/other', 'x');
      const seen: string[] = [];
      let startAfter: string | undefined;
      let pages = 0;
      let listRev: number | undefined;
      for (;;) {
        const r = await s.list('/p/', { limit: 3, startAfter, revision: listRev });
        listRev = r.revision;
        pages++;
        seen.push(...r.items.map((i) => i.key));
        if (!r.more) break;
        assert.equal(r.items.length, 3);
        startAfter = r.items[r.items.length - 1].key;
        // Writes between pages do not show up when paging at the first page's revision.
        await s.create(`/p/k${pages}a`, 'late');
      }
      assert.equal(pages, 3);
      assert.deepEqual(seen, keys);
      const exact = await s.list('/p/k', { limit: 9, revision: listRev });
      assert.equal(exact.items.length, 7);
      assert.equal(exact.more, false);
      const full = await s.list('/p/', { limit: 2 });
      assert.equal(full.more, true);
    });

    it('list and get at a past revision see the old state', async (s) => {
      const a = await s.create('/r/a', 'a1');
      const b = await s.create('/r/b', 'b1');
      const at = b.modRevision;
      await s.update('/r/a', 'a2', a.modRevision);
      await s.delete('/r/b');
      await s.create('/r/c', 'c1');
      const past = await s.list('/r/', { revision: at });
      assert.equal(past.revision, at);
      assert.deepEqual(past.items.map((i) => [i.key, i.value]), [['/r/a', 'a1'], ['/r/b', 'b1']]);
      const now = await s.list('/r/');
      assert.deepEqual(now.items.map((i) => [i.key, i.value]), [['/r/a', 'a2'], ['/r/c', 'c1']]);
      assert.equal((await s.get('/r/a', at))?.value, 'a1');
      assert.deepEqual(await s.get('/r/b', at), b);
      assert.equal(await s.get('/r/c', at), undefined);
      await assert.rejects(s.list('/r/', { revision: (await s.currentRevision()) + 10 }), FutureRevisionError);
      await assert.rejects(s.get('/r/a', (await s.currentRevision()) + 10), FutureRevisionError);
    });

    it('count counts live keys under a prefix', async (s) => {
      await s.create('/c/a', '1');
      await s.create('/c/b', '1');
      await s.create('/c/c', '1');
      await s.create('/d/a', '1');
      await s.delete('/c/b');
      assert.equal(await s.count('/c/'), 2);
      assert.equal(await s.count('/d/'), 1);
      assert.equal(await s.count('/e/'), 0);
      assert.equal(await s.count(''), 3);
    });

    it('watch streams live events in order with prevKv', async (s) => {
      const base = await s.currentRevision();
      const w = recordWatch(s, '/w/', base);
      const c = await s.create('/w/a', 'v1');
      const u = await s.update('/w/a', 'v2', c.modRevision);
      await s.create('/other/x', 'ignored');
      const d = await s.delete('/w/a');
      const evs = await w.waitFor(3);
      assert.deepEqual(evs.map((e) => e.type), ['PUT', 'PUT', 'DELETE']);
      assert.deepEqual(evs[0].kv, c);
      assert.equal(evs[0].prevKv, undefined);
      assert.deepEqual(evs[1].kv, u);
      assert.deepEqual(evs[1].prevKv, c);
      assert.equal(evs[2].kv.modRevision, d.modRevision);
      assert.equal(evs[2].kv.value, 'v2', 'DELETE carries the last value');
      assert.equal(evs[2].kv.createRevision, c.modRevision);
      assert.deepEqual(evs[2].prevKv, u);
      await settle();
      assert.equal(w.events.length, 3);
      w.watcher.cancel();
    });

    it('watch from a past revision replays history then streams live', async (s) => {
      const c = await s.create('/h/a', 'v1');
      const u = await s.update('/h/a', 'v2', c.modRevision);
      await s.create('/x/b', 'no');
      await s.create('/h/b', 'b1');
      const w = recordWatch(s, '/h/', c.modRevision - 1);
      // A write issued before the replay is delivered must still come after it, exactly once.
      await s.delete('/h/b');
      await s.create('/h/c', 'c1');
      const evs = await w.waitFor(5);
      assert.deepEqual(
        evs.map((e) => [e.type, e.kv.key, e.kv.value]),
        [
          ['PUT', '/h/a', 'v1'],
          ['PUT', '/h/a', 'v2'],
          ['PUT', '/h/b', 'b1'],
          ['DELETE', '/h/b', 'b1'],
          ['PUT', '/h/c', 'c1'],
        ],
      );
      assert.deepEqual(evs[1].prevKv, c);
      assert.deepEqual(evs[1].kv, u);
      const revs = evs.map(rev);
      assert.deepEqual(revs, [...revs].sort((x, y) => x - y));
      await settle();
      assert.equal(w.events.length, 5);
      w.watcher.cancel();
    });

    it('watch is strictly after afterRevision', async (s) => {
      const a = await s.create('/s/a', '1');
      const b = await s.create('/s/b', '1');
      const w = recordWatch(s, '/s/', a.modRevision);
      const evs = await w.waitFor(1);
      await settle();
      assert.equal(w.events.length, 1);
      assert.equal(evs[0].kv.modRevision, b.modRevision);
      w.watcher.cancel();
    });

    it('watch from a future revision waits for it', async (s) => {
      const cur = await s.currentRevision();
      const w = recordWatch(s, '', cur + 2);
      await s.create('/f/1', '1');
      await s.create('/f/2', '2');
      await s.create('/f/3', '3');
      const evs = await w.waitFor(1);
      await settle();
      assert.deepEqual(w.events.map(rev), [cur + 3]);
      assert.equal(evs[0].kv.key, '/f/3');
      w.watcher.cancel();
    });

    it('watch prefix ending in / respects the boundary', async (s) => {
      const w = recordWatch(s, '/registry/pods/a/', await s.currentRevision());
      await s.create('/registry/pods/ab/x', '1');
      await s.create('/registry/pods/a', '1');
      await s.create('/registry/pods/a/x', '1');
      const evs = await w.waitFor(1);
      await settle();
      assert.deepEqual(evs.map((e) => e.kv.key), ['/registry/pods/a/x']);
      w.watcher.cancel();
    });

    it('many watchers each get every matching event in the same order', async (s) => {
      const base = await s.currentRevision();
      const ws = Array.from({ length: 50 }, (_, i) => recordWatch(s, i % 2 ? '/m/' : '', base));
      const writes: Promise<unknown>[] = [];
      for (let i = 0; i < 20; i++) writes.push(s.create(`/m/${i}`, String(i)));
      writes.push(s.create('/n/x', 'x'));
      await Promise.all(writes);
      for (const [i, w] of ws.entries()) {
        const evs = await w.waitFor(i % 2 ? 20 : 21);
        const revs = evs.map(rev);
        assert.deepEqual(revs, Array.from({ length: revs.length }, (_, j) => base + 1 + j).filter((r) => i % 2 === 0 || r !== base + 21));
      }
      await settle();
      for (const [i, w] of ws.entries()) assert.equal(w.events.length, i % 2 ? 20 : 21);
      for (const w of ws) w.watcher.cancel();
    });

    it('a cancelled watcher gets nothing more', async (s) => {
      const base = await s.currentRevision();
      const w = recordWatch(s, '/c/', base);
      const other = recordWatch(s, '/c/', base);
      await s.create('/c/1', '1');
      await w.waitFor(1);
      w.watcher.cancel();
      w.watcher.cancel();
      await s.create('/c/2', '2');
      await other.waitFor(2);
      await settle();
      assert.equal(w.events.length, 1);
      assert.equal(w.errors.length, 0);
      other.watcher.cancel();
      // Cancelling before the replay ran delivers nothing either.
      const early = recordWatch(s, '/c/', base);
      early.watcher.cancel();
      await settle();
      assert.equal(early.events.length, 0);
    });

    it('compaction: current values intact, old revisions fail with CompactedError', async (s) => {
      const a = await s.create('/z/a', 'a1');
      const a2 = await s.update('/z/a', 'a2', a.modRevision);
      const b = await s.create('/z/b', 'b1');
      await s.delete('/z/b');
      const c = await s.create('/z/c', 'c1');
      const mid = c.modRevision;
      const a3 = await s.update('/z/a', 'a3', a2.modRevision);
      await s.compact(mid);
      assert.equal(s.compactRevision(), mid);
      assert.deepEqual((await s.list('/z/')).items.map((i) => [i.key, i.value]), [['/z/a', 'a3'], ['/z/c', 'c1']]);
      assert.deepEqual(await s.get('/z/a'), a3);
      // Reading exactly at the compact revision still works (etcd semantics).
      const atMid = await s.list('/z/', { revision: mid });
      assert.deepEqual(atMid.items.map((i) => [i.key, i.value]), [['/z/a', 'a2'], ['/z/c', 'c1']]);
      assert.equal(await s.get('/z/b', mid), undefined);
      await assert.rejects(s.list('/z/', { revision: b.modRevision }), CompactedError);
      await assert.rejects(s.get('/z/a', a.modRevision), CompactedError);
      // Updating from a compacted-away revision is a conflict, from the current one it works.
      await assert.rejects(s.update('/z/a', 'x', a.modRevision), ConflictError);
      const a4 = await s.update('/z/a', 'a4', a3.modRevision);
      assert.equal(a4.createRevision, a.modRevision);
      // The deleted key can be created again.
      await s.create('/z/b', 'b2');
      assert.equal(await s.count('/z/'), 3);
      // Compacting to an older revision is a no-op; beyond current is an error.
      await s.compact(mid - 1);
      assert.equal(s.compactRevision(), mid);
      await assert.rejects(s.compact((await s.currentRevision()) + 5), FutureRevisionError);
    });

    it('compaction: watch from below the compact revision fails, from it works', async (s) => {
      const a = await s.create('/y/a', '1');
      const a2 = await s.update('/y/a', '2', a.modRevision);
      const a3 = await s.update('/y/a', '3', a2.modRevision);
      await s.compact(a2.modRevision);
      let err: unknown;
      try {
        const w = recordWatch(s, '/y/', a.modRevision);
        err = await w.waitForError();
      } catch (e) {
        err = e;
      }
      assert.ok(err instanceof CompactedError, `expected CompactedError, got ${err}`);
      assert.equal(err.compacted, a2.modRevision);
      const ok = recordWatch(s, '/y/', a2.modRevision);
      const evs = await ok.waitFor(1);
      assert.deepEqual(evs[0].kv, a3);
      assert.deepEqual(evs[0].prevKv, a2);
      ok.watcher.cancel();
    });

    it('compaction while a watcher replays ends it with CompactedError', async (s) => {
      let last = await s.create('/rp/k', '0');
      for (let i = 1; i < 30; i++) last = await s.update('/rp/k', String(i), last.modRevision);
      const w = recordWatch(s, '/rp/', 0);
      await s.compact(last.modRevision);
      // Either the replay finished before the compaction (all 30 events) or it failed with CompactedError.
      await settle();
      await settle();
      if (w.errors.length === 0) assert.equal(w.events.length, 30);
      else assert.ok(w.errors[0] instanceof CompactedError);
      w.watcher.cancel();
    });

    it('compaction keeps the history above the compact revision', async (s) => {
      const k = await s.create('/k/a', '1');
      const k2 = await s.update('/k/a', '2', k.modRevision);
      await s.create('/k/b', 'b');
      const k3 = await s.update('/k/a', '3', k2.modRevision);
      const bd = await s.delete('/k/b');
      await s.compact(k2.modRevision);
      const w = recordWatch(s, '/k/', k2.modRevision);
      const evs = await w.waitFor(3);
      assert.deepEqual(evs.map((e) => [e.type, e.kv.key, e.kv.value]), [
        ['PUT', '/k/b', 'b'],
        ['PUT', '/k/a', '3'],
        ['DELETE', '/k/b', 'b'],
      ]);
      assert.deepEqual(evs[1].kv, k3);
      assert.deepEqual(evs[1].prevKv, k2);
      assert.equal(evs[2].kv.modRevision, bd.modRevision);
      w.watcher.cancel();
      assert.equal(await s.currentRevision(), bd.modRevision);
      // Compacting up to the newest revision (a tombstone) leaves the revision counter alone.
      await s.compact(bd.modRevision);
      assert.equal(await s.currentRevision(), bd.modRevision);
      const n = await s.create('/k/c', 'c');
      assert.equal(n.modRevision, bd.modRevision + 1);
      assert.deepEqual((await s.list('/k/')).items.map((i) => i.key), ['/k/a', '/k/c']);
    });

    it('close ends watchers', async (s) => {
      const w = recordWatch(s, '/', await s.currentRevision());
      await s.close();
      const err = await w.waitForError();
      assert.ok(err instanceof Error);
    });
  });
}
