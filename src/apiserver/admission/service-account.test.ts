import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApiserver, type TestApiserver } from '../testing.js';
import { admissionChain } from './index.js';
import { SERVICE_ACCOUNT_MOUNT_PATH, ServiceAccountAdmission, tokenVolumeSource } from './service-account.js';

let api: TestApiserver;
let chained: TestApiserver;
const PODS = '/api/v1/namespaces/default/pods';
const SAS = '/api/v1/namespaces/default/serviceaccounts';
const VOL = 'kube-api-access-abcde';
const MOUNT = { name: VOL, readOnly: true, mountPath: SERVICE_ACCOUNT_MOUNT_PATH };

before(async () => {
  // The plugin alone with a fixed name suffix (exact comparisons), and the whole chain (registration, random suffix).
  api = await startTestApiserver();
  const plugin = new ServiceAccountAdmission(api.core, () => 'abcde');
  api.core.admitCreate = (ctx, obj) => plugin.admitCreate(ctx.info, obj);
  chained = await startTestApiserver();
  chained.core.admitCreate = admissionChain(chained.core);
  for (const sa of [
    { metadata: { name: 'no-mount' }, automountServiceAccountToken: false },
    { metadata: { name: 'mounts' }, automountServiceAccountToken: true },
    { metadata: { name: 'puller' }, imagePullSecrets: [{ name: 'reg' }] },
  ]) {
    const r = await api.request('POST', SAS, { body: { apiVersion: 'v1', kind: 'ServiceAccount', ...sa } });
    assert.equal(r.status, 201, r.text);
  }
});
after(async () => {
  await api.close();
  await chained.close();
});

const c = (name: string, extra: Record<string, unknown> = {}) => ({ name, image: 'busybox', ...extra });
const pod = (name: string, spec: Record<string, unknown> = {}, annotations?: Record<string, string>) => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name, ...(annotations ? { annotations } : {}) }, spec: { containers: [c('c')], ...spec },
});
type Spec = { serviceAccountName?: string; serviceAccount?: string; volumes?: Array<{ name: string; projected?: unknown }>; imagePullSecrets?: unknown;
  containers: Array<{ name: string; volumeMounts?: unknown[] }>; initContainers?: Array<{ name: string; volumeMounts?: unknown[] }> };

test('pod create: defaults, opt-outs, existing mounts and init containers as upstream', async () => {
  const own = { name: 'mine', mountPath: SERVICE_ACCOUNT_MOUNT_PATH };
  const cases: Array<{ name: string; spec?: Record<string, unknown>; annotations?: Record<string, string>; wantSA: string; wantVolume: boolean; wantMounts?: Record<string, unknown[] | undefined> }> = [
    { name: 'defaults', wantSA: 'default', wantVolume: true, wantMounts: { c: [MOUNT] } },
    { name: 'deprecated-field', spec: { serviceAccount: 'mounts' }, wantSA: 'mounts', wantVolume: true },
    { name: 'sa-opts-out', spec: { serviceAccountName: 'no-mount' }, wantSA: 'no-mount', wantVolume: false, wantMounts: { c: undefined } },
    { name: 'pod-overrides-sa', spec: { serviceAccountName: 'no-mount', automountServiceAccountToken: true }, wantSA: 'no-mount', wantVolume: true },
    { name: 'pod-opts-out', spec: { serviceAccountName: 'mounts', automountServiceAccountToken: false }, wantSA: 'mounts', wantVolume: false },
    { name: 'missing-sa-admitted', spec: { serviceAccountName: 'nobody' }, wantSA: 'nobody', wantVolume: true },
    {
      name: 'init-and-sidecar',
      spec: { initContainers: [c('init'), c('side', { restartPolicy: 'Always' })], containers: [c('a'), c('b')] },
      wantSA: 'default', wantVolume: true, wantMounts: { init: [MOUNT], side: [MOUNT], a: [MOUNT], b: [MOUNT] },
    },
    {
      name: 'existing-mount-kept',
      spec: { volumes: [{ name: 'mine', emptyDir: {} }], containers: [c('a', { volumeMounts: [own] }), c('b', { volumeMounts: [{ name: 'mine', mountPath: '/data' }] })] },
      wantSA: 'default', wantVolume: true,
      wantMounts: { a: [own], b: [{ name: 'mine', mountPath: '/data' }, MOUNT] },
    },
    { name: 'all-mounted-already', spec: { volumes: [{ name: 'mine', emptyDir: {} }], containers: [c('a', { volumeMounts: [own] })] }, wantSA: 'default', wantVolume: false, wantMounts: { a: [own] } },
    { name: 'mirror', annotations: { 'kubernetes.io/config.mirror': 'x' }, wantSA: '', wantVolume: false, wantMounts: { c: undefined } },
  ];
  for (const tc of cases) {
    const r = await api.request('POST', PODS, { body: pod(tc.name, tc.spec, tc.annotations) });
    assert.equal(r.status, 201, `${tc.name}: ${r.text}`);
    const spec = r.body.spec as Spec;
    assert.equal(spec.serviceAccountName ?? '', tc.wantSA, tc.name);
    assert.equal(spec.serviceAccount ?? '', tc.wantSA, `${tc.name}: deprecated serviceAccount mirrors the name`);
    const vol = spec.volumes?.find((v) => v.name === VOL);
    assert.equal(!!vol, tc.wantVolume, `${tc.name}: volume`);
    if (vol) assert.deepEqual(vol.projected, tokenVolumeSource(), tc.name);
    for (const [cname, want] of Object.entries(tc.wantMounts ?? {})) {
      const got = [...(spec.initContainers ?? []), ...spec.containers].find((x) => x.name === cname)?.volumeMounts;
      assert.deepEqual(got, want, `${tc.name}: mounts of ${cname}`);
    }
  }
});

