import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { Registry } from 'prom-client';
import type { KObject } from '../api/errors.js';
import { controllerFor, TerminalError, type ControllerOptions, type ReconcileRequest, type ReconcileResult } from './controller.js';
import { DynamicClient } from './dynamic.js';
import { Informer } from './informer.js';
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
  const informerClock = new FakeClock(); // never advanced: no stalls or resyncs during a test
  const logger = recordingLogger();
  const mk = (apiVersion: string, kind: string) =>
    new Informer<KObject>(client.resource<KObject>(apiVersion, kind), { clock: informerClock, logger, stallTimeoutMs: 0 });
  const rs = mk('apps/v1', 'ReplicaSet');
  const pods = mk('v1', 'Pod');
  const cms = mk('v1', 'ConfigMap');
  cleanups.push(() => srv.close(), () => client.close(), () => rs.stop(), () => pods.stop(), () => cms.stop());
  const clock = new FakeClock();
  return { srv, client, rs, pods, cms, clock, logger };
}

/** A reconciler that records calls and answers from a per-call script. */
function scripted(script: (req: ReconcileRequest, n: number) => Promise<ReconcileResult | void> | ReconcileResult | void = () => undefined) {
  const calls: string[] = [];
  return {
    calls,
    async reconcile(req: ReconcileRequest) {
      calls.push(`${req.namespace ?? ''}/${req.name}`);
      return script(req, calls.length);
    },
  };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 3000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

const settle = () => new Promise((r) => setTimeout(r, 30));

test('reconciles every primary object after sync, then each change by key', async () => {
  const t = await setup();
  t.srv.put('apps/v1', 'replicasets', { metadata: { name: 'a', namespace: 'ns' } });
  t.srv.put('apps/v1', 'replicasets', { metadata: { name: 'b', namespace: 'ns' } });
  const r = scripted();
  const c = controllerFor(t.rs, { clock: t.clock, logger: t.logger }).complete(r);
  cleanups.push(() => c.stop());
  assert.equal(await c.start(), true);
  await until(() => r.calls.length === 2, 'initial reconciles');
  assert.deepEqual(r.calls.sort(), ['ns/a', 'ns/b']);
  await t.srv.waitForWatches(1);
  t.srv.put('apps/v1', 'replicasets', { metadata: { name: 'a', namespace: 'ns' }, spec: { replicas: 2 } });
  t.srv.remove('apps/v1', 'replicasets', 'ns', 'b');
  await until(() => r.calls.length === 4, 'update and delete reconciles');
  assert.deepEqual(r.calls.slice(2).sort(), ['ns/a', 'ns/b'], 'a deleted object is still reconciled by key');
});

test('a thrown error retries with per-key backoff; success forgets the history', async () => {
  const t = await setup();
  t.srv.put('apps/v1', 'replicasets', { metadata: { name: 'a', namespace: 'ns' } });
  const registry = new Registry();
  const r = scripted((_req, n) => {
    if (n <= 3) throw new Error(`transient ${n}`);
  });
  const c = controllerFor(t.rs, { name: 'rs', clock: t.clock, logger: t.logger, registry }).complete(r);
  cleanups.push(() => c.stop());
  await c.start();
  for (let i = 0; i < 3; i++) await t.clock.step(1);
  await until(() => r.calls.length === 4, 'fourth attempt');
  await settle();
  assert.deepEqual(t.clock.delays, [5, 10, 20]);
  assert.equal(c.queue.numRequeues('ns/a'), 0, 'forgotten after success');
  assert.equal(t.logger.records.filter((l) => l.level === 'warn' && l.msg?.includes('retrying')).length, 3);
  const metrics = await registry.metrics();
  assert.match(metrics, /controller_reconcile_total\{controller="rs",result="error"\} 3/);
  assert.match(metrics, /controller_reconcile_total\{controller="rs",result="success"\} 1/);
});

test('a TerminalError is logged and dropped; requeueAfter schedules the next reconcile', async () => {
  const t = await setup();
  t.srv.put('apps/v1', 'replicasets', { metadata: { name: 'bad', namespace: 'ns' } });
  t.srv.put('apps/v1', 'replicasets', { metadata: { name: 'poll', namespace: 'ns' } });
  const r = scripted((req) => {
    if (req.name === 'bad') throw new TerminalError('spec.foo is not supported');
    return { requeueAfter: 30_000 };
  });
  const c = controllerFor(t.rs, { clock: t.clock, logger: t.logger }).complete(r);
  cleanups.push(() => c.stop());
  await c.start();
  await until(() => r.calls.length === 2, 'both reconciled');
  await settle();
  assert.deepEqual(t.clock.pendingDelays(), [30_000], 'only the requeueAfter timer; nothing for the terminal error');
  assert.ok(t.logger.records.some((l) => l.level === 'error' && (l.obj as { err?: Error }).err instanceof TerminalError));
  t.clock.advance(30_000);
  await until(() => r.calls.length === 3, 'requeued');
  assert.equal(r.calls[2], 'ns/poll');
});

test('owns() maps owned objects to their controlling owner of the primary kind; watches() maps by function', async () => {
  const t = await setup();
  t.srv.put('apps/v1', 'replicasets', { metadata: { name: 'rs1', namespace: 'ns' } });
  const r = scripted();
  const c = controllerFor(t.rs, { clock: t.clock, logger: t.logger })
    .owns(t.pods)
    .watches(t.cms, (cm) => (cm.metadata.labels?.rs ? [{ namespace: cm.metadata.namespace, name: cm.metadata.labels.rs }] : []))
    .complete(r);
  cleanups.push(() => c.stop());
  await c.start();
  await until(() => r.calls.length === 1, 'initial');
  await t.srv.waitForWatches(3);
  const own = (name: string, ref: Record<string, unknown>) =>
    t.srv.put('v1', 'pods', { metadata: { name, namespace: 'ns', ownerReferences: [{ uid: 'u', name: 'x', ...ref }] } });
  own('p1', { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs-owner', controller: true });
  own('p2', { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'not-controller' });
  own('p3', { apiVersion: 'batch/v1', kind: 'Job', name: 'job', controller: true });
  own('p4', { apiVersion: 'other.io/v1', kind: 'ReplicaSet', name: 'wrong-group', controller: true });
  t.srv.put('v1', 'configmaps', { metadata: { name: 'cfg', namespace: 'ns', labels: { rs: 'from-cm' } } });
  await until(() => r.calls.length === 3, 'owner and mapped reconciles');
  await settle();
  assert.deepEqual(r.calls.slice(1).sort(), ['ns/from-cm', 'ns/rs-owner']);
});

test('N workers run different keys concurrently but never one key twice at once', async () => {
  const t = await setup();
  for (const n of ['a', 'b', 'c']) t.srv.put('apps/v1', 'replicasets', { metadata: { name: n, namespace: 'ns' } });
  let active = 0;
  let maxActive = 0;
  const activeKeys = new Set<string>();
  let overlap = false;
  const release: Array<() => void> = [];
  const r = scripted(async (req) => {
    if (activeKeys.has(req.name)) overlap = true;
    activeKeys.add(req.name);
    maxActive = Math.max(maxActive, ++active);
    await new Promise<void>((res) => release.push(res));
    active--;
    activeKeys.delete(req.name);
  });
  const opts: ControllerOptions = { clock: t.clock, logger: t.logger, workers: 3 };
  const c = controllerFor(t.rs, opts).complete(r);
  await c.start();
  await until(() => release.length === 3, 'three in flight');
  assert.equal(maxActive, 3);
  c.enqueue({ namespace: 'ns', name: 'a' });
  c.enqueue({ namespace: 'ns', name: 'a' });
  await settle();
  assert.equal(release.length, 3, 'a is dirty but not started again while in flight');
  release.splice(0).forEach((f) => f());
  await until(() => release.length === 1, 'a once more');
  assert.equal(r.calls.filter((k) => k === 'ns/a').length, 2);
  const stopping = c.stop();
  release.splice(0).forEach((f) => f());
  await stopping;
  assert.equal(overlap, false);
});
