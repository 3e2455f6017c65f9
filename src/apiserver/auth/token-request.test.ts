import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, test } from 'node:test';
import { startTestApiserver, type TestApiserver } from '../testing.js';
import { issueServiceAccountTokenAsync, verifyServiceAccountToken } from './tokens.js';

// The TokenRequest API (serviceaccounts/token) with the asynchronous signer, as `skiff server` wires it: the answer,
// the token's claims and the 422 for an out-of-range lifetime are as with the synchronous one.
const { privateKey, publicKey } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});
const pki = { saPrivateKeyPem: privateKey, saPublicKeyPem: publicKey };

let api: TestApiserver;
before(async () => {
  api = await startTestApiserver({
    issueToken: (t) => issueServiceAccountTokenAsync(pki, { ...t, boundObject: t.boundObject as never }),
  });
});
after(() => api.close());

test('serviceaccounts/token with the async signer: bound token, defaults, 422 on bad lifetimes', async () => {
  const sa = await api.request('POST', '/api/v1/namespaces/default/serviceaccounts', {
    body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'builder' } },
  });
  assert.equal(sa.status, 201, sa.text);
  const path = '/api/v1/namespaces/default/serviceaccounts/builder/token';
  const r = await api.request('POST', path, {
    body: {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { audiences: ['vault'], expirationSeconds: 7200, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: 'web-0', uid: 'pod-uid' } },
    },
  });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.kind, 'TokenRequest');
  assert.deepEqual(r.body.spec.audiences, ['vault']);
  assert.equal(r.body.spec.expirationSeconds, 7200);
  const claims = verifyServiceAccountToken(pki, r.body.status.token, ['vault']);
  assert.ok(claims, 'the token verifies');
  assert.equal(claims.sub, 'system:serviceaccount:default:builder');
  assert.equal(claims['kubernetes.io'].serviceaccount.uid, sa.body.metadata.uid);
  assert.deepEqual(claims['kubernetes.io'].pod, { name: 'web-0', uid: 'pod-uid' });
  assert.equal(claims.exp - claims.iat, 7200);
  assert.equal(r.body.status.expirationTimestamp, new Date(claims.exp * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'));

  const d = await api.request('POST', path, { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {} } });
  assert.equal(d.status, 201, d.text);
  const dc = verifyServiceAccountToken(pki, d.body.status.token);
  assert.ok(dc);
  assert.equal(dc.exp - dc.iat, 3600);

  // Too long: the signer's RangeError (a rejected promise now) is still the 422 upstream's validation gives.
  const tooLong = await api.request('POST', path, {
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 2 ** 32 + 1 } },
  });
  assert.equal(tooLong.status, 422, tooLong.text);
  assert.equal(tooLong.body.reason, 'Invalid');
  assert.match(tooLong.body.message, /larger than 2\^32 seconds/);
  const tooShort = await api.request('POST', path, {
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 599 } },
  });
  assert.equal(tooShort.status, 422, tooShort.text);

  // Concurrent requests are all answered with distinct valid tokens.
  const many = await Promise.all(Array.from({ length: 10 }, () => api.request('POST', path, { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {} } })));
  const ids = new Set(many.map((m) => {
    assert.equal(m.status, 201, m.text);
    return verifyServiceAccountToken(pki, m.body.status.token)!.jti;
  }));
  assert.equal(ids.size, 10);
});
