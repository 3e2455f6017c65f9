import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod, Service } from 'kubernetes-types/core/v1.js';
import type { Endpoint, EndpointPort, EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { startControllerTestEnv, type ControllerTestEnv } from '../testing.js';
import { CONTROLLER_NAME, definition, LABEL_MANAGED_BY, LABEL_SERVICE_NAME, planSlices, podToEndpoint, sliceLabels } from './index.js';

const NS = 'default';

function pod(name: string, opts: { nodeName?: string; hostname?: string; subdomain?: string } = {}): Pod {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, namespace: NS, labels: { app: 'web' } },
    spec: { ...opts, containers: [{ name: 'c', image: 'nginx', ports: [{ name: 'http', containerPort: 8080 }] }] },
  };
}

async function setStatus(env: ControllerTestEnv, name: string, ip: string, ready: boolean): Promise<void> {
  const pods = env.client.resource<Pod>('v1', 'Pod');
  const cur = await pods.get(NS, name);
  await pods.updateStatus(NS, { ...cur, status: { phase: 'Running', podIP: ip, podIPs: [{ ip }], conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] } });
}

const svc: Service = {
  apiVersion: 'v1', kind: 'Service',
  metadata: { name: 'web', namespace: NS, uid: 'svc-uid', labels: { tier: 'front' } },
  spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }] },
};

const PORTS: EndpointPort[] = [{ name: 'http', port: 8080, protocol: 'TCP' }];
const ep = (n: number, ready = true): Endpoint => ({
  addresses: [`10.0.0.${n}`], conditions: { ready, serving: ready, terminating: false },
  targetRef: { kind: 'Pod', namespace: NS, name: `p${n}`, uid: `u${n}` },
});
const desiredOf = (eps: Endpoint[]) => [{ ports: PORTS, endpoints: new Map(eps.map((e) => [`${NS}/${e.targetRef!.name}`, e])) }];
const slice = (name: string, eps: Endpoint[]): EndpointSlice => ({
  metadata: { name, namespace: NS, labels: sliceLabels(svc), ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: 'web', uid: 'svc-uid', controller: true }] },
  addressType: 'IPv4', endpoints: eps, ports: PORTS,
});

test('podToEndpoint: hostname only when subdomain names the service; publishNotReadyAddresses marks ready', () => {
  const running = (p: Pod, ready: boolean): Pod => ({ ...p, status: { phase: 'Running', podIP: '10.0.0.9', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] } });
  const cases: Array<{ name: string; pod: Pod; svc: Service; hostname?: string; ready: boolean }> = [
    { name: 'hostname + matching subdomain (Indexed Job / StatefulSet pod)', pod: running(pod('w-0', { hostname: 'w-0', subdomain: 'web' }), true), svc, hostname: 'w-0', ready: true },
    { name: 'subdomain names another service', pod: running(pod('w-0', { hostname: 'w-0', subdomain: 'other' }), true), svc, ready: true },
    { name: 'subdomain without hostname', pod: running(pod('w-0', { subdomain: 'web' }), true), svc, ready: true },
    { name: 'same names in another namespace', pod: { ...running(pod('w-0', { hostname: 'w-0', subdomain: 'web' }), true), metadata: { name: 'w-0', namespace: 'other' } }, svc, ready: true },
    { name: 'not ready', pod: running(pod('w-0', { hostname: 'w-0', subdomain: 'web' }), false), svc, hostname: 'w-0', ready: false },
    { name: 'not ready but publishNotReadyAddresses', pod: running(pod('w-0', { hostname: 'w-0', subdomain: 'web' }), false), svc: { ...svc, spec: { ...svc.spec, publishNotReadyAddresses: true } }, hostname: 'w-0', ready: true },
  ];
  for (const c of cases) {
    const e = podToEndpoint(c.pod, c.svc, '10.0.0.9');
    assert.equal(e.hostname, c.hostname, c.name);
    assert.equal(e.conditions?.ready, c.ready, c.name);
  }
});

