import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { DynamicClient } from './dynamic.js';
import { LeaderElector, type Lease, type LeaderElectionOptions } from './leader-election.js';
import { recordingLogger } from './log.js';
import { FakeApiServer } from './testing/fake-apiserver.js';
import { FakeClock } from './testing/fake-clock.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/**
 * Fires timers one at a time (waiting each time until `timers` are pending, i.e. every candidate is asleep) until
 * `cond` holds; checks `cond` before each step so no extra time passes after it becomes true.
 */
async function stepUntil(clock: FakeClock, cond: () => boolean, timers = 1): Promise<void> {
  for (;;) {
    const deadline = Date.now() + 5000;
    while (!cond() && clock.pending() < timers) {
      if (Date.now() > deadline) throw new Error('stepUntil: nothing pending and condition false');
      await new Promise((r) => setTimeout(r, 1));
    }
    if (cond()) return;
    await clock.step(timers);
  }
}

async function setup() {
  const srv = await FakeApiServer.start();
  const client = new DynamicClient({ server: srv.url }, { rateLimit: false });
  const clock = new FakeClock();
  const logger = recordingLogger();
  cleanups.push(() => srv.close(), () => client.close());
  const events: string[] = [];
  const elector = (identity: string, extra: Partial<LeaderElectionOptions> = {}) => {
    const e = new LeaderElector(client, {
      namespace: 'kube-system', name: 'skiff-controller-manager', identity, clock, logger, random: () => 0,
      callbacks: {
        onStartedLeading: () => events.push(`${identity} started @${(clock.now() - start) / 1000}`),
        onStoppedLeading: () => events.push(`${identity} stopped @${(clock.now() - start) / 1000}`),
        onNewLeader: (id) => events.push(`${identity} sees ${id}`),
      },
      ...extra,
    });
    cleanups.push(() => e.stop());
    return e;
  };
  const start = clock.now();
  const lease = () => srv.read('coordination.k8s.io/v1', 'leases', 'kube-system', 'skiff-controller-manager') as unknown as Lease;
  return { srv, clock, elector, events, lease, start };
}

test('two candidates: exactly one leads; the other takes over only after the lease expires', async () => {
  const t = await setup();
  const a = t.elector('a');
  const b = t.elector('b');
  const runA = a.run();
  const runB = b.run();
  for (let i = 0; i < 20; i++) await t.clock.step(2);
  assert.equal([a.isLeader(), b.isLeader()].filter(Boolean).length, 1, 'one leader despite racing creates');
  const [leader, follower, runLeader] = a.isLeader() ? [a, b, runA] : [b, a, runB];
  const lid = leader === a ? 'a' : 'b';
  const fid = lid === 'a' ? 'b' : 'a';
  assert.equal(t.lease().spec?.holderIdentity, lid);
  assert.equal(t.lease().spec?.leaseTransitions, 0);
  assert.equal(follower.getLeader(), lid);
  const acquired = t.lease().spec!.acquireTime;
  assert.notEqual(t.lease().spec!.renewTime, acquired, 'renewed since acquiring');

  // The leader stops renewing (crashes) without releasing.
  await leader.stop();
  await runLeader;
  const lastRenew = Date.parse(t.lease().spec!.renewTime!);
  assert.equal(leader.isLeader(), false);
  await stepUntil(t.clock, () => follower.isLeader());
  const tookOver = t.clock.now();
  assert.ok(tookOver - lastRenew >= 15_000, `took over ${tookOver - lastRenew} ms after the last renew`);
  // The follower notices the last renewal at its next retry (≤ 2 s later) and acquires at the first retry ≥ 15 s
  // after that observation.
  assert.ok(tookOver - lastRenew <= 15_000 + 2 * 2_000, `took over ${tookOver - lastRenew} ms after the last renew`);
  const l = t.lease().spec!;
  assert.equal(l.holderIdentity, fid);
  assert.equal(l.leaseTransitions, 1);
  assert.equal(l.leaseDurationSeconds, 15);
  assert.match(l.acquireTime!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  assert.equal(Date.parse(l.acquireTime!), tookOver);
  assert.ok(t.events.includes(`${fid} sees ${lid}`) && t.events.includes(`${fid} sees ${fid}`));
  assert.equal(t.events.filter((e) => e.includes('started')).length, 2);
  assert.ok(t.events.some((e) => e.startsWith(`${lid} stopped`)));
});

test('releaseOnCancel hands over at the next retry instead of after expiry', async () => {
  const t = await setup();
  const a = t.elector('a', { releaseOnCancel: true });
  void a.run();
  await t.clock.waitForTimers(1);
  assert.ok(a.isLeader());
  const b = t.elector('b');
  void b.run();
  await t.clock.step(2);
  await a.stop();
  assert.equal(t.lease().spec?.holderIdentity, '');
  const released = t.clock.now();
  await stepUntil(t.clock, () => b.isLeader());
  assert.ok(t.clock.now() - released <= 2_000);
  assert.equal(t.lease().spec?.leaseTransitions, 1);
});

test('a leader that cannot renew within renewDeadline steps down', async () => {
  const t = await setup();
  const a = t.elector('a');
  const run = a.run();
  await t.clock.waitForTimers(1);
  assert.ok(a.isLeader());
  const lastRenew = Date.parse(t.lease().spec!.renewTime!);
  t.srv.fail({ verb: 'update', resource: 'leases', code: 500, message: 'etcd timeout', times: 1000 });
  await stepUntil(t.clock, () => !a.isLeader());
  await run;
  const lost = t.clock.now() - lastRenew;
  assert.ok(lost >= 2_000 + 10_000 && lost <= 2_000 + 10_000 + 2_000, `lost after ${lost} ms`);
  assert.deepEqual(t.events.filter((e) => !e.includes('sees')), ['a started @0', `a stopped @${lost / 1000}`]);
});

test('options are validated like client-go', () => {
  const client = new DynamicClient({ server: 'http://127.0.0.1:1' }, { rateLimit: false });
  const cb = { onStartedLeading() {}, onStoppedLeading() {} };
  assert.throws(() => new LeaderElector(client, { namespace: 'n', name: 'l', identity: 'x', leaseDurationMs: 5000, renewDeadlineMs: 5000, callbacks: cb }), /leaseDuration/);
  assert.throws(() => new LeaderElector(client, { namespace: 'n', name: 'l', identity: 'x', renewDeadlineMs: 2000, callbacks: cb }), /retryPeriod/);
  assert.throws(() => new LeaderElector(client, { namespace: 'n', name: 'l', identity: '', callbacks: cb }), /identity/);
  client.close();
});
