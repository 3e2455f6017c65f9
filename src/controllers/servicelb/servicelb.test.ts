import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Node, Service } from 'kubernetes-types/core/v1.js';
import { startControllerTestEnv, type ControllerTestEnv } from '../testing.js';
import { definition, ingressFor } from './index.js';

const node = (name: string, ip: string, ready = true, labels?: Record<string, string>): Node => ({
  apiVersion: 'v1', kind: 'Node', metadata: { name, ...(labels ? { labels } : {}) },
  status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }], addresses: [{ type: 'InternalIP', address: ip }, { type: 'Hostname', address: name }] },
});

describe('ingressFor', () => {
  const cases: Array<{ name: string; nodes: Node[]; want: string[] }> = [
    { name: 'no nodes', nodes: [], want: [] },
    { name: 'ready nodes, sorted', nodes: [node('b', '10.0.0.2'), node('a', '10.0.0.1')], want: ['10.0.0.1', '10.0.0.2'] },
    { name: 'not-ready nodes are left out', nodes: [node('a', '10.0.0.1', false), node('b', '10.0.0.2')], want: ['10.0.0.2'] },
    { name: 'excluded nodes are left out', nodes: [node('a', '10.0.0.1', true, { 'node.kubernetes.io/exclude-from-external-load-balancers': '' })], want: [] },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.deepEqual(ingressFor(c.nodes), c.want.map((ip) => ({ ip, ipMode: 'VIP' })));
    });
  }
});

describe('service-lb controller', () => {
  let env: ControllerTestEnv;
  before(async () => {
    env = await startControllerTestEnv();
    await env.run([definition]);
  });
  after(async () => { await env.close(); });

  const nodes = () => env.client.resource<Node>('v1', 'Node');
  const svcs = () => env.client.resource<Service>('v1', 'Service');
  const ingressIPs = async (name: string) => ((await svcs().get('default', name)).status?.loadBalancer?.ingress ?? []).map((i) => i.ip).join(',');

  test('LoadBalancer Services follow the ready nodes and are cleared when the type changes', async () => {
    await nodes().create(undefined, node('lb-n1', '192.0.2.1'));
    const created = await svcs().create('default', { metadata: { name: 'lb' }, spec: { type: 'LoadBalancer', selector: { app: 'x' }, ports: [{ port: 80 }] } });
    assert.ok(created.spec?.ports?.[0].nodePort, 'the apiserver allocated a node port');
    await env.eventually(async () => (await ingressIPs('lb')) === '192.0.2.1', 10_000, 'first node address');
    const st = (await svcs().get('default', 'lb')).status?.loadBalancer?.ingress?.[0];
    assert.equal(st?.ipMode, 'VIP');

    await nodes().create(undefined, node('lb-n2', '192.0.2.2'));
    await env.eventually(async () => (await ingressIPs('lb')) === '192.0.2.1,192.0.2.2', 10_000, 'second node address');

    const n1 = await nodes().get(undefined, 'lb-n1');
    n1.status!.conditions = [{ type: 'Ready', status: 'False' }];
    await nodes().updateStatus(undefined, n1);
    await env.eventually(async () => (await ingressIPs('lb')) === '192.0.2.2', 10_000, 'not-ready node removed');

    // Another implementation's class is left alone.
    await svcs().create('default', { metadata: { name: 'other' }, spec: { type: 'LoadBalancer', loadBalancerClass: 'example.com/lb', selector: { app: 'x' }, ports: [{ port: 80 }] } });

    await svcs().patch('default', 'lb', 'merge', { spec: { type: 'ClusterIP' } });
    await env.eventually(async () => (await ingressIPs('lb')) === '', 10_000, 'status cleared');
    assert.equal(await ingressIPs('other'), '');
  });
});
