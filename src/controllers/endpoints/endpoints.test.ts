import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Endpoints, Pod, Service } from 'kubernetes-types/core/v1.js';
import { startControllerTestEnv, type ControllerTestEnv } from '../testing.js';
import { definition, desiredSubsets, HEADLESS_LABEL, LAST_CHANGE_TRIGGER_TIME } from './index.js';

const NS = 'default';

function pod(name: string, opts: { labels?: Record<string, string>; ports?: Array<{ name: string; containerPort: number }>; nodeName?: string; hostname?: string; subdomain?: string } = {}): Pod {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, namespace: NS, labels: opts.labels ?? { app: 'web' } },
    spec: {
      nodeName: opts.nodeName, hostname: opts.hostname, subdomain: opts.subdomain,
      containers: [{ name: 'c', image: 'nginx', ports: opts.ports ?? [{ name: 'http', containerPort: 8080 }] }],
    },
  };
}

/** Plays the kubelet: running, with an IP and the given readiness. */
async function setStatus(env: ControllerTestEnv, name: string, ip: string, ready: boolean): Promise<void> {
  const pods = env.client.resource<Pod>('v1', 'Pod');
  const cur = await pods.get(NS, name);
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  await pods.updateStatus(NS, {
    ...cur,
    status: { phase: 'Running', podIP: ip, podIPs: [{ ip }], conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: now }] },
  });
}

function svc(name: string, extra: Partial<Service['spec']> = {}): Service {
  return {
    apiVersion: 'v1', kind: 'Service',
    metadata: { name, namespace: NS, labels: { tier: 'front' } },
    spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }], ...extra },
  };
}

function ips(ep: Endpoints | undefined, field: 'addresses' | 'notReadyAddresses'): string[] {
  return (ep?.subsets ?? []).flatMap((s) => (s[field] ?? []).map((a) => a.ip)).sort();
}

test('desiredSubsets publishes hostname only for pods whose subdomain names the service', () => {
  const running = (p: Pod, ip: string): Pod => ({ ...p, status: { phase: 'Running', podIP: ip, conditions: [{ type: 'Ready', status: 'True' }] } });
  const s = svc('workers', { clusterIP: 'None' });
  const { subsets } = desiredSubsets(s, [
    running(pod('w-0', { hostname: 'w-0', subdomain: 'workers' }), '10.0.0.1'),
    running(pod('w-1', { hostname: 'w-1', subdomain: 'elsewhere' }), '10.0.0.2'),
    running(pod('w-2', { subdomain: 'workers' }), '10.0.0.3'),
  ]);
  const byIP = Object.fromEntries(subsets.flatMap((x) => x.addresses ?? []).map((a) => [a.ip, a.hostname]));
  assert.deepEqual(byIP, { '10.0.0.1': 'w-0', '10.0.0.2': undefined, '10.0.0.3': undefined });
});

