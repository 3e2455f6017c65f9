import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { realClock, type Clock } from '../../client/clock.js';
import { DynamicClient, type ResourceClient } from '../../client/dynamic.js';
import { EventRecorder } from '../../client/events.js';
import type { Logger } from '../../client/log.js';
import { InformerFactory } from '../informer-factory.js';
import { startControllerTestEnv } from '../testing.js';
import { DEFAULT_CONFIG, type ControllerContext } from '../types.js';
import { ControllerExpectations, EXPECTATIONS_TIMEOUT_MS } from './expectations.js';
import { newReplicaSetController } from './replicaset-controller.js';

test('expectations: counting, per-pod deletions, timeout', () => {
  let now = 0;
  const clock: Clock = { now: () => now, setTimer: () => ({ cancel() {} }) };
  const e = new ControllerExpectations(clock);
  const cases: Array<{ name: string; run: () => void; want: boolean }> = [
    { name: 'unknown key', run: () => {}, want: true },
    { name: 'after expecting 2 creations', run: () => e.expectCreations('ns/a', 2), want: false },
    { name: 'one observed', run: () => e.creationObserved('ns/a'), want: false },
    { name: 'both observed', run: () => e.creationObserved('ns/a'), want: true },
    { name: 'expect 2 deletions', run: () => e.expectDeletions('ns/a', ['ns/p1', 'ns/p2']), want: false },
    { name: 'p1 seen terminating, then gone: counted once', run: () => { e.deletionObserved('ns/a', 'ns/p1'); e.deletionObserved('ns/a', 'ns/p1'); }, want: false },
    { name: 'unrelated pod does not count', run: () => e.deletionObserved('ns/a', 'ns/zz'), want: false },
    { name: 'timeout makes it satisfied', run: () => { now += EXPECTATIONS_TIMEOUT_MS + 1; }, want: true },
    { name: 'delete forgets', run: () => { e.expectCreations('ns/a', 1); e.delete('ns/a'); }, want: true },
  ];
  for (const c of cases) {
    c.run();
    assert.equal(e.satisfied('ns/a'), c.want, c.name);
  }
});

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** A client whose pod watch events arrive `lagMs` late, as from a busy apiserver. */
function laggyClient(base: DynamicClient, lagMs: number): DynamicClient {
  const c = new DynamicClient(base.rest);
  const orig = c.resource.bind(c) as (a: string, k: string) => ResourceClient<unknown>;
  (c as unknown as { resource: typeof orig }).resource = (a: string, k: string) => {
    const rc = orig(a, k);
    if (k === 'Pod') {
      const watch = rc.watch.bind(rc);
      rc.watch = (ns, opts, onEvent, onClose) =>
        watch(ns, opts, (ev) => void setTimeout(() => onEvent(ev), lagMs), (err) => void setTimeout(() => onClose(err), lagMs));
    }
    return rc;
  };
  return c;
}

test('a lagging pod informer never makes the ReplicaSet create extra pods', async () => {
  const env = await startControllerTestEnv();
  const client = laggyClient(env.client, 400);
  const informers = new InformerFactory(client, { logger: quiet });
  const recorders: EventRecorder[] = [];
  const ctx: ControllerContext = {
    client,
    informers,
    recorder: (component) => {
      const r = new EventRecorder(client, { component, logger: quiet });
      recorders.push(r);
      return r;
    },
    clock: realClock,
    logger: () => quiet,
    config: DEFAULT_CONFIG,
  };
  const ctrl = newReplicaSetController(ctx);
  informers.start();
  try {
    await informers.waitForSync();
    await ctrl.start();
    const rsc = env.client.resource<ReplicaSet>('apps/v1', 'ReplicaSet');
    const pods = env.client.resource<Pod>('v1', 'Pod');
    await rsc.create('default', {
      metadata: { name: 'lag' },
      spec: { replicas: 3, selector: { matchLabels: { app: 'lag' } }, template: { metadata: { labels: { app: 'lag' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } },
    });
    // Every poke is a ReplicaSet update, hence a reconcile, while the pod informer has not seen the creates.
    for (let i = 0; i < 10; i++) {
      await rsc.patch('default', 'lag', 'merge', { metadata: { annotations: { poke: String(i) } } });
      await new Promise((r) => setTimeout(r, 40));
    }
    await env.eventually(async () => (await pods.list('default', { labelSelector: 'app=lag' })).items.length >= 3, 10_000, '3 pods');
    await new Promise((r) => setTimeout(r, 600));
    assert.equal((await pods.list('default', { labelSelector: 'app=lag' })).items.length, 3);
    await Promise.all(recorders.map((r) => r.flush()));
    const evs = (await env.client.resource<{ reason: string; involvedObject: { name: string } }>('v1', 'Event').list('default')).items
      .filter((e) => e.involvedObject.name === 'lag');
    assert.equal(evs.filter((e) => e.reason === 'SuccessfulCreate').length, 3, 'exactly 3 creates, ever');
    assert.equal(evs.filter((e) => e.reason === 'SuccessfulDelete').length, 0, 'no corrective deletes');
  } finally {
    await ctrl.stop();
    await informers.stop();
    await Promise.all(recorders.map((r) => r.close()));
    await env.close();
  }
});
