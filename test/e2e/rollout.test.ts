/**
 * Deployments end to end: the real kubectl drives `skiff server`'s ReplicaSet and Deployment controllers through
 * create, rollout status, scale, set image, history, undo, restart, pause and resume. No node agent runs: a testing
 * kubelet in this process marks pods Running+Ready. If the server's controller-manager does not run the
 * `replicaset` and `deployment` controllers yet, this test runs them in-process against the server.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DynamicClient } from '../../src/client/dynamic.js';
import { loadKubeconfig } from '../../src/client/config.js';
import type { Logger } from '../../src/client/log.js';
import { ALL_CONTROLLERS, ControllerManager } from '../../src/controllers/index.js';
import { definition as replicaset } from '../../src/controllers/replicaset/index.js';
import { definition as deployment } from '../../src/controllers/deployment/index.js';
import { startTestingKubelet, type TestingKubelet } from '../../src/controllers/replicaset/testing-kubelet.js';
import { cleanup, NO_KUBECTL, startServer, type TestServer } from './harness.js';

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const serverRunsThem = ['replicaset', 'deployment'].every((n) => ALL_CONTROLLERS.some((c) => c.name === n));

describe('kubectl rollout against skiff server', { skip: NO_KUBECTL }, () => {
  let s: TestServer;
  let client: DynamicClient;
  let manager: ControllerManager | undefined;
  let kubelet: TestingKubelet;

  const rollout = async () => {
    const out = await s.k(['rollout', 'status', 'deploy/web', '--timeout=30s']);
    assert.match(out, /deployment "web" successfully rolled out/);
  };
  const image = async () => s.k(['get', 'deploy/web', '-o', 'jsonpath={.spec.template.spec.containers[0].image}']);
  const rsCount = async () => (await s.k(['get', 'rs', '-l', 'app=web', '-o', 'name'])).trim().split('\n').filter(Boolean).length;

  before(async () => {
    s = await startServer({ extraArgs: ['--disable-agent', ...(serverRunsThem ? [] : ['--disable-controller-manager'])] });
    client = new DynamicClient(loadKubeconfig(s.kubeconfig), { rateLimit: false });
    if (!serverRunsThem) {
      manager = new ControllerManager({ client, controllers: [replicaset, deployment], leaderElection: false, logger: () => quiet });
      manager.start();
    }
    kubelet = await startTestingKubelet(client);
  });
  after(async () => {
    await kubelet?.stop();
    await manager?.stop();
    client?.close();
    await cleanup(s);
  });

  test('create, rollout status, scale', async () => {
    await s.k(['create', 'deployment', 'web', '--image=nginx', '--replicas=3']);
    await rollout();
    const out = await s.k(['get', 'deploy/web']);
    assert.match(out, /^web\s+3\/3\s+3\s+3\s/m);
    const pods = await s.k(['get', 'pods', '-l', 'app=web', '-o', 'name']);
    assert.equal(pods.trim().split('\n').length, 3);
    assert.match(pods, /^pod\/web-[bcdfghjklmnpqrstvwxz2456789]+-[bcdfghjklmnpqrstvwxz2456789]{5}$/m);
    await s.k(['scale', 'deploy/web', '--replicas=5']);
    await rollout();
    assert.match(await s.k(['get', 'deploy/web']), /^web\s+5\/5\s+5\s+5\s/m);
    const describe = await s.k(['describe', 'deploy/web']);
    assert.match(describe, /ScalingReplicaSet\s+.*Scaled up replica set web-\S+ from 0 to 3/);
    assert.match(describe, /NewReplicaSetAvailable/);
  });

  test('set image, history, undo', async () => {
    await s.k(['set', 'image', 'deploy/web', 'nginx=nginx:2']);
    await rollout();
    assert.equal(await image(), 'nginx:2');
    const hist = await s.k(['rollout', 'history', 'deploy/web']);
    assert.match(hist, /^1\s/m);
    assert.match(hist, /^2\s/m);
    assert.match(await s.k(['rollout', 'history', 'deploy/web', '--revision=2']), /nginx:2/);
    await s.k(['rollout', 'undo', 'deploy/web']);
    await rollout();
    assert.equal(await image(), 'nginx');
    assert.match(await s.k(['rollout', 'history', 'deploy/web']), /^3\s/m);
    assert.equal(await rsCount(), 2, 'undo reuses the revision-1 ReplicaSet');
  });

  test('restart, pause and resume', async () => {
    await s.k(['rollout', 'restart', 'deploy/web']);
    await rollout();
    assert.match(await s.k(['get', 'deploy/web', '-o', 'jsonpath={.spec.template.metadata.annotations}']), /kubectl.kubernetes.io\/restartedAt/);
    assert.equal(await rsCount(), 3);
    await s.k(['rollout', 'pause', 'deploy/web']);
    await s.k(['set', 'image', 'deploy/web', 'nginx=nginx:3']);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(await rsCount(), 3, 'no rollout while paused');
    await s.k(['rollout', 'resume', 'deploy/web']);
    await rollout();
    assert.equal(await rsCount(), 4);
    const rs = await s.k(['get', 'rs', '-l', 'app=web', '-o', 'jsonpath={range .items[*]}{.spec.template.spec.containers[0].image}={.spec.replicas}{"\\n"}{end}']);
    assert.match(rs, /^nginx:3=5$/m);
  });
});
