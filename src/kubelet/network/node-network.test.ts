import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type { Node } from 'kubernetes-types/core/v1.js';
import { startControllerTestEnv, type ControllerTestEnv } from '../../controllers/testing.js';
import { recordingLogger } from '../../client/log.js';
import { chainNames, cleanupNodeNetwork, NodeNetwork } from './node-network.js';

const isRoot = process.getuid?.() === 0;
let tools = true;
try {
  execFileSync('sh', ['-c', 'command -v ip && command -v iptables'], { stdio: 'ignore' });
} catch {
  tools = false;
}
const skip = !isRoot ? 'NEEDS ROOT (routes, iptables)' : !tools ? 'NEEDS ip and iptables' : undefined;
if (skip) console.warn(`SKIP (node network): ${skip}`);

describe('node network: podCIDR, host-gw routes, masquerade, NetworkUnavailable', { skip }, () => {
  const tag = randomBytes(2).toString('hex');
  const bridge = `sktnn${tag}`;
  const dummy = `sktnd${tag}`;
  const x = Math.floor(Math.random() * 200) + 20;
  const clusterCIDR = '10.203.0.0/16';
  let env: ControllerTestEnv;
  let dir = '';
  let nn: NodeNetwork | undefined;
  const nodes = () => env.client.resource<Node>('v1', 'Node');

  before(async () => {
    env = await startControllerTestEnv();
    dir = mkdtempSync(join(tmpdir(), 'skiff-nodenet-'));
    // A reachable "other node" address: a spare bridge link with 10.204.x.1/24; the peer node claims 10.204.x.2.
    execFileSync('ip', ['link', 'add', dummy, 'type', 'bridge']);
    execFileSync('ip', ['addr', 'add', `10.204.${x}.1/24`, 'dev', dummy]);
    execFileSync('ip', ['link', 'set', dummy, 'up']);
  });
  after(async () => {
    await nn?.stop();
    await cleanupNodeNetwork({ bridgeName: bridge, dataDir: join(dir, 'network') });
    try {
      execFileSync('ip', ['link', 'del', dummy]);
    } catch {
      /* never created */
    }
    rmSync(dir, { recursive: true, force: true });
    await env.close();
    const left = [execFileSync('ip', ['route']).toString(), execFileSync('iptables-save').toString()].join('\n').split('\n')
      .filter((l) => l.includes(`10.203.${x}.`) || l.toUpperCase().includes(bridge.toUpperCase()));
    assert.deepEqual(left, [], 'routes or rules left behind');
  });

  test('waits for the podCIDR, routes to peers, marks the network ready, cleans up', async () => {
    await nodes().create(undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name: `self-${tag}` } });
    const log = recordingLogger();
    let seen = '';
    nn = new NodeNetwork({
      client: env.client, nodeName: `self-${tag}`, nodeIP: '192.0.2.250', bridgeName: bridge, clusterCIDR, dataDir: join(dir, 'network'), log,
      onPodCIDR: (c) => (seen = c),
    });
    await nn.start();
    const { masq, fwd } = chainNames(bridge);
    assert.match(execFileSync('iptables', ['-t', 'nat', '-S', 'POSTROUTING']).toString(), new RegExp(`-s ${clusterCIDR.replace('.', '\\.')} .*-j ${masq}`));
    assert.match(execFileSync('iptables', ['-t', 'nat', '-S', masq]).toString(), /MASQUERADE/);
    assert.match(execFileSync('iptables', ['-S', 'FORWARD']).toString(), new RegExp(`-j ${fwd}`));

    assert.equal(await nn.waitForPodCIDR(50), undefined);
    const waiting = nn.waitForPodCIDR(10_000);
    await nodes().patch(undefined, `self-${tag}`, 'merge', { spec: { podCIDR: `10.203.${x}.0/24`, podCIDRs: [`10.203.${x}.0/24`] } });
    assert.equal(await waiting, `10.203.${x}.0/24`);
    assert.equal(seen, `10.203.${x}.0/24`);

    // A peer node: its podCIDR is routed via its InternalIP.
    await nodes().create(undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name: `peer-${tag}` }, spec: { podCIDR: `10.203.${x + 1}.0/24` } });
    await nodes().patch(undefined, `peer-${tag}`, 'merge', { status: { addresses: [{ type: 'InternalIP', address: `10.204.${x}.2` }] } }, { subresource: 'status' });
    const route = () => execFileSync('ip', ['route', 'show', `10.203.${x + 1}.0/24`]).toString();
    await env.eventually(() => route().includes(`via 10.204.${x}.2`), 10_000, 'route to the peer');

    await nn.markNetworkReady();
    const cond = (await nodes().get(undefined, `self-${tag}`)).status?.conditions?.find((c) => c.type === 'NetworkUnavailable');
    assert.equal(cond?.status, 'False');

    // Peer gone: route removed.
    await nodes().delete(undefined, `peer-${tag}`);
    await env.eventually(() => route() === '', 10_000, 'route removal');

    // Routes survive restart bookkeeping and cleanup removes them with the rules.
    await nodes().create(undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name: `peer2-${tag}` }, spec: { podCIDR: `10.203.${x + 2}.0/24` } });
    await nodes().patch(undefined, `peer2-${tag}`, 'merge', { status: { addresses: [{ type: 'InternalIP', address: `10.204.${x}.3` }] } }, { subresource: 'status' });
    await env.eventually(() => execFileSync('ip', ['route', 'show', `10.203.${x + 2}.0/24`]).toString().includes('via'), 10_000, 'route to peer2');
    await nn.stop();
    nn = undefined;
    await cleanupNodeNetwork({ bridgeName: bridge, dataDir: join(dir, 'network') });
    assert.equal(execFileSync('ip', ['route', 'show', `10.203.${x + 2}.0/24`]).toString(), '');
    assert.doesNotMatch(execFileSync('iptables-save').toString(), new RegExp(masq));
  });
});