test('desiredSubsets groups pods by port set and sorts deterministically', () => {
  const s = svc('x', { ports: [{ name: 'http', port: 80, targetPort: 'http' }] });
  const mk = (name: string, ip: string, port: number, ready: boolean): Pod => ({
    ...pod(name, { ports: [{ name: 'http', containerPort: port }] }),
    status: { phase: 'Running', podIP: ip, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  });
  const a = desiredSubsets(s, [mk('b', '10.0.0.2', 8080, true), mk('a', '10.0.0.1', 8080, false), mk('c', '10.0.0.3', 9090, true)]);
  const b = desiredSubsets(s, [mk('c', '10.0.0.3', 9090, true), mk('a', '10.0.0.1', 8080, false), mk('b', '10.0.0.2', 8080, true)]);
  assert.deepEqual(a.subsets, b.subsets);
  assert.equal(a.subsets.length, 2);
  assert.deepEqual(a.subsets[0]!.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);
  assert.deepEqual(a.subsets[0]!.addresses!.map((x) => x.ip), ['10.0.0.2']);
  assert.deepEqual(a.subsets[0]!.notReadyAddresses!.map((x) => x.ip), ['10.0.0.1']);
  assert.deepEqual(a.subsets[1]!.ports, [{ name: 'http', port: 9090, protocol: 'TCP' }]);
  // A pod without the named port is left out; a pod without an IP too.
  const none = desiredSubsets(s, [{ ...pod('d', { ports: [] }), status: { podIP: '10.0.0.4' } }, pod('e')]);
  assert.deepEqual(none.subsets, []);
});

test('Endpoints follow pods: named targetPort, readiness, publishNotReadyAddresses, deletion, headless', async () => {
  const env = await startControllerTestEnv();
  try {
    await env.run([definition]);
    const pods = env.client.resource<Pod>('v1', 'Pod');
    const services = env.client.resource<Service>('v1', 'Service');
    const eps = env.client.resource<Endpoints>('v1', 'Endpoints');
    const get = async (n: string) => eps.get(NS, n).catch(() => undefined);

    for (const [i, n] of ['p1', 'p2', 'p3'].entries()) {
      await pods.create(NS, pod(n, { nodeName: i === 0 ? 'node-a' : undefined }));
      await setStatus(env, n, `10.42.0.${i + 1}`, true);
    }
    await services.create(NS, svc('web'));
    const ep = await env.eventually(async () => {
      const e = await get('web');
      return ips(e, 'addresses').length === 3 ? e : undefined;
    }, 10_000, '3 ready addresses');
    assert.equal(ep.subsets!.length, 1);
    assert.deepEqual(ep.subsets![0]!.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);
    const a1 = ep.subsets![0]!.addresses!.find((a) => a.ip === '10.42.0.1')!;
    assert.equal(a1.nodeName, 'node-a');
    assert.equal(a1.targetRef?.kind, 'Pod');
    assert.equal(a1.targetRef?.name, 'p1');
    assert.ok(a1.targetRef?.uid);
    assert.equal(ep.metadata?.labels?.tier, 'front');
    assert.equal(ep.metadata?.labels?.[HEADLESS_LABEL], undefined);
    assert.match(ep.metadata?.annotations?.[LAST_CHANGE_TRIGGER_TIME] ?? '', /^\d{4}-\d\d-\d\dT/);

    // Readiness flip moves the address to notReadyAddresses.
    await setStatus(env, 'p2', '10.42.0.2', false);
    await env.eventually(async () => {
      const e = await get('web');
      return ips(e, 'notReadyAddresses').join() === '10.42.0.2' && ips(e, 'addresses').join() === '10.42.0.1,10.42.0.3';
    }, 10_000, 'p2 not ready');

    // No churn: a resync without changes keeps the resourceVersion.
    const rv = (await get('web'))!.metadata!.resourceVersion;
    await services.patch(NS, 'web', 'merge', { metadata: { annotations: { touched: 'yes' } } });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await get('web'))!.metadata!.resourceVersion, rv);

    // publishNotReadyAddresses lists every pod as ready.
    await services.patch(NS, 'web', 'merge', { spec: { publishNotReadyAddresses: true } });
    await env.eventually(async () => ips(await get('web'), 'addresses').length === 3, 10_000, 'all published');
    await services.patch(NS, 'web', 'merge', { spec: { publishNotReadyAddresses: false } });
    await env.eventually(async () => ips(await get('web'), 'addresses').length === 2, 10_000, 'back to 2 ready');

    // Deleting a pod removes its address; a terminating pod (bound to a node, graceful) is excluded at once.
    await pods.delete(NS, 'p3', { gracePeriodSeconds: 0 });
    await pods.delete(NS, 'p1');
    await env.eventually(async () => {
      const e = await get('web');
      return ips(e, 'addresses').length === 0 && ips(e, 'notReadyAddresses').join() === '10.42.0.2';
    }, 10_000, 'p1 and p3 gone');

    // Headless service without ports: addresses only, headless label.
    await services.create(NS, svc('web-headless', { clusterIP: 'None', ports: undefined }));
    const h = await env.eventually(async () => {
      const e = await get('web-headless');
      return ips(e, 'notReadyAddresses').join() === '10.42.0.2' ? e : undefined;
    }, 10_000, 'headless endpoints');
    assert.equal(h.metadata?.labels?.[HEADLESS_LABEL], '');
    assert.equal(h.subsets![0]!.ports, undefined);

    // A service without selector is left alone: the user's Endpoints stay.
    await services.create(NS, { ...svc('manual'), spec: { ports: [{ port: 80 }] } });
    await eps.create(NS, { metadata: { name: 'manual' }, subsets: [{ addresses: [{ ip: '192.168.1.1' }], ports: [{ port: 80 }] }] });
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(ips(await get('manual'), 'addresses'), ['192.168.1.1']);

    // Deleting the service deletes its Endpoints.
    await services.delete(NS, 'web');
    await env.eventually(async () => (await get('web')) === undefined, 10_000, 'endpoints deleted');
    // Deleting managed Endpoints while the service exists re-creates them.
    await eps.delete(NS, 'web-headless');
    await env.eventually(async () => ips(await get('web-headless'), 'notReadyAddresses').length === 1, 10_000, 'endpoints re-created');
  } finally {
    await env.close();
  }
});
