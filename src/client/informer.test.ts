import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import type { ConfigMap } from 'kubernetes-types/core/v1.js';
import { ApiError } from '../api/errors.js';
import { DynamicClient } from './dynamic.js';
import { Informer, WatchStalledError, type InformerOptions, type InformerPhase } from './informer.js';
import { recordingLogger } from './log.js';
import { FakeApiServer } from './testing/fake-apiserver.js';
import { FakeClock } from './testing/fake-clock.js';

type CM = ConfigMap & { metadata: NonNullable<ConfigMap['metadata']> };

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(opts: InformerOptions = {}) {
  const srv = await FakeApiServer.start();
  const client = new DynamicClient({ server: srv.url }, { rateLimit: false });
  const clock = new FakeClock();
  const logger = recordingLogger();
  const inf = new Informer<CM>(client.resource<CM>('v1', 'ConfigMap'), { clock, random: () => 0.5, logger, ...opts });
  const log: string[] = [];
  const errors: Array<{ err: unknown; phase: InformerPhase }> = [];
  inf.addEventHandler({
    onAdd: (o, initial) => log.push(`add ${o.metadata.name}${initial ? ' (initial)' : ''}`),
    onUpdate: (a, b) => log.push(`update ${b.metadata.name} ${a.metadata.resourceVersion}->${b.metadata.resourceVersion}`),
    onDelete: (o) => log.push(`delete ${o.metadata.name}`),
  });
  inf.onError((err, phase) => errors.push({ err, phase }));
  cleanups.push(() => srv.close(), () => client.close(), () => inf.stop());
  const put = (name: string, data: Record<string, string> = {}, ns = 'default', labels?: Record<string, string>) =>
    srv.put('v1', 'configmaps', { metadata: { name, namespace: ns, labels }, data });
  return { srv, client, clock, logger, inf, log, errors, put };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 3000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

test('lists in pages from resourceVersion 0, then watches from the list version with bookmarks', async () => {
  const t = await setup({ pageSize: 2 });
  for (const n of ['a', 'b', 'c', 'd', 'e']) t.put(n);
  const listRev = String(t.srv.rev);
  t.inf.start();
  assert.equal(await t.inf.waitForSync(), true);
  assert.ok(t.inf.hasSynced());
  assert.deepEqual(t.log, ['add a (initial)', 'add b (initial)', 'add c (initial)', 'add d (initial)', 'add e (initial)']);
  const lists = t.srv.requestsFor('list');
  assert.deepEqual(lists.map((r) => [r.query.resourceVersion, r.query.limit, Boolean(r.query.continue)]), [['0', '2', false], [undefined, '2', true], [undefined, '2', true]]);
  await t.srv.waitForWatches(1);
  const w = t.srv.requestsFor('watch')[0]!;
  assert.equal(w.query.resourceVersion, listRev);
  assert.equal(w.query.allowWatchBookmarks, 'true');
  assert.ok(Number(w.query.timeoutSeconds) >= 300 && Number(w.query.timeoutSeconds) < 600);
  assert.equal(t.inf.lister.get('default', 'a')?.kind, 'ConfigMap', 'list items get their kind filled in');
});

test('watch events drive add/update/delete and the cache', async () => {
  const t = await setup();
  t.inf.start();
  await t.inf.waitForSync();
  await t.srv.waitForWatches(1);
  const a1 = t.put('a', { v: '1' });
  const a2 = t.put('a', { v: '2' });
  t.srv.remove('v1', 'configmaps', 'default', 'a');
  t.put('b');
  await until(() => t.log.length === 4, 'four notifications');
  assert.deepEqual(t.log, ['add a', `update a ${a1.metadata.resourceVersion}->${a2.metadata.resourceVersion}`, 'delete a', 'add b']);
  assert.equal(t.inf.lister.get('default', 'a'), undefined);
  assert.equal(t.inf.lastSyncResourceVersion, String(t.srv.rev));
  t.srv.bookmark();
  const rv = t.srv.put('v1', 'secrets', { metadata: { name: 's', namespace: 'default' } }).metadata.resourceVersion;
  t.srv.bookmark();
  await until(() => t.inf.lastSyncResourceVersion === rv, 'bookmark advances the resourceVersion');
  assert.equal(t.log.length, 4, 'bookmarks notify nobody');
  assert.deepEqual(t.errors, []);
});

test('410 on the watch relists and emits a proper replace diff', async () => {
  const t = await setup();
  t.put('keep');
  t.put('change', { v: '1' });
  t.put('gone');
  t.inf.start();
  await t.inf.waitForSync();
  await t.srv.waitForWatches(1);
  t.log.length = 0;
  t.srv.stallWatches(); // the informer misses everything below
  t.srv.remove('v1', 'configmaps', 'default', 'gone');
  t.put('change', { v: '2' });
  t.put('new');
  const seenRv = t.inf.lastSyncResourceVersion;
  t.srv.compact();
  t.srv.expireWatches();
  await until(() => t.log.length === 3, 'replace diff');
  assert.deepEqual([...t.log].sort(), ['add new', 'delete gone', `update change ${Number(seenRv) - 1}->${t.srv.read('v1', 'configmaps', 'default', 'change')!.metadata.resourceVersion}`].sort());
  const relist = t.srv.requestsFor('list').at(-1)!;
  assert.equal(relist.query.resourceVersion, seenRv, 'relists from the last seen resourceVersion');
  await t.srv.waitForWatches(1);
  assert.equal(t.srv.requestsFor('watch').at(-1)!.query.resourceVersion, String(t.srv.rev));
  assert.deepEqual(t.inf.lister.list().map((o) => o.metadata.name).sort(), ['change', 'keep', 'new']);
  assert.deepEqual(t.errors, [], '410 is routine, not an error');
});

test('HTTP 410 on watch relists too; 410 on that list falls back to a consistent list', async () => {
  const t = await setup();
  t.put('a');
  t.inf.start();
  await t.inf.waitForSync();
  await t.srv.waitForWatches(1);
  t.srv.fail({ verb: 'watch', code: 410, reason: 'Expired', message: 'too old resource version' });
  t.srv.fail({ verb: 'list', code: 410, reason: 'Expired', message: 'too old resource version' });
  t.srv.closeWatches();
  await until(() => t.srv.requestsFor('list').length === 3 && t.srv.openWatches === 1, 'relist and rewatch');
  assert.deepEqual(t.srv.requestsFor('list').map((r) => r.query.resourceVersion), ['0', String(t.srv.rev), '']);
  assert.deepEqual(t.errors, []);
});

test('a watch the server ends is resumed from the last resourceVersion without relisting', async () => {
  const t = await setup();
  t.inf.start();
  await t.inf.waitForSync();
  await t.srv.waitForWatches(1);
  t.put('a');
  await until(() => t.log.length === 1, 'add');
  t.srv.closeWatches();
  await t.srv.waitForWatches(1);
  assert.equal(t.srv.requestsFor('watch').at(-1)!.query.resourceVersion, String(t.srv.rev));
  t.put('b');
  await until(() => t.log.length === 2, 'second add');
  assert.equal(t.srv.requestsFor('list').length, 1);
  assert.deepEqual(t.errors, []);
  assert.equal(t.clock.pendingDelays().length, 1, 'only the stall timer; no backoff after a clean end');
});

test('list errors are surfaced and retried with jittered exponential backoff', async () => {
  const t = await setup();
  t.srv.fail({ verb: 'list', code: 500, reason: 'InternalError', message: 'db down', times: 3 });
  t.inf.start();
  for (let i = 0; i < 3; i++) await t.clock.step(1);
  assert.equal(await t.inf.waitForSync(), true);
  assert.deepEqual(t.clock.delays.slice(0, 3), [1200, 2400, 4800], '800 ms × 2^n × (1 + jitter 0.5)');
  assert.deepEqual(t.errors.map((e) => [e.phase, (e.err as ApiError).code]), [['list', 500], ['list', 500], ['list', 500]]);
  assert.equal(t.logger.records.filter((r) => r.level === 'warn').length, 3);
  assert.ok(t.logger.records.every((r) => r.level !== 'warn' || (r.obj as { err?: unknown }).err instanceof ApiError));
});

test('dropped watches and ERROR frames are reported and retried after backoff', async () => {
  const t = await setup();
  t.inf.start();
  await t.inf.waitForSync();
  await t.srv.waitForWatches(1);
  t.srv.dropWatches();
  await until(() => t.errors.length === 1, 'drop reported');
  assert.equal(t.errors[0]!.phase, 'watch');
  await t.clock.step(1);
  await t.srv.waitForWatches(1);
  assert.equal(t.srv.requestsFor('watch').length, 2);
  t.srv.fail({ verb: 'watch', code: 500, reason: 'InternalError', message: 'boom' });
  t.srv.closeWatches();
  await until(() => t.errors.length === 2, 'HTTP 500 reported');
  assert.equal((t.errors[1]!.err as ApiError).message, 'boom');
  assert.equal(t.clock.pendingDelays().at(-1), 2400, 'the watch in between delivered nothing: backoff keeps growing');
  await t.clock.step(1);
  await t.srv.waitForWatches(1);
  t.put('x');
  await until(() => t.log.includes('add x'), 'event');
  t.srv.dropWatches();
  await until(() => t.errors.length === 3, 'second drop reported');
  assert.equal(t.clock.pendingDelays().at(-1), 1200, 'an event in between reset the backoff');
  await t.clock.step(1);
  await t.srv.waitForWatches(1);
  assert.equal(t.srv.requestsFor('list').length, 1, 'no relist for transient watch errors');
});

test('a stalled watch is detected, reported and restarted from the last resourceVersion', async () => {
  const t = await setup({ stallTimeoutMs: 10_000 });
  t.inf.start();
  await t.inf.waitForSync();
  await t.srv.waitForWatches(1);
  t.srv.stallWatches();
  t.put('missed');
  const rv = t.inf.lastSyncResourceVersion;
  await t.clock.waitForTimers(1);
  assert.deepEqual(t.clock.pendingDelays(), [10_000]);
  t.clock.advance(9_999);
  assert.equal(t.errors.length, 0);
  t.clock.advance(1);
  await until(() => t.log.includes('add missed'), 'missed object delivered by the new watch');
  assert.ok(t.errors[0]!.err instanceof WatchStalledError);
  assert.equal(t.srv.requestsFor('watch').at(-1)!.query.resourceVersion, rv);
  assert.equal(t.srv.requestsFor('list').length, 1);
});

test('bookmarks keep a quiet watch alive', async () => {
  const t = await setup({ stallTimeoutMs: 10_000 });
  t.inf.start();
  await t.inf.waitForSync();
  await t.srv.waitForWatches(1);
  for (let i = 0; i < 3; i++) {
    t.clock.advance(6_000);
    t.srv.bookmark();
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(t.srv.requestsFor('watch').length, 1);
  assert.deepEqual(t.errors, []);
});

test('lister: namespaces, label selectors, custom indexes; late handlers get a replay', async () => {
  const t = await setup();
  t.inf.addIndexer('byApp', (o) => (o.metadata.labels?.app ? [o.metadata.labels.app] : []));
  t.put('a', {}, 'ns1', { app: 'web', tier: 'fe' });
  t.put('b', {}, 'ns1', { app: 'db' });
  t.put('c', {}, 'ns2', { app: 'web', tier: 'be' });
  t.inf.start();
  await t.inf.waitForSync();
  const names = (os: CM[]) => os.map((o) => `${o.metadata.namespace}/${o.metadata.name}`).sort();
  assert.deepEqual(names(t.inf.lister.list('ns1')), ['ns1/a', 'ns1/b']);
  assert.deepEqual(names(t.inf.lister.list(undefined, 'app=web')), ['ns1/a', 'ns2/c']);
  assert.deepEqual(names(t.inf.lister.list('ns2', 'app in (web),tier!=fe')), ['ns2/c']);
  assert.deepEqual(names(t.inf.lister.list(undefined, 'tier')), ['ns1/a', 'ns2/c']);
  assert.deepEqual(names(t.inf.lister.byIndex('byApp', 'db')), ['ns1/b']);
  await t.srv.waitForWatches(1);
  t.put('b', {}, 'ns1', { app: 'web' });
  await until(() => t.inf.lister.byIndex('byApp', 'web').length === 3, 'index follows updates');
  assert.deepEqual(t.inf.lister.byIndex('byApp', 'db'), []);
  const late: string[] = [];
  t.inf.addEventHandler({ onAdd: (o, initial) => late.push(`${o.metadata.name} ${initial}`) });
  assert.deepEqual(late.sort(), ['a true', 'b true', 'c true']);
});

test('a throwing handler is reported and does not stop the informer; resync re-delivers updates', async () => {
  const t = await setup({ resyncPeriodMs: 60_000 });
  t.inf.addEventHandler({
    onAdd: (o) => {
      if (o.metadata.name === 'bad') throw new Error('handler bug');
    },
  });
  t.inf.start();
  await t.inf.waitForSync();
  await t.srv.waitForWatches(1);
  t.put('bad');
  t.put('good');
  await until(() => t.log.includes('add good'), 'next event still delivered');
  assert.deepEqual(t.errors.map((e) => [e.phase, (e.err as Error).message]), [['handler', 'handler bug']]);
  const rv = t.inf.lister.get('default', 'good')!.metadata.resourceVersion;
  t.log.length = 0;
  t.clock.advance(60_000);
  assert.ok(t.log.includes(`update good ${rv}->${rv}`));
});

test('stop ends the loop, even while backing off; waitForSync then resolves false', async () => {
  const t = await setup();
  t.srv.fail({ verb: 'list', code: 500, times: 100 });
  t.inf.start();
  const synced = t.inf.waitForSync();
  await t.clock.waitForTimers(1);
  await t.inf.stop();
  assert.equal(await synced, false);
  assert.equal(t.clock.pending(), 0);
});

test('the stall window restarts with every frame: detected stallTimeoutMs after the last one, with one timer', async () => {
  const t = await setup({ stallTimeoutMs: 10_000 });
  t.inf.start();
  await t.inf.waitForSync();
  await t.srv.waitForWatches(1);
  t.clock.advance(4_000);
  t.put('a');
  await until(() => t.log.includes('add a'), 'event');
  for (let i = 0; i < 20; i++) t.put(`n${i}`);
  await until(() => t.log.includes('add n19'), 'burst');
  assert.equal(t.clock.pendingDelays().length, 1, 'frames do not create timers');
  t.srv.stallWatches();
  t.clock.advance(6_000); // 10 s after the watch began, 6 s after its last frame: re-armed, not stalled
  assert.equal(t.errors.length, 0);
  assert.deepEqual(t.clock.pendingDelays(), [4_000]);
  t.clock.advance(3_999);
  assert.equal(t.errors.length, 0);
  t.clock.advance(1);
  await until(() => t.errors.length === 1, 'stall reported');
  assert.ok(t.errors[0]!.err instanceof WatchStalledError);
});
