/**
 * Jobs end to end with the real kubectl: `kubectl create job` runs to completion, an Indexed Job completes, a Job
 * whose Pods fail hits its backoffLimit, and `kubectl describe job` shows the controller's events. The server runs
 * without its own controller-manager; this process runs one with the Job controller (short failure backoff) plus a
 * fake kubelet that exits each Pod with the code in its `exit N` command.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { DynamicClient } from '../../src/client/dynamic.js';
import { loadKubeconfig } from '../../src/client/config.js';
import type { Logger } from '../../src/client/log.js';
import { ControllerManager } from '../../src/controllers/manager.js';
import { createJobController } from '../../src/controllers/job/index.js';
import { startFakeKubelet, type FakeKubelet } from '../../src/controllers/job/testing.js';
import { cleanup, NO_KUBECTL, startServer, TestServer } from './harness.js';

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };
let s: TestServer;
let client: DynamicClient;
let manager: ControllerManager;
let kubelet: FakeKubelet;

before(async () => {
  if (NO_KUBECTL) return;
  s = await startServer({ extraArgs: ['--disable-controller-manager'] });
  client = new DynamicClient(loadKubeconfig(s.kubeconfig), { rateLimit: false });
  manager = new ControllerManager({ client, controllers: [createJobController({ backoffBaseMs: 50, backoffMaxMs: 200 })], leaderElection: false, logger: () => quiet });
  manager.start();
  kubelet = startFakeKubelet(client);
});

after(async () => {
  await kubelet?.stop();
  await manager?.stop();
  client?.close();
  await cleanup(s);
});

test('kubectl create job runs to completion', { skip: NO_KUBECTL }, async () => {
  await s.k(['create', 'job', 'hello', '--image=busybox', '--', 'sh', '-c', 'echo hi']);
  await s.k(['wait', '--for=condition=complete', 'job/hello', '--timeout=20s']);
  const out = await s.k(['get', 'job', 'hello', '-o', 'jsonpath={.status.succeeded}/{.status.active}']);
  assert.equal(out, '1/0');
  const table = await s.k(['get', 'job', 'hello']);
  assert.match(table, /hello\s+Complete\s+1\/1/);
});

test('an Indexed Job completes with every index', { skip: NO_KUBECTL }, async () => {
  const manifest = JSON.stringify({
    apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'indexed' },
    spec: {
      completions: 3, parallelism: 2, completionMode: 'Indexed',
      template: { spec: { restartPolicy: 'Never', containers: [{ name: 'w', image: 'busybox', command: ['sh', '-c', 'echo $JOB_COMPLETION_INDEX'] }] } },
    },
  });
  await s.k(['apply', '-f', '-'], { input: manifest });
  await s.k(['wait', '--for=condition=complete', 'job/indexed', '--timeout=20s']);
  assert.equal(await s.k(['get', 'job', 'indexed', '-o', 'jsonpath={.status.completedIndexes}']), '0-2');
  const idx = await s.k(['get', 'pods', '-l', 'batch.kubernetes.io/job-name=indexed', '-o', "jsonpath={.items[*].metadata.labels['batch\\.kubernetes\\.io/job-completion-index']}"]);
  assert.deepEqual(idx.split(' ').sort(), ['0', '1', '2']);
});

test('a Job whose pods fail hits its backoffLimit; describe shows the events', { skip: NO_KUBECTL }, async () => {
  const manifest = JSON.stringify({
    apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'doomed' },
    spec: { backoffLimit: 1, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox', command: ['sh', '-c', 'exit 3'] }] } } },
  });
  await s.k(['apply', '-f', '-'], { input: manifest });
  await s.k(['wait', '--for=condition=failed', 'job/doomed', '--timeout=20s']);
  assert.equal(await s.k(['get', 'job', 'doomed', '-o', 'jsonpath={.status.failed}']), '2');
  let desc = '';
  const deadline = Date.now() + 10_000;
  while (!/BackoffLimitExceeded/.test(desc) && Date.now() < deadline) {
    desc = await s.k(['describe', 'job', 'doomed']);
    if (!/Warning\s+BackoffLimitExceeded/.test(desc)) await new Promise((r) => setTimeout(r, 200));
  }
  assert.match(desc, /Normal\s+SuccessfulCreate\s+\S+\s+job-controller\s+Created pod: doomed-/);
  assert.match(desc, /Warning\s+BackoffLimitExceeded\s+\S+\s+job-controller\s+Job has reached the specified backoff limit/);
  assert.match(desc, /Pods Statuses:\s+0 Active \(0 Ready\) \/ 0 Succeeded \/ 2 Failed/);
});
