import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConfigMap, Namespace } from 'kubernetes-types/core/v1.js';
import { startControllerTestEnv, type ControllerTestEnv } from '../testing.js';
import { DESCRIPTION, DESCRIPTION_ANNOTATION, ROOT_CA_CONFIGMAP, definition } from './index.js';

const CA = '-----BEGIN CERTIFICATE-----\nTEST-CA\n-----END CERTIFICATE-----\n';

describe('root-ca-cert-publisher', () => {
  let env: ControllerTestEnv;
  before(async () => {
    env = await startControllerTestEnv();
    await env.run([definition], { rootCACertPem: CA });
  });
  after(async () => { await env.close(); });

  const cms = () => env.client.resource<ConfigMap>('v1', 'ConfigMap');
  const nss = () => env.client.resource<Namespace>('v1', 'Namespace');
  const tryGet = (ns: string) => cms().get(ns, ROOT_CA_CONFIGMAP).catch(() => undefined);
  const published = async (ns: string) => {
    const cm = await tryGet(ns);
    return cm?.data?.['ca.crt'] === CA && Object.keys(cm.data ?? {}).length === 1 && cm.metadata?.annotations?.[DESCRIPTION_ANNOTATION] === DESCRIPTION ? cm : undefined;
  };

  test('the system namespaces and new namespaces get kube-root-ca.crt with the CA and upstream annotation', async () => {
    for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) await env.eventually(() => published(ns), 10_000, `kube-root-ca.crt in ${ns}`);
    await nss().create(undefined, { metadata: { name: 'ca-a' } });
    const cm = await env.eventually(() => published('ca-a'), 10_000, 'kube-root-ca.crt in ca-a');
    assert.match(DESCRIPTION, /^Contains a CA bundle that can be used to verify the kube-apiserver/);
    assert.deepEqual(cm.data, { 'ca.crt': CA });
  });

  test('a deleted ConfigMap is re-created', async () => {
    await nss().create(undefined, { metadata: { name: 'ca-b' } });
    const first = await env.eventually(() => published('ca-b'), 10_000, 'kube-root-ca.crt in ca-b');
    await cms().delete('ca-b', ROOT_CA_CONFIGMAP);
    await env.eventually(async () => (await published('ca-b'))?.metadata?.uid !== first.metadata?.uid && (await published('ca-b')), 10_000, 're-created');
  });

  test('edited data and a dropped annotation are repaired; other metadata stays', async () => {
    await nss().create(undefined, { metadata: { name: 'ca-c' } });
    await env.eventually(() => published('ca-c'), 10_000, 'kube-root-ca.crt in ca-c');
    await cms().patch('ca-c', ROOT_CA_CONFIGMAP, 'merge', { metadata: { labels: { team: 'x' }, annotations: { [DESCRIPTION_ANNOTATION]: null, other: 'kept' } }, data: { 'ca.crt': 'tampered', extra: 'y' } });
    const fixed = await env.eventually(() => published('ca-c'), 10_000, 'repaired');
    assert.equal(fixed.metadata?.labels?.team, 'x');
    assert.equal(fixed.metadata?.annotations?.other, 'kept');
  });

  test('a terminating namespace gets none', async () => {
    // No namespace controller runs here, so the deleted namespace stays Terminating (its `kubernetes` finalizer).
    await nss().create(undefined, { metadata: { name: 'ca-d' } });
    await env.eventually(() => published('ca-d'), 10_000, 'kube-root-ca.crt in ca-d');
    await nss().delete(undefined, 'ca-d');
    await env.eventually(async () => (await nss().get(undefined, 'ca-d')).status?.phase === 'Terminating', 10_000, 'ca-d terminating');
    await cms().delete('ca-d', ROOT_CA_CONFIGMAP);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await tryGet('ca-d'), undefined);
  });
});

describe('root-ca-cert-publisher without a configured CA', () => {
  test('falls back to the CA the manager client trusts (upstream: the client config CAData)', async () => {
    const env = await startControllerTestEnv();
    try {
      await env.run([definition]);
      const cm = await env.eventually(() => env.client.resource<ConfigMap>('v1', 'ConfigMap').get('default', ROOT_CA_CONFIGMAP).catch(() => undefined), 10_000, 'kube-root-ca.crt');
      assert.equal(cm.data?.['ca.crt'], env.server.pki.caCertPem);
    } finally {
      await env.close();
    }
  });
});
