import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { DynamicClient } from '../client/dynamic.js';
import { startKubeletTestEnv, type KubeletTestEnv } from './testing.js';

// The kubelet side of in-cluster config: the kube-api-access-* volume the ServiceAccount admission plugin adds
// (bound token, kube-root-ca.crt, namespace) is written and mounted, and the pod waits while a source is missing.
const isRoot = process.getuid?.() === 0;
const SKIP = isRoot ? false : 'not root: mounts at /var/run/secrets/... need a mount namespace; service-account volume tests SKIPPED';
if (SKIP) console.warn(`SKIP: ${SKIP}`);

let k: KubeletTestEnv;
before(async () => {
  if (!SKIP) k = await startKubeletTestEnv();
});
after(async () => {
  await k?.close();
});

const DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
const pod = (name: string, spec: Partial<NonNullable<Pod['spec']>> & Pick<NonNullable<Pod['spec']>, 'containers'>): Pod => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { terminationGracePeriodSeconds: 1, restartPolicy: 'Never', ...spec },
});
const logOf = async (p: Pod) => {
  const [c] = await k.runtime.listContainers({ labelSelector: { 'io.kubernetes.pod.uid': p.metadata!.uid! } });
  return readFileSync(c!.logPath, 'utf8').split('\n').map((l) => l.replace(/^\S+ std(out|err) [FP] ?/, '')).join('\n');
};
const done = (name: string) => k.env.eventually(async () => {
  const p = await k.getPod(name);
  return (p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') && p;
}, 20_000, `${name} done`);
/**
 * The pod is Pending with its container waiting: `ContainerCreating` (upstream; the reason is then in a FailedMount
 * event) or `CreateContainerConfigError` with a message matching `why`.
 */
const waiting = (name: string, why: RegExp) => k.env.eventually(async () => {
  const p = await k.getPod(name);
  const w = p.status?.containerStatuses?.[0]?.state?.waiting;
  return p.status?.phase === 'Pending' && w && (w.reason === 'ContainerCreating' || why.test(w.message ?? '')) && w;
}, 20_000, `${name} waiting on ${why}`);

test('a pod reads its bound token, the cluster CA and its namespace, and the token authenticates', { skip: SKIP }, async () => {
  await k.createPod(pod('reader', { containers: [{ name: 'c', image: 'busybox', command: ['sh', '-c', `cat ${DIR}/namespace; echo; cat ${DIR}/ca.crt; cat ${DIR}/token`] }] }));
  const p = await done('reader');
  const vol = p.spec?.volumes?.find((v) => v.name.startsWith('kube-api-access-'));
  assert.ok(vol?.projected, 'admission added the projected volume');
  const log = await logOf(p);
  assert.equal(p.status?.phase, 'Succeeded', log);
  const lines = log.split('\n');
  assert.equal(lines[0], 'default');
  const ca = k.env.server.pki.caCertPem;
  assert.ok(log.includes(ca.trim().split('\n')[1]!), `ca.crt is the cluster CA:\n${log}`);
  const token = lines.find((l) => l.split('.').length === 3 && l.length > 100);
  assert.ok(token, `a JWT in the log:\n${log}`);
  // The apiserver accepts the token as the pod's ServiceAccount.
  const asPod = new DynamicClient({ server: k.env.server.url, ca, token }, { rateLimit: false });
  try {
    const list = await asPod.resource<Pod>('v1', 'Pod').list('default');
    assert.ok(list.items.some((x) => x.metadata?.name === 'reader'));
    const review = await asPod.resource('authentication.k8s.io/v1', 'SelfSubjectReview').create(undefined, { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview', metadata: {} }) as { status?: { userInfo?: { username?: string; extra?: Record<string, string[]> } } };
    assert.equal(review.status?.userInfo?.username, 'system:serviceaccount:default:default');
    assert.deepEqual(review.status?.userInfo?.extra?.['authentication.kubernetes.io/pod-name'], ['reader']);
  } finally {
    asPod.close();
  }
});

test('automountServiceAccountToken: false leaves the directory out', { skip: SKIP }, async () => {
  await k.createPod(pod('no-token', { automountServiceAccountToken: false, containers: [{ name: 'c', image: 'busybox', command: ['sh', '-c', `test -e ${DIR}/token && echo present || echo absent`] }] }));
  const p = await done('no-token');
  assert.equal(p.spec?.volumes?.length ?? 0, 0);
  assert.match(await logOf(p), /absent/);
});

test('a pod waits (not fails) while its ServiceAccount or a projected ConfigMap is missing, then starts', { skip: SKIP }, async () => {
  await k.createPod(pod('wait-sa', { serviceAccountName: 'later', containers: [{ name: 'c', image: 'busybox', command: ['sh', '-c', `cat ${DIR}/namespace`] }] }));
  const w = await waiting('wait-sa', /serviceaccounts "later" not found/);
  assert.ok(['ContainerCreating', 'CreateContainerConfigError'].includes(w.reason ?? ''), String(w.reason));
  await k.env.client.resource('v1', 'ServiceAccount').create('default', { metadata: { name: 'later' } });
  assert.equal((await done('wait-sa')).status?.phase, 'Succeeded');

  // The same path as a missing kube-root-ca.crt: a projected configMap source that does not exist yet.
  await k.createPod(pod('wait-cm', {
    volumes: [{ name: 'p', projected: { sources: [{ configMap: { name: 'later-ca', items: [{ key: 'ca.crt', path: 'ca.crt' }] } }] } }],
    containers: [{ name: 'c', image: 'busybox', command: ['sh', '-c', 'cat /p/ca.crt'], volumeMounts: [{ name: 'p', mountPath: '/p' }] }],
  }));
  await waiting('wait-cm', /configmap "later-ca" not found/);
  // As upstream (volumes before the sandbox): no sandbox — no pod IP, address or infra process — while it waits.
  const uid = (await k.getPod('wait-cm')).metadata!.uid!;
  const sandboxes = await k.runtime.listPodSandbox({ labelSelector: { 'io.kubernetes.pod.uid': uid } });
  assert.deepEqual(sandboxes.filter((s) => s.state === 'SANDBOX_READY'), []);
  assert.equal((await k.getPod('wait-cm')).status?.podIP, undefined);
  await k.env.client.resource('v1', 'ConfigMap').create('default', { metadata: { name: 'later-ca' }, data: { 'ca.crt': 'PEM' } });
  const p = await done('wait-cm');
  assert.equal(p.status?.phase, 'Succeeded');
  assert.match(await logOf(p), /PEM/);
});
