import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { FakeClock } from './testing/fake-clock.js';
import { BucketRateLimiter, defaultControllerRateLimiter, ItemExponentialRateLimiter, MaxOfRateLimiter, WorkQueue } from './workqueue.js';

test('adds are de-duplicated and handed out in order', async () => {
  const q = new WorkQueue({ clock: new FakeClock() });
  for (const k of ['a', 'b', 'a', 'c', 'b']) q.add(k);
  assert.equal(q.len(), 3);
  assert.deepEqual([await q.get(), await q.get(), await q.get()], ['a', 'b', 'c']);
});

test('a key re-added while processing is processed again after done, never concurrently', async () => {
  const q = new WorkQueue({ clock: new FakeClock() });
  q.add('a');
  const k = await q.get();
  q.add('a');
  q.add('a');
  assert.equal(q.len(), 0, 'not handed to a second worker while processing');
  let second: string | undefined;
  const waiting = q.get().then((v) => (second = v));
  await new Promise((r) => setImmediate(r));
  assert.equal(second, undefined);
  q.done(k!);
  await waiting;
  assert.equal(second, 'a');
  q.done('a');
  assert.equal(q.len(), 0, 'processed once more, not twice');
});

test('get waits for an add; shutDown drains then returns undefined and ignores new adds', async () => {
  const q = new WorkQueue({ clock: new FakeClock() });
  const g = q.get();
  q.add('x');
  assert.equal(await g, 'x');
  q.add('y');
  const blocked = q.get().then(() => q.get());
  q.shutDown();
  q.add('z');
  assert.equal(await blocked, undefined);
  assert.equal(await q.get(), undefined);
  assert.equal(q.shuttingDown, true);
});

test('addAfter keeps the earliest deadline per key', async () => {
  const clock = new FakeClock();
  const q = new WorkQueue({ clock });
  q.addAfter('a', 1000);
  q.addAfter('a', 500);
  q.addAfter('a', 2000);
  q.addAfter('b', 0);
  assert.equal(q.len(), 1);
  assert.equal(clock.pending(), 1);
  clock.advance(499);
  assert.equal(q.len(), 1);
  clock.advance(1);
  assert.equal(q.len(), 2);
  assert.deepEqual([await q.get(), await q.get()], ['b', 'a']);
});

test('per-item exponential backoff 5 ms → 1000 s, reset by forget', () => {
  const l = new ItemExponentialRateLimiter();
  const delays = Array.from({ length: 20 }, () => l.when('k'));
  assert.deepEqual(delays.slice(0, 5), [5, 10, 20, 40, 80]);
  assert.equal(delays.at(-1), 1_000_000);
  assert.equal(l.numRequeues('k'), 20);
  assert.equal(l.when('other'), 5, 'per item');
  l.forget('k');
  assert.equal(l.when('k'), 5);
});

test('the bucket limiter spaces items once the burst is spent; max-of combines both', () => {
  const clock = new FakeClock();
  const b = new BucketRateLimiter(10, 3, clock);
  assert.deepEqual([b.when(), b.when(), b.when(), b.when(), b.when()], [0, 0, 0, 100, 200]);
  clock.advance(1000);
  assert.equal(b.when(), 0);
  const m = new MaxOfRateLimiter(new ItemExponentialRateLimiter(5, 1000), new BucketRateLimiter(1, 1, clock));
  assert.deepEqual([m.when('a'), m.when('a'), m.when('a')], [5, 1000, 2000], 'bucket reservations queue up');
  const d = defaultControllerRateLimiter(new FakeClock());
  assert.deepEqual(Array.from({ length: 4 }, () => d.when('x')), [5, 10, 20, 40]);
});

test('addRateLimited delays through the limiter; forget resets; metrics count adds, depth and retries', async () => {
  const clock = new FakeClock();
  const registry = new Registry();
  const q = new WorkQueue({ name: 'test', clock, registry, rateLimiter: new ItemExponentialRateLimiter(5, 1000) });
  q.addRateLimited('k');
  q.addRateLimited('k');
  assert.deepEqual(clock.delays, [5], 'the later 10 ms deadline loses to the pending 5 ms one');
  assert.equal(q.numRequeues('k'), 2);
  clock.advance(5);
  assert.equal(await q.get(), 'k');
  q.done('k');
  q.forget('k');
  assert.equal(q.numRequeues('k'), 0);
  q.add('j');
  const text = await registry.metrics();
  assert.match(text, /workqueue_adds_total\{name="test"\} 2/);
  assert.match(text, /workqueue_depth\{name="test"\} 1/);
  assert.match(text, /workqueue_retries_total\{name="test"\} 2/);
  new WorkQueue({ name: 'second', registry }).add('x');
  assert.match(await registry.metrics(), /workqueue_adds_total\{name="second"\} 1/, 'two queues share one registry');
});