test('the injected volume is exactly upstream TokenVolumeSource', () => {
  assert.deepEqual(tokenVolumeSource(), {
    defaultMode: 420,
    sources: [
      { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
      { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
      { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
    ],
  });
});

test('an existing kube-api-access volume is reused, not duplicated', async () => {
  const r = await api.request('POST', PODS, { body: pod('reuse', { volumes: [{ name: 'kube-api-access-zzzzz', projected: tokenVolumeSource() }] }) });
  assert.equal(r.status, 201, r.text);
  const spec = r.body.spec as Spec;
  assert.deepEqual(spec.volumes?.map((v) => v.name), ['kube-api-access-zzzzz']);
  assert.deepEqual(spec.containers[0]!.volumeMounts, [{ ...MOUNT, name: 'kube-api-access-zzzzz' }]);
});

test('imagePullSecrets come from the ServiceAccount unless the pod names some', async () => {
  const a = await api.request('POST', PODS, { body: pod('pull-from-sa', { serviceAccountName: 'puller' }) });
  assert.deepEqual(a.body.spec.imagePullSecrets, [{ name: 'reg' }]);
  const b = await api.request('POST', PODS, { body: pod('pull-own', { serviceAccountName: 'puller', imagePullSecrets: [{ name: 'own' }] }) });
  assert.deepEqual(b.body.spec.imagePullSecrets, [{ name: 'own' }]);
});

test('the admission chain runs the plugin: random kube-api-access-<5> name, only for pods', async () => {
  const r = await chained.request('POST', PODS, { body: pod('chained') });
  assert.equal(r.status, 201, r.text);
  const spec = r.body.spec as Spec;
  assert.equal(spec.serviceAccountName, 'default');
  assert.equal(spec.volumes?.length, 1);
  assert.match(spec.volumes![0]!.name, /^kube-api-access-[a-z0-9]{5}$/);
  assert.equal((spec.containers[0]!.volumeMounts![0] as { name: string }).name, spec.volumes![0]!.name);
  const cm = await chained.request('POST', '/api/v1/namespaces/default/configmaps', { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, data: { a: 'b' } } });
  assert.equal(cm.status, 201);
  assert.deepEqual(cm.body.data, { a: 'b' });
});

test('ServiceAccount changes after the cache is warm are seen by the next pod create', async () => {
  const mounted = async (podName: string, sa: string): Promise<boolean> => {
    const r = await api.request('POST', PODS, { body: pod(podName, { serviceAccountName: sa }) });
    assert.equal(r.status, 201, r.text);
    return !!(r.body.spec as Spec).volumes?.some((v) => v.name === VOL);
  };
  assert.equal(await mounted('late-0', 'late'), true, 'a missing account admits with the defaults');
  const created = await api.request('POST', SAS, { body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'late' }, automountServiceAccountToken: false } });
  assert.equal(created.status, 201, created.text);
  assert.equal(await mounted('late-1', 'late'), false, 'an account created a moment ago is found');
  const updated = await api.request('PUT', `${SAS}/late`, { body: { ...created.body, automountServiceAccountToken: true, imagePullSecrets: [{ name: 'late-reg' }] } });
  assert.equal(updated.status, 200, updated.text);
  const r = await api.request('POST', PODS, { body: pod('late-2', { serviceAccountName: 'late' }) });
  assert.equal((r.body.spec as Spec).volumes?.some((v) => v.name === VOL), true, 'an update is seen');
  assert.deepEqual(r.body.spec.imagePullSecrets, [{ name: 'late-reg' }]);
  await api.request('PUT', `${SAS}/late`, { body: { ...updated.body, automountServiceAccountToken: false } });
  const deleted = await api.request('DELETE', `${SAS}/late`);
  assert.equal(deleted.status, 200, deleted.text);
  assert.equal(await mounted('late-3', 'late'), true, 'a deleted account is gone');
});
