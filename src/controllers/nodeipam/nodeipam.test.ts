import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Node } from 'kubernetes-types/core/v1.js';
import { startControllerTestEnv, type ControllerTestEnv } from '../testing.js';
import { CidrSet, nodeIpamDefinition } from './nodeipam.js';
import { cidrContains, firstHost, parseCidr, parseIPv4, formatIPv4 } from '../../api/cidr.js';

describe('cidr helpers', () => {
  test('parse/format and containment', () => {
    assert.equal(formatIPv4(parseIPv4('10.42.3.7')), '10.42.3.7');
    assert.throws(() => parseIPv4('10.42.3'), /invalid IPv4/);
    assert.throws(() => parseCidr('10.42.0.1/16'), /host bits/);
    assert.throws(() => parseCidr('10.42.0.0/33'), /invalid CIDR/);
    assert.equal(cidrContains(parseCidr('10.42.0.0/16'), '10.42.255.1'), true);
    assert.equal(cidrContains(parseCidr('10.42.0.0/16'), '10.43.0.1'), false);
    assert.equal(firstHost(parseCidr('10.42.7.0/24')), '10.42.7.1');
  });
  test('CidrSet allocates round-robin, occupies and releases', () => {
    const s = new CidrSet('10.42.0.0/22', 24);
    assert.equal(s.size, 4);
    assert.equal(s.occupy('10.42.1.0/24'), true);
    assert.equal(s.occupy('10.43.1.0/24'), false);
    assert.equal(s.occupy('10.42.1.0/25'), false);
    assert.deepEqual([s.allocateNext(), s.allocateNext(), s.allocateNext(), s.allocateNext()], ['10.42.0.0/24', '10.42.2.0/24', '10.42.3.0/24', undefined]);
    s.release('10.42.2.0/24');
    assert.equal(s.allocateNext(), '10.42.2.0/24');
    assert.throws(() => new CidrSet('10.42.0.0/16', 8), /does not fit/);
  });
});

describe('nodeipam controller against an apiserver', () => {
  let env: ControllerTestEnv;
  const nodes = () => env.client.resource<Node>('v1', 'Node');
  const cidrOf = async (name: string) => env.eventually(async () => (await nodes().get(undefined, name)).spec?.podCIDR, 10_000, `podCIDR of ${name}`);

  before(async () => {
    env = await startControllerTestEnv();
  });
  after(async () => {
    await env?.close();
  });

  test('allocates distinct /24s, repairs from existing nodes, releases on delete', async () => {
    // A node that already carries a subnet before the controller starts (repair must keep it out of the pool).
    await nodes().create(undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'pre' }, spec: { podCIDR: '10.200.0.0/24', podCIDRs: ['10.200.0.0/24'] } });
    for (const n of ['a', 'b']) await nodes().create(undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name: n } });
    await env.run([nodeIpamDefinition({ clusterCIDR: '10.200.0.0/22' })]);
    const a = await cidrOf('a');
    const b = await cidrOf('b');
    assert.notEqual(a, b);
    for (const c of [a, b]) {
      assert.ok(cidrContains(parseCidr('10.200.0.0/22'), c.split('/')[0]!), c);
      assert.notEqual(c, '10.200.0.0/24');
      assert.match(c, /\/24$/);
    }
    const an = await nodes().get(undefined, 'a');
    assert.deepEqual(an.spec?.podCIDRs, [a]);
    // Stable: a status/label update does not change it.
    await nodes().patch(undefined, 'a', 'merge', { metadata: { labels: { x: 'y' } } });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal((await nodes().get(undefined, 'a')).spec?.podCIDR, a);
    // The pool has 4 subnets: pre, a, b and one more; a fifth node waits until one is released.
    await nodes().create(undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'c' } });
    const c = await cidrOf('c');
    assert.equal(new Set(['10.200.0.0/24', a, b, c]).size, 4);
    await nodes().create(undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'd' } });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await nodes().get(undefined, 'd')).spec?.podCIDR, undefined);
    await nodes().delete(undefined, 'b');
    // d is retried (30 s requeue) — nudge it with an update so the test stays fast.
    await env.eventually(async () => {
      await nodes().patch(undefined, 'd', 'merge', { metadata: { labels: { nudge: String(Date.now()) } } });
      return (await nodes().get(undefined, 'd')).spec?.podCIDR === b;
    }, 10_000, 'd gets the released subnet');
  });
});