test('planSlices: table of packing decisions', () => {
  const cases: Array<{ name: string; desired: Endpoint[]; existing: EndpointSlice[]; want: { create: number[]; update: Record<string, number>; delete: string[] } }> = [
    { name: 'nothing → one placeholder', desired: [], existing: [], want: { create: [0], update: {}, delete: [] } },
    { name: 'placeholder is kept when still empty', desired: [], existing: [{ ...slice('ph', []), ports: [] }], want: { create: [], update: {}, delete: [] } },
    { name: '7 endpoints, max 3 → 3+3+1', desired: [1, 2, 3, 4, 5, 6, 7].map((n) => ep(n)), existing: [], want: { create: [3, 3, 1], update: {}, delete: [] } },
    { name: 'unchanged slice is not written', desired: [ep(1), ep(2)], existing: [slice('a', [ep(1), ep(2)])], want: { create: [], update: {}, delete: [] } },
    { name: 'readiness change updates in place', desired: [ep(1), ep(2, false)], existing: [slice('a', [ep(1), ep(2)])], want: { create: [], update: { a: 2 }, delete: [] } },
    { name: 'new endpoint goes into a slice with room', desired: [ep(1), ep(2), ep(3)], existing: [slice('a', [ep(1), ep(2)])], want: { create: [], update: { a: 3 }, delete: [] } },
    { name: 'emptied slice is deleted, other kept', desired: [ep(1)], existing: [slice('a', [ep(1)]), slice('b', [ep(2)])], want: { create: [], update: {}, delete: ['b'] } },
    { name: 'all gone → placeholder replaces', desired: [], existing: [slice('a', [ep(1)])], want: { create: [0], update: {}, delete: ['a'] } },
    { name: 'slice of another owner is deleted', desired: [ep(1)], existing: [{ ...slice('x', [ep(1)]), metadata: { ...slice('x', []).metadata, ownerReferences: [] } }], want: { create: [1], update: {}, delete: ['x'] } },
  ];
  for (const c of cases) {
    const plan = planSlices(svc, 'IPv4', desiredOf(c.desired), c.existing, 3);
    assert.deepEqual(plan.create.map((p) => p.endpoints.length), c.want.create, c.name);
    assert.deepEqual(Object.fromEntries(plan.update.map((p) => [p.existing!.metadata!.name, p.endpoints.length])), c.want.update, c.name);
    assert.deepEqual(plan.delete.map((s) => s.metadata!.name), c.want.delete, c.name);
  }
});

test('EndpointSlices follow pods: conditions, ports, hostname, terminating, no churn', async () => {
  const env = await startControllerTestEnv();
  try {
    await env.run([definition]);
    const pods = env.client.resource<Pod>('v1', 'Pod');
    const services = env.client.resource<Service>('v1', 'Service');
    const slices = env.client.resource<EndpointSlice>('discovery.k8s.io/v1', 'EndpointSlice');
    const list = async () => (await slices.list(NS, { labelSelector: `${LABEL_SERVICE_NAME}=web` })).items;
    const eps = async () => (await list()).flatMap((s) => s.endpoints ?? []);
    const byPod = async (n: string) => (await eps()).find((e) => e.targetRef?.name === n);

    await pods.create(NS, pod('p1', { nodeName: 'node-a', hostname: 'p1', subdomain: 'web' }));
    await pods.create(NS, pod('p2'));
    await pods.create(NS, pod('p3'));
    await setStatus(env, 'p1', '10.42.0.1', true);
    await setStatus(env, 'p2', '10.42.0.2', true);
    await setStatus(env, 'p3', '10.42.0.3', true);
    const { metadata: _m, ...rest } = svc;
    await services.create(NS, { ...rest, metadata: { name: 'web', labels: { tier: 'front' } } });

    const [s] = await env.eventually(async () => {
      const l = await list();
      return l.length === 1 && (l[0]!.endpoints ?? []).length === 3 ? l : undefined;
    }, 10_000, 'one slice with 3 endpoints');
    assert.match(s!.metadata!.name!, /^web-[a-z0-9]{5}$/);
    assert.equal(s!.metadata!.labels![LABEL_MANAGED_BY], CONTROLLER_NAME);
    assert.equal(s!.metadata!.labels!.tier, 'front');
    assert.equal(s!.addressType, 'IPv4');
    assert.deepEqual(s!.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);
    const owner = s!.metadata!.ownerReferences![0]!;
    assert.equal(owner.kind, 'Service');
    assert.equal(owner.controller, true);
    assert.equal(owner.blockOwnerDeletion, true);
    const e1 = s!.endpoints!.find((e) => e.targetRef?.name === 'p1')!;
    assert.deepEqual(e1.addresses, ['10.42.0.1']);
    assert.deepEqual(e1.conditions, { ready: true, serving: true, terminating: false });
    assert.equal(e1.nodeName, 'node-a');
    assert.equal(e1.hostname, 'p1');
    assert.equal(s!.endpoints!.find((e) => e.targetRef?.name === 'p2')!.hostname, undefined);

    // Readiness flip updates the same slice in place.
    await setStatus(env, 'p2', '10.42.0.2', false);
    await env.eventually(async () => (await byPod('p2'))?.conditions?.ready === false, 10_000, 'p2 not ready');
    const after = await list();
    assert.equal(after.length, 1);
    assert.equal(after[0]!.metadata!.name, s!.metadata!.name);

    // No churn on an unrelated service change.
    const rv = after[0]!.metadata!.resourceVersion;
    await services.patch(NS, 'web', 'merge', { metadata: { annotations: { touched: 'yes' } } });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await list())[0]!.metadata!.resourceVersion, rv);

    // A terminating pod (graceful deletion of a bound pod) stays, marked terminating and not ready.
    await pods.delete(NS, 'p1');
    await env.eventually(async () => {
      const c = (await byPod('p1'))?.conditions;
      return c?.terminating === true && c.ready === false && c.serving === true;
    }, 10_000, 'p1 terminating');
    // Deleted pods vanish from the slice.
    await pods.delete(NS, 'p3', { gracePeriodSeconds: 0 });
    await env.eventually(async () => (await byPod('p3')) === undefined, 10_000, 'p3 removed');

    // Deleting the service removes its slices.
    await services.delete(NS, 'web');
    await env.eventually(async () => (await list()).length === 0, 10_000, 'slices deleted');
  } finally {
    await env.close();
  }
});
