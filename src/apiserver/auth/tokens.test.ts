import assert from 'node:assert/strict';
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  SERVICE_ACCOUNT_ISSUER,
  issueServiceAccountToken,
  issueServiceAccountTokenAsync,
  issueServiceAccountTokenAuto,
  TOKEN_BURST_GAP_MS,
  serviceAccountKeyId,
  verifyServiceAccountToken,
} from './tokens.js';

function rsaKeys() {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { saPrivateKeyPem: privateKey, saPublicKeyPem: publicKey };
}

const keys = rsaKeys();
const sa = { namespace: 'team-a', name: 'builder', uid: '1111-2222' };

function decode(part: string): any {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}

describe('service-account tokens', () => {
  it('round-trips with upstream claims and a kid header', () => {
    const now = new Date('2030-01-01T00:00:00Z');
    const { token, expirationTimestamp } = issueServiceAccountToken(keys, { ...sa, now });
    assert.equal(expirationTimestamp, '2030-01-01T01:00:00Z');
    const [h, p] = token.split('.');
    const header = decode(h);
    assert.equal(header.alg, 'RS256');
    const spki = createPublicKey(keys.saPublicKeyPem).export({ type: 'spki', format: 'der' });
    assert.equal(header.kid, createHash('sha256').update(spki).digest('base64url'));
    assert.equal(header.kid, serviceAccountKeyId(keys.saPublicKeyPem));
    const payload = decode(p);
    assert.equal(payload.iss, SERVICE_ACCOUNT_ISSUER);
    assert.equal(payload.sub, 'system:serviceaccount:team-a:builder');
    assert.deepEqual(payload.aud, [SERVICE_ACCOUNT_ISSUER]);
    assert.equal(payload.iat, now.getTime() / 1000);
    assert.equal(payload.nbf, payload.iat);
    assert.equal(payload.exp, payload.iat + 3600);
    assert.deepEqual(payload['kubernetes.io'], {
      namespace: 'team-a',
      serviceaccount: { name: 'builder', uid: '1111-2222' },
    });
    const claims = verifyServiceAccountToken(keys, token, undefined, new Date('2030-01-01T00:30:00Z'));
    assert.ok(claims);
    assert.equal(claims.sub, 'system:serviceaccount:team-a:builder');
  });

  it('records a bound pod and custom audiences', () => {
    const { token } = issueServiceAccountToken(keys, {
      ...sa,
      audiences: ['vault', 'https://example.com'],
      expirationSeconds: 7200,
      boundObject: { kind: 'Pod', name: 'web-0', uid: 'pod-uid' },
      node: { name: 'n1', uid: 'node-uid' },
    });
    const payload = decode(token.split('.')[1]);
    assert.deepEqual(payload['kubernetes.io'].pod, { name: 'web-0', uid: 'pod-uid' });
    assert.deepEqual(payload['kubernetes.io'].node, { name: 'n1', uid: 'node-uid' });
    assert.equal(payload.exp - payload.iat, 7200);
    assert.equal(verifyServiceAccountToken(keys, token), undefined, 'default audience is not in the token');
    assert.ok(verifyServiceAccountToken(keys, token, ['vault']));
    assert.ok(verifyServiceAccountToken(keys, token, ['other', 'https://example.com']));
  });

  it('rejects tampered, expired, premature, foreign-key and malformed tokens', () => {
    const now = new Date('2030-01-01T00:00:00Z');
    const { token } = issueServiceAccountToken(keys, { ...sa, now });
    const [h, p, s] = token.split('.');
    const payload = decode(p);
    const forged = Buffer.from(JSON.stringify({ ...payload, sub: 'system:serviceaccount:kube-system:admin' })).toString(
      'base64url',
    );
    assert.equal(verifyServiceAccountToken(keys, `${h}.${forged}.${s}`, undefined, now), undefined);
    const badSig = s.slice(0, -4) + (s.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    assert.equal(verifyServiceAccountToken(keys, `${h}.${p}.${badSig}`, undefined, now), undefined);
    const none = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');
    assert.equal(verifyServiceAccountToken(keys, `${none}.${p}.`, undefined, now), undefined);
    // Expired: exactly at exp and later.
    assert.equal(verifyServiceAccountToken(keys, token, undefined, new Date(payload.exp * 1000)), undefined);
    assert.equal(verifyServiceAccountToken(keys, token, undefined, new Date('2031-01-01T00:00:00Z')), undefined);
    // Not yet valid (beyond the skew leeway).
    assert.equal(verifyServiceAccountToken(keys, token, undefined, new Date('2029-12-31T23:50:00Z')), undefined);
    assert.ok(verifyServiceAccountToken(keys, token, undefined, new Date('2029-12-31T23:59:30Z')));
    // Wrong audience.
    assert.equal(verifyServiceAccountToken(keys, token, ['api'], now), undefined);
    // Another cluster's key.
    assert.equal(verifyServiceAccountToken(rsaKeys(), token, undefined, now), undefined);
    for (const junk of ['', 'a.b', 'a.b.c', '...', 'x'.repeat(100), `${h}.${p}`]) {
      assert.equal(verifyServiceAccountToken(keys, junk, undefined, now), undefined);
    }
  });

  it('enforces the expirationSeconds bounds like upstream validation', () => {
    assert.throws(() => issueServiceAccountToken(keys, { ...sa, expirationSeconds: 599 }), RangeError);
    assert.throws(() => issueServiceAccountToken(keys, { ...sa, expirationSeconds: 2 ** 32 + 1 }), RangeError);
    const { token } = issueServiceAccountToken(keys, { ...sa, expirationSeconds: 600 });
    const payload = decode(token.split('.')[1]);
    assert.equal(payload.exp - payload.iat, 600);
  });

  it('signs off the event loop with byte-identical tokens (async variant)', async () => {
    const now = new Date('2030-01-01T00:00:00Z');
    const req = {
      ...sa,
      now,
      audiences: ['vault'],
      boundObject: { kind: 'Pod' as const, name: 'web-0', uid: 'pod-uid' },
      node: { name: 'n1', uid: 'node-uid' },
    };
    const a = await issueServiceAccountTokenAsync(keys, req);
    const s = issueServiceAccountToken(keys, req);
    assert.equal(a.expirationTimestamp, s.expirationTimestamp);
    const [ah, ap, asig] = a.token.split('.');
    const [sh, sp] = s.token.split('.');
    assert.equal(ah, sh);
    const { jti: aj, ...aClaims } = decode(ap);
    const { jti: sj, ...sClaims } = decode(sp);
    assert.deepEqual(aClaims, sClaims);
    assert.match(aj, /^[0-9a-f-]{36}$/);
    assert.notEqual(aj, sj);
    // RS256 is deterministic: the synchronous signer gives the same signature over the same input.
    const syncSig = sign('sha256', Buffer.from(`${ah}.${ap}`), createPrivateKey(keys.saPrivateKeyPem));
    assert.equal(asig, syncSig.toString('base64url'));
    assert.ok(verifyServiceAccountToken(keys, a.token, ['vault'], new Date('2030-01-01T00:10:00Z')));
    await assert.rejects(issueServiceAccountTokenAsync(keys, { ...sa, expirationSeconds: 599 }), RangeError);
    // Many at once: all valid, distinct jti.
    const many = await Promise.all(Array.from({ length: 8 }, () => issueServiceAccountTokenAsync(keys, sa)));
    assert.equal(new Set(many.map((t) => decode(t.token.split('.')[1]).jti)).size, 8);
    for (const t of many) assert.ok(verifyServiceAccountToken(keys, t.token));
  });

  it('auto variant: one token alone is signed synchronously, a burst on the thread pool; all valid', async () => {
    await new Promise((r) => setTimeout(r, TOKEN_BURST_GAP_MS + 5));
    const first = issueServiceAccountTokenAuto(keys, sa);
    assert.ok(!(first instanceof Promise), 'an isolated token is issued synchronously');
    const second = issueServiceAccountTokenAuto(keys, sa);
    assert.ok(second instanceof Promise, 'a token right after another goes to the thread pool');
    for (const t of [first, await second]) assert.ok(verifyServiceAccountToken(keys, (t as { token: string }).token));
    await new Promise((r) => setTimeout(r, TOKEN_BURST_GAP_MS + 5));
    assert.throws(() => issueServiceAccountTokenAuto(keys, { ...sa, expirationSeconds: 599 }), RangeError);
  });
});
