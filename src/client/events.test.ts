import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { DynamicClient } from './dynamic.js';
import { EventRecorder, type CoreEvent } from './events.js';
import type { ResourceClient } from './dynamic.js';
import { recordingLogger } from './log.js';
import { FakeApiServer } from './testing/fake-apiserver.js';
import { FakeClock } from './testing/fake-clock.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup() {
  const srv = await FakeApiServer.start();
  const client = new DynamicClient({ server: srv.url }, { rateLimit: false });
  const clock = new FakeClock(Date.UTC(2025, 0, 1, 12, 0, 0));
  const logger = recordingLogger();
  const rec = new EventRecorder(client, { component: 'replicaset-controller', host: 'node-1', clock, logger });
  cleanups.push(() => srv.close(), () => client.close(), () => rec.close());
  const events = () => srv.all('v1', 'events') as unknown as CoreEvent[];
  return { srv, clock, logger, rec, events };
}

const rs = { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'web-abc', namespace: 'prod', uid: 'u-1', resourceVersion: '7' } };

test('the first event is created with upstream fields and name', async () => {
  const t = await setup();
  t.rec.event(rs, 'Normal', 'SuccessfulCreate', 'Created pod: web-abc-x1');
  await t.rec.flush();
  const [ev] = t.events();
  assert.ok(ev);
  assert.match(ev.metadata.name!, /^web-abc\.[0-9a-f]+$/);
  assert.equal(BigInt('0x' + ev.metadata.name!.split('.')[1]) / 1_000_000n, BigInt(t.clock.now()), 'hex nanoseconds');
  assert.deepEqual(
    { ...ev, metadata: { namespace: ev.metadata.namespace } },
    {
      apiVersion: 'v1', kind: 'Event', metadata: { namespace: 'prod' },
      involvedObject: { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-abc', namespace: 'prod', uid: 'u-1', resourceVersion: '7' },
      reason: 'SuccessfulCreate', message: 'Created pod: web-abc-x1', type: 'Normal',
      source: { component: 'replicaset-controller', host: 'node-1' },
      reportingComponent: 'replicaset-controller', reportingInstance: 'node-1',
      firstTimestamp: '2025-01-01T12:00:00Z', lastTimestamp: '2025-01-01T12:00:00Z', count: 1,
    },
  );
});

test('an identical event within 10 minutes is a PATCH of count and lastTimestamp', async () => {
  const t = await setup();
  t.rec.event(rs, 'Warning', 'FailedCreate', 'quota exceeded');
  t.clock.advance(60_000);
  t.rec.event({ ...rs, metadata: { ...rs.metadata, resourceVersion: '8' } }, 'Warning', 'FailedCreate', 'quota exceeded');
  t.clock.advance(60_000);
  t.rec.event(rs, 'Warning', 'FailedCreate', 'quota exceeded');
  await t.rec.flush();
  const evs = t.events();
  assert.equal(evs.length, 1);
  assert.equal(evs[0]!.count, 3);
  assert.equal(evs[0]!.firstTimestamp, '2025-01-01T12:00:00Z');
  assert.equal(evs[0]!.lastTimestamp, '2025-01-01T12:02:00Z');
  const patches = t.srv.requestsFor('patch', 'events');
  assert.equal(patches.length, 2);
  assert.equal(patches[0]!.contentType, 'application/strategic-merge-patch+json');
  assert.deepEqual(patches[0]!.body, { count: 2, lastTimestamp: '2025-01-01T12:01:00Z', message: 'quota exceeded' });
  assert.equal(t.srv.requestsFor('create', 'events').length, 1);
});

test('a different message, type, object or an expired window makes a new event', async () => {
  const t = await setup();
  t.rec.event(rs, 'Normal', 'Scaled', 'to 1');
  t.rec.event(rs, 'Normal', 'Scaled', 'to 2');
  t.rec.event(rs, 'Warning', 'Scaled', 'to 2');
  t.rec.event({ ...rs, metadata: { ...rs.metadata, name: 'other', uid: 'u-2' } }, 'Normal', 'Scaled', 'to 1');
  t.clock.advance(10 * 60_000 + 1);
  t.rec.event(rs, 'Normal', 'Scaled', 'to 1');
  await t.rec.flush();
  assert.equal(t.srv.requestsFor('create', 'events').length, 5);
  assert.equal(t.srv.requestsFor('patch', 'events').length, 0);
});

test('cluster-scoped objects get events in default; a vanished event is recreated', async () => {
  const t = await setup();
  const node = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', uid: 'n' } };
  t.rec.event(node, 'Normal', 'NodeReady', 'ready');
  await t.rec.flush();
  const first = t.events()[0]!;
  assert.equal(first.metadata.namespace, 'default');
  t.srv.remove('v1', 'events', 'default', first.metadata.name!);
  t.clock.advance(1000);
  t.rec.event(node, 'Normal', 'NodeReady', 'ready');
  await t.rec.flush();
  assert.equal(t.srv.requestsFor('patch', 'events').length, 1, 'tried to patch');
  assert.equal(t.events().length, 1);
  assert.notEqual(t.events()[0]!.metadata.name, first.metadata.name);
  assert.equal(t.events()[0]!.count, 1);
});

test('failures are logged, never thrown, and never block the caller', async () => {
  const t = await setup();
  t.srv.fail({ verb: 'create', resource: 'events', code: 500, message: 'etcd down' });
  const before = Date.now();
  t.rec.event(rs, 'Normal', 'A', 'b');
  assert.ok(Date.now() - before < 5, 'returns at once');
  await t.rec.flush();
  assert.equal(t.events().length, 0);
  assert.ok(t.logger.records.some((r) => r.level === 'warn' && r.msg === 'could not create event'));
  t.rec.event(rs, 'Normal', 'A', 'b');
  await t.rec.flush();
  assert.equal(t.events().length, 1, 'the next one goes through');
});

test('the queue is bounded; drops are logged once per 10 s with their count', async () => {
  const t = await setup();
  const small = new EventRecorder(new DynamicClient({ server: t.srv.url }, { rateLimit: false }), { component: 'c', maxQueue: 2, clock: t.clock, logger: t.logger });
  const drops = () => t.logger.records.filter((r) => r.msg === 'event queue full; dropping events').map((r) => (r.obj as { dropped: number }).dropped);
  for (let i = 0; i < 5; i++) small.event(rs, 'Normal', 'R', `m${i}`);
  assert.deepEqual(drops(), [1], 'the first drop is logged at once, the next one only counted');
  await small.flush();
  assert.equal(t.events().length, 3, 'one in flight + two queued');
  for (let i = 0; i < 6; i++) small.event(rs, 'Normal', 'R', `n${i}`);
  assert.deepEqual(drops(), [1], 'within 10 s of the last line');
  t.clock.advance(10_000);
  small.event(rs, 'Normal', 'R', 'later');
  assert.deepEqual(drops(), [1, 5], 'the four held back and this one');
  await small.close();
  assert.equal(t.events().length, 6);
  small.event(rs, 'Normal', 'R', 'after close');
  await small.flush();
  assert.equal(t.events().length, 6);
});

test('similar events are combined after 10 distinct messages, and the spam filter caps a burst at 25', async () => {
  const t = await setup();
  for (let i = 0; i < 1000; i++) t.rec.event(rs, 'Normal', 'SuccessfulCreate', `Created pod: web-abc-${i}`);
  await t.rec.flush();
  const evs = t.events();
  // 25 pass the spam filter: 10 keep their own message, the other 15 fold into one combined event.
  assert.equal(evs.length, 11);
  const combined = evs.find((e) => e.message!.startsWith('(combined from similar events): '));
  assert.ok(combined);
  assert.equal(combined!.count, 15);
  // One token comes back after 5 minutes.
  t.clock.advance(300_000);
  t.rec.event(rs, 'Normal', 'SuccessfulCreate', 'Created pod: later');
  await t.rec.flush();
  assert.equal(t.events().find((e) => e.metadata.name === combined!.metadata.name)!.count, 16);
});

test('with maxInFlight > 1 distinct events are written concurrently and identical ones stay ordered', async () => {
  const t = await setup();
  const rec = new EventRecorder(new DynamicClient({ server: t.srv.url }, { rateLimit: false }), { component: 'c', maxInFlight: 8, clock: t.clock, logger: t.logger });
  for (let i = 0; i < 20; i++) {
    rec.event({ ...rs, metadata: { ...rs.metadata, name: `p-${i}`, uid: `u-${i}` } }, 'Normal', 'Scheduled', `assigned p-${i}`);
  }
  for (let i = 0; i < 5; i++) rec.event(rs, 'Warning', 'FailedScheduling', '0/3 nodes are available');
  await rec.close();
  const evs = t.events();
  assert.equal(evs.length, 21);
  assert.equal(evs.find((e) => e.involvedObject.name === 'web-abc')!.count, 5);
  assert.equal(t.srv.requestsFor('create', 'events').length, 21);
  assert.deepEqual(t.srv.requestsFor('patch', 'events').map((r) => (r.body as { count: number }).count), [2, 3, 4, 5]);
  // Names are unique hex nanosecond stamps even within one millisecond.
  assert.equal(new Set(evs.map((e) => e.metadata.name)).size, 21);
  for (const e of evs) {
    const [, hex] = e.metadata.name!.split('.');
    assert.equal(BigInt('0x' + hex) / 1_000_000n, BigInt(t.clock.now()));
  }
});

test('the caches are bounded LRUs: thousands of objects do not grow them past 4096', async () => {
  const t = await setup();
  const lru = new EventRecorder(new DynamicClient({ server: t.srv.url }, { rateLimit: false }), { component: 'c', clock: t.clock });
  const li = lru as unknown as { allowBySpamFilter(k: string, at: number): boolean; spam: Map<string, unknown> };
  for (let i = 0; i < 10_000; i++) assert.ok(li.allowBySpamFilter(`k-${i}`, t.clock.now()));
  assert.equal(li.spam.size, 4096);
  await lru.close();
});

test('event names: nanosHex is the hex of the Unix time in nanoseconds, exact without BigInt', async () => {
  const { nanosHex } = await import('./events.js');
  const cases: Array<[number, number]> = [[0, 0], [0, 15], [1, 0], [0xffffff, 999_999], [0x1000000, 0], [1_764_000_000_123, 456_789], [2 ** 47 - 1, 999_999]];
  for (let i = 0; i < 1000; i++) cases.push([Math.floor(Math.random() * 2 ** 45), Math.floor(Math.random() * 1e6)]);
  for (const [ms, extra] of cases) assert.equal(nanosHex(ms, extra), (BigInt(ms) * 1_000_000n + BigInt(extra)).toString(16), `${ms} ${extra}`);
});

test('the LRU caches evict the least recently used entry, also after hits reorder them', async () => {
  const t = await setup();
  const lru = new EventRecorder(new DynamicClient({ server: t.srv.url }, { rateLimit: false }), { component: 'c', clock: t.clock });
  const li = lru as unknown as { allowBySpamFilter(k: string, at: number): boolean; spam: { size: number; get(k: string): unknown } };
  const at = t.clock.now();
  for (let i = 0; i < 4096; i++) li.allowBySpamFilter(`k-${i}`, at);
  li.allowBySpamFilter('k-0', at); // a hit: k-0 becomes the most recent, k-1 the oldest
  li.allowBySpamFilter('k-new-1', at); // evicts k-1
  li.allowBySpamFilter('k-new-2', at); // evicts k-2
  assert.equal(li.spam.size, 4096);
  for (const k of ['k-0', 'k-3', 'k-4095', 'k-new-1', 'k-new-2']) assert.ok(li.spam.get(k) !== undefined, k);
  for (const k of ['k-1', 'k-2']) assert.equal(li.spam.get(k), undefined, k);
  for (let i = 0; i < 5000; i++) li.allowBySpamFilter(`m-${i}`, at);
  assert.equal(li.spam.size, 4096);
  assert.ok(li.spam.get('m-4999') !== undefined);
  assert.equal(li.spam.get('m-903'), undefined);
  assert.ok(li.spam.get('m-904') !== undefined);
  await lru.close();
});

test('writes start at the end of the recording turn, together, and flush still waits for them', async () => {
  const srv = await FakeApiServer.start();
  const client = new DynamicClient({ server: srv.url }, { rateLimit: false });
  const clock = new FakeClock(Date.UTC(2025, 0, 1, 12, 0, 0));
  const started: string[] = [];
  const events = client.resource<CoreEvent>('v1', 'Event');
  const create = events.create.bind(events);
  events.create = (ns, body, opts) => {
    started.push(body.involvedObject.name!);
    return create(ns, body, opts);
  };
  const rec = new EventRecorder(events, { component: 'default-scheduler', clock, maxInFlight: 4 });
  cleanups.push(() => srv.close(), () => client.close(), () => rec.close());
  const pod = (name: string) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', uid: `u-${name}` } });
  rec.event(pod('a'), 'Normal', 'Scheduled', 'Successfully assigned default/a to n1');
  rec.event(pod('b'), 'Normal', 'Scheduled', 'Successfully assigned default/b to n1');
  await Promise.resolve();
  assert.deepEqual(started, [], 'nothing written within the recording turn');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(started, ['a', 'b']);
  rec.event(pod('c'), 'Normal', 'Scheduled', 'Successfully assigned default/c to n1');
  await rec.flush();
  assert.deepEqual((srv.all('v1', 'events') as unknown as CoreEvent[]).map((e) => e.involvedObject.name).sort(), ['a', 'b', 'c']);
});

test('while the recording component is busy one write is in flight; once it is idle up to maxInFlight', async () => {
  let current = 0;
  let max = 0;
  let written = 0;
  const sink = {
    async create(_ns: string, ev: CoreEvent) {
      current++;
      max = Math.max(max, current);
      await new Promise((r) => setImmediate(r));
      current--;
      written++;
      return ev;
    },
    async patch() { throw new Error('no patch expected'); },
  } as unknown as ResourceClient<CoreEvent>;
  let busy = true;
  const rec = new EventRecorder(sink, { component: 'default-scheduler', maxInFlight: 4, busy: () => busy, logger: recordingLogger() });
  for (let i = 0; i < 20; i++) rec.event({ ...rs, metadata: { ...rs.metadata, name: `p-${i}`, uid: `u-${i}` } }, 'Normal', 'Scheduled', `assigned p-${i}`);
  while (written < 5) await new Promise((r) => setImmediate(r));
  assert.equal(max, 1, 'one at a time while busy');
  busy = false;
  await rec.flush();
  assert.equal(written, 20);
  assert.equal(max, 4, 'up to maxInFlight once idle');
});
