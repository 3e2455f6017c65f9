import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConfigMap, Pod } from 'kubernetes-types/core/v1.js';
import { errors } from '../api/errors.js';
import type { DynamicClient } from '../client/dynamic.js';
import { ObjectSource, SHARED_READ_TTL_MS } from './env.js';
import { PodVolumes, VolumeSetupError } from './volumes.js';

// PodVolumes without an apiserver: a stub client serving ConfigMaps and TokenRequests from memory.
const dir = mkdtempSync(join(tmpdir(), 'skiff-volumes-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function stubClient(cms: Map<string, ConfigMap>, tokens: string[]): DynamicClient {
  return {
    resource: (_v: string, kind: string) => ({
      get: async (_ns: string, name: string) => {
        const cm = kind === 'ConfigMap' ? cms.get(name) : undefined;
        if (!cm) throw errors.notFound(kind.toLowerCase(), '', name);
        return structuredClone(cm);
      },
      createSubresource: async () => {
        tokens.push('t');
        return { status: { token: `token-${tokens.length}`, expirationTimestamp: new Date(Date.now() + 3600_000).toISOString() } };
      },
    }),
  } as unknown as DynamicClient;
}

const ctx = { nodeName: 'n1', podIP: '10.42.0.5', hostIP: '192.0.2.1' };
const pod = (volumes: NonNullable<Pod['spec']>['volumes']): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', namespace: 'default', uid: 'u1', labels: { app: 'x' } },
  spec: { containers: [{ name: 'c', image: 'busybox' }], volumes },
});
const files = (d: string) => readdirSync(d, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath ?? e.path, e.name).slice(d.length + 1)).sort();
const modeOf = (p: string) => statSync(p).mode & 0o777;
const settle = () => new Promise((r) => setTimeout(r, SHARED_READ_TTL_MS + 20));

test('projected and configMap volumes are written, refreshed (stale files removed, modes exact) and torn down', async () => {
  const cms = new Map<string, ConfigMap>([
    ['kube-root-ca.crt', { metadata: { name: 'kube-root-ca.crt' }, data: { 'ca.crt': 'CA1' } }],
    ['cfg', { metadata: { name: 'cfg' }, data: { a: '1', b: '2' } }],
  ]);
  const tokens: string[] = [];
  const client = stubClient(cms, tokens);
  const podDir = join(dir, 'pods', 'u1');
  const v = new PodVolumes(podDir, client, false);
  const p = pod([
    {
      name: 'kube-api-access-abcde',
      projected: {
        defaultMode: 0o644,
        sources: [
          { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
          { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
          { downwardAPI: { items: [{ path: 'namespace', fieldRef: { fieldPath: 'metadata.namespace' } }] } },
        ],
      },
    },
    { name: 'cfg', configMap: { name: 'cfg', defaultMode: 0o600, items: [{ key: 'a', path: 'sub/a' }, { key: 'b', path: 'b', mode: 0o640 }] } },
    { name: 'scratch', emptyDir: {} },
  ]);
  await v.setup(p, ctx, new ObjectSource(client, 'default'));
  const kaa = v.paths.get('kube-api-access-abcde')!;
  assert.equal(kaa, join(podDir, 'volumes', 'kubernetes.io~projected', 'kube-api-access-abcde'));
  assert.deepEqual(files(kaa), ['ca.crt', 'namespace', 'token']);
  assert.equal(readFileSync(join(kaa, 'token'), 'utf8'), 'token-1');
  assert.equal(readFileSync(join(kaa, 'ca.crt'), 'utf8'), 'CA1');
  assert.equal(readFileSync(join(kaa, 'namespace'), 'utf8'), 'default');
  assert.equal(modeOf(join(kaa, 'token')), 0o644);
  const cfg = v.paths.get('cfg')!;
  assert.deepEqual(files(cfg), ['b', 'sub/a']);
  assert.equal(modeOf(join(cfg, 'sub/a')), 0o600);
  assert.equal(modeOf(join(cfg, 'b')), 0o640);
  assert.ok(statSync(v.paths.get('scratch')!).isDirectory());

  // Refresh: changed content is rewritten, files no longer projected go, a changed mode is applied; the cached
  // token is reused.
  cms.set('kube-root-ca.crt', { metadata: { name: 'kube-root-ca.crt' }, data: { 'ca.crt': 'CA2' } });
  writeFileSync(join(kaa, 'stale'), 'x');
  await settle();
  const p2 = structuredClone(p);
  p2.spec!.volumes![1]!.configMap!.items = [{ key: 'a', path: 'sub/a', mode: 0o644 }];
  await v.setup(p2, ctx, new ObjectSource(client, 'default'));
  assert.deepEqual(files(kaa), ['ca.crt', 'namespace', 'token']);
  assert.equal(readFileSync(join(kaa, 'ca.crt'), 'utf8'), 'CA2');
  assert.equal(tokens.length, 1, 'token reused until 80% of its lifetime');
  assert.deepEqual(files(cfg), ['sub/a']);
  assert.equal(modeOf(join(cfg, 'sub/a')), 0o644);

  await v.teardown();
  assert.equal(existsSync(podDir), false);
});

test('the first volume in spec order that cannot be set up is the one reported', async () => {
  const client = stubClient(new Map([['ok', { metadata: { name: 'ok' }, data: { k: 'v' } }]]), []);
  const v = new PodVolumes(join(dir, 'pods', 'u2'), client, false);
  const p = pod([
    { name: 'good', configMap: { name: 'ok' } },
    { name: 'first-missing', configMap: { name: 'nope-1' } },
    { name: 'second-missing', configMap: { name: 'nope-2' } },
  ]);
  await assert.rejects(v.setup(p, ctx, new ObjectSource(client, 'default')), (e: unknown) => {
    assert.ok(e instanceof VolumeSetupError);
    assert.equal(e.eventMessage, 'MountVolume.SetUp failed for volume "first-missing" : configmap "nope-1" not found');
    return true;
  });
  // An optional missing ConfigMap is an empty volume.
  const p2 = pod([{ name: 'opt', configMap: { name: 'nope-3', optional: true } }]);
  await v.setup(p2, ctx, new ObjectSource(client, 'default'));
  assert.deepEqual(files(v.paths.get('opt')!), []);
  await v.teardown();
});
