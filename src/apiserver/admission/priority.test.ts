import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApiserver, type TestApiserver } from '../testing.js';
import { admissionChain } from './index.js';

let api: TestApiserver;
const PODS = '/api/v1/namespaces/default/pods';
const PCS = '/apis/scheduling.k8s.io/v1/priorityclasses';

before(async () => {
  api = await startTestApiserver();
  api.core.admitCreate = admissionChain(api.core);
  for (const [name, value, extra] of [['high', 1000, {}], ['never', 500, { preemptionPolicy: 'Never' }]] as const) {
    const r = await api.request('POST', PCS, { body: { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name }, value, ...extra } });
    assert.equal(r.status, 201, r.text);
  }
});
after(() => api.close());

const pod = (name: string, spec: Record<string, unknown> = {}) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'c', image: 'busybox' }], ...spec } });

test('built-in classes exist after bootstrap and cannot be deleted', async () => {
  for (const [name, value] of [['system-cluster-critical', 2000000000], ['system-node-critical', 2000001000]] as const) {
    const g = await api.request('GET', `${PCS}/${name}`);
    assert.equal(g.status, 200);
    assert.equal(g.body.value, value);
    const d = await api.request('DELETE', `${PCS}/${name}`);
    assert.equal(d.status, 403);
    assert.equal(d.body.message, `priorityclasses.scheduling.k8s.io "${name}" is forbidden: this is a system priority class and cannot be deleted`);
  }
});

test('pod admission resolves priority classes as upstream', async () => {
  const cases: Array<{ name: string; spec?: Record<string, unknown>; wantStatus: number; wantPriority?: number; wantPolicy?: string; wantMessage?: string }> = [
    { name: 'no-class', wantStatus: 201, wantPriority: 0, wantPolicy: 'PreemptLowerPriority' },
    { name: 'high', spec: { priorityClassName: 'high' }, wantStatus: 201, wantPriority: 1000, wantPolicy: 'PreemptLowerPriority' },
    { name: 'never', spec: { priorityClassName: 'never' }, wantStatus: 201, wantPriority: 500, wantPolicy: 'Never' },
    { name: 'system', spec: { priorityClassName: 'system-node-critical' }, wantStatus: 201, wantPriority: 2000001000 },
    { name: 'same-priority', spec: { priorityClassName: 'high', priority: 1000 }, wantStatus: 201, wantPriority: 1000 },
    { name: 'unknown', spec: { priorityClassName: 'foo' }, wantStatus: 403, wantMessage: 'pods "unknown" is forbidden: no PriorityClass with name foo was found' },
    {
      name: 'own-priority', spec: { priorityClassName: 'high', priority: 7 }, wantStatus: 403,
      wantMessage: 'pods "own-priority" is forbidden: the integer value of priority (7) must not be provided in pod spec; priority admission controller computed 1000 from the given PriorityClass name',
    },
    { name: 'own-priority-no-class', spec: { priority: 7 }, wantStatus: 403 },
    {
      name: 'policy-mismatch', spec: { priorityClassName: 'never', preemptionPolicy: 'PreemptLowerPriority' }, wantStatus: 403,
      wantMessage: 'pods "policy-mismatch" is forbidden: the string value of PreemptionPolicy (PreemptLowerPriority) must not be provided in pod spec; priority admission controller computed Never from the given PriorityClass name',
    },
  ];
  for (const c of cases) {
    const r = await api.request('POST', PODS, { body: pod(c.name, c.spec) });
    assert.equal(r.status, c.wantStatus, `${c.name}: ${r.text}`);
    if (c.wantMessage) {
      assert.equal(r.body.reason, 'Forbidden', c.name);
      assert.equal(r.body.message, c.wantMessage, c.name);
    }
    if (c.wantPriority !== undefined) assert.equal(r.body.spec.priority, c.wantPriority, c.name);
    if (c.wantPolicy !== undefined) assert.equal(r.body.spec.preemptionPolicy, c.wantPolicy, c.name);
  }
});

test('globalDefault applies to pods without a class; only one default may exist', async () => {
  const mk = (name: string, value: number) => api.request('POST', PCS, { body: { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name }, value, globalDefault: true } });
  assert.equal((await mk('default-a', 100)).status, 201);
  const second = await mk('default-b', 200);
  assert.equal(second.status, 403);
  assert.equal(second.body.message, 'priorityclasses.scheduling.k8s.io "default-b" is forbidden: PriorityClass default-a is already marked as default. Only one default can exist');
  const r = await api.request('POST', PODS, { body: pod('defaulted') });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.spec.priorityClassName, 'default-a');
  assert.equal(r.body.spec.priority, 100);
  // An explicit class still wins over the default.
  const h = await api.request('POST', PODS, { body: pod('explicit', { priorityClassName: 'high' }) });
  assert.equal(h.body.spec.priority, 1000);
});
