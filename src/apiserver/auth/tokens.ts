/**
 * Bound service-account tokens, as the TokenRequest API and the kubelet's projected volumes hand them out: RS256 JWTs
 * with upstream's claim layout, signed with the cluster's service-account key (`sa.key`). Built on node:crypto alone;
 * a JWT is only three base64url parts, so a library would add more than it saves.
 */

import { createHash, createPrivateKey, createPublicKey, randomUUID, sign, verify, type KeyObject } from 'node:crypto';
import type { Pki } from './pki.js';
import { rfc3339 } from '../../api/time.js';
import { LoneCallGate } from '../../util/lone-call.js';

/** The issuer (and default audience) upstream uses for in-cluster tokens with the default service DNS domain. */
export const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';

/** Upstream's floor for TokenRequest `expirationSeconds`: shorter lifetimes are rejected as invalid. */
export const MIN_EXPIRATION_SECONDS = 600;

/** Upstream's ceiling for `expirationSeconds` (2^32 seconds). */
export const MAX_EXPIRATION_SECONDS = 2 ** 32;

/** Lifetime when the request names none, as upstream's TokenRequest defaulting. */
export const DEFAULT_EXPIRATION_SECONDS = 3600;

/** Tolerated clock skew for `nbf`/`iat`, like the go-jose default upstream relies on. */
const LEEWAY_SECONDS = 60;

/** An object the token is bound to: the token dies with it (upstream checks the uid still matches). */
export interface BoundObjectRef {
  kind: 'Pod' | 'Secret' | 'Node';
  name: string;
  uid: string;
}

/** What to issue a token for, mirroring TokenRequest's spec plus the service account it is for. */
export interface ServiceAccountTokenRequest {
  namespace: string;
  name: string;
  uid: string;
  /** Defaults to {@link SERVICE_ACCOUNT_ISSUER}. */
  audiences?: string[];
  /** Defaults to 3600; below 600 (or above 2^32) throws a RangeError, which the API maps to 422. */
  expirationSeconds?: number;
  boundObject?: BoundObjectRef;
  /** For a pod-bound token, upstream also records the node the pod runs on. */
  node?: { name: string; uid: string };
  /** Clock override for tests. */
  now?: Date;
}

/** The claims of a service-account token, in upstream's names and shape. */
export interface ServiceAccountClaims {
  iss: string;
  sub: string;
  aud: string[];
  exp: number;
  iat: number;
  nbf: number;
  jti?: string;
  'kubernetes.io': {
    namespace: string;
    serviceaccount: { name: string; uid: string };
    pod?: { name: string; uid: string };
    secret?: { name: string; uid: string };
    node?: { name: string; uid: string };
  };
}

/** The TokenRequest status fields. */
export interface IssuedToken {
  token: string;
  /** RFC 3339 without fractional seconds, as Kubernetes serialises `metav1.Time`. */
  expirationTimestamp: string;
}

/**
 * Issues a bound service-account token. Throws RangeError for an out-of-range `expirationSeconds`, exactly where
 * upstream's TokenRequest validation fails.
 */
export function issueServiceAccountToken(
  pki: Pick<Pki, 'saPrivateKeyPem' | 'saPublicKeyPem'>,
  req: ServiceAccountTokenRequest,
): IssuedToken {
  const { signingInput, exp } = prepareToken(pki, req);
  const signature = sign('sha256', Buffer.from(signingInput), privateKeyOf(pki.saPrivateKeyPem));
  return finishToken(signingInput, exp, signature);
}

/**
 * {@link issueServiceAccountToken} with the RSA signature computed on the libuv thread pool, so a server issuing a
 * token per pod (TokenRequest from every kubelet) keeps its one event loop free for the ~0.5–1.5 ms a 2048-bit
 * signature costs. The token is byte-identical to the synchronous variant's for the same claims (RS256 =
 * RSASSA-PKCS1-v1_5, deterministic). Rejects with RangeError where the synchronous variant throws it.
 */
export function issueServiceAccountTokenAsync(
  pki: Pick<Pki, 'saPrivateKeyPem' | 'saPublicKeyPem'>,
  req: ServiceAccountTokenRequest,
): Promise<IssuedToken> {
  return new Promise((resolve, reject) => {
    const { signingInput, exp } = prepareToken(pki, req);
    sign('sha256', Buffer.from(signingInput), privateKeyOf(pki.saPrivateKeyPem), (err, signature) => {
      if (err) reject(err);
      else resolve(finishToken(signingInput, exp, signature));
    });
  });
}

/** Tokens issued within this many ms of the previous one are a burst (see {@link issueServiceAccountTokenAuto}). */
export const TOKEN_BURST_GAP_MS = 20;
const tokenGate = new LoneCallGate(TOKEN_BURST_GAP_MS);

/**
 * Signs on the event loop when tokens are asked for one at a time, on the thread pool in bursts. One pod starting
 * (measured: the signature took 0.5–1.0 ms from request to token this way against 1.2–1.8 ms on the pool): the ~0.4 ms
 * RS256 signature is shorter than a thread-pool round trip, which queues behind the node agent's file operations on
 * the same pool and then waits for a turn of the loop. Many pods starting (a token less than
 * {@link TOKEN_BURST_GAP_MS} after the previous one): signatures run in parallel off the loop. Same tokens either way;
 * RangeError is thrown (sync) or rejected (async) as by the variant used.
 */
export function issueServiceAccountTokenAuto(
  pki: Pick<Pki, 'saPrivateKeyPem' | 'saPublicKeyPem'>,
  req: ServiceAccountTokenRequest,
): IssuedToken | Promise<IssuedToken> {
  if (!tokenGate.lone()) return issueServiceAccountTokenAsync(pki, req);
  try {
    return issueServiceAccountToken(pki, req);
  } finally {
    tokenGate.ended(); // after the signature: the gap is the time the loop had free since
  }
}

/** Validates the lifetime and builds the JWT's `header.claims` part; throws RangeError as TokenRequest validation. */
function prepareToken(
  pki: Pick<Pki, 'saPublicKeyPem'>,
  req: ServiceAccountTokenRequest,
): { signingInput: string; exp: number } {
  const expirationSeconds = req.expirationSeconds ?? DEFAULT_EXPIRATION_SECONDS;
  if (!Number.isInteger(expirationSeconds) || expirationSeconds < MIN_EXPIRATION_SECONDS) {
    throw new RangeError('spec.expirationSeconds: Invalid value: may not specify a duration less than 10 minutes');
  }
  if (expirationSeconds > MAX_EXPIRATION_SECONDS) {
    throw new RangeError('spec.expirationSeconds: Invalid value: may not specify a duration larger than 2^32 seconds');
  }
  const iat = Math.floor((req.now ?? new Date()).getTime() / 1000);
  const exp = iat + expirationSeconds;
  const k8s: ServiceAccountClaims['kubernetes.io'] = {
    namespace: req.namespace,
    serviceaccount: { name: req.name, uid: req.uid },
  };
  const bound = req.boundObject;
  if (bound?.kind === 'Pod') {
    k8s.pod = { name: bound.name, uid: bound.uid };
    if (req.node) k8s.node = { ...req.node };
  } else if (bound?.kind === 'Secret') {
    k8s.secret = { name: bound.name, uid: bound.uid };
  } else if (bound?.kind === 'Node') {
    k8s.node = { name: bound.name, uid: bound.uid };
  }
  const claims: ServiceAccountClaims = {
    aud: req.audiences && req.audiences.length > 0 ? [...req.audiences] : [SERVICE_ACCOUNT_ISSUER],
    exp,
    iat,
    iss: SERVICE_ACCOUNT_ISSUER,
    jti: randomUUID(),
    'kubernetes.io': k8s,
    nbf: iat,
    sub: `system:serviceaccount:${req.namespace}:${req.name}`,
  };
  const header = { alg: 'RS256', kid: serviceAccountKeyId(pki.saPublicKeyPem) };
  return { signingInput: `${b64json(header)}.${b64json(claims)}`, exp };
}

function finishToken(signingInput: string, exp: number, signature: Buffer): IssuedToken {
  return {
    token: `${signingInput}.${signature.toString('base64url')}`,
    expirationTimestamp: rfc3339(exp * 1000),
  };
}

/**
 * Returns the claims of a token this cluster issued if its signature checks out, it is within its validity window
 * and one of its audiences is among `audiences` (default: the issuer); otherwise undefined. Never throws on garbage.
 */
export function verifyServiceAccountToken(
  pki: Pick<Pki, 'saPublicKeyPem'>,
  token: string,
  audiences: string[] = [SERVICE_ACCOUNT_ISSUER],
  now: Date = new Date(),
): ServiceAccountClaims | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const [h, p, s] = parts;
  let header: { alg?: unknown; kid?: unknown };
  let claims: ServiceAccountClaims;
  try {
    header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
    // Only RS256: accepting the header's choice of algorithm is the classic JWT forgery (`none`, HS256 with the
    // public key as secret).
    if (header?.alg !== 'RS256') return undefined;
    if (header.kid !== undefined && header.kid !== serviceAccountKeyId(pki.saPublicKeyPem)) return undefined;
    if (!verify('sha256', Buffer.from(`${h}.${p}`), publicKeyOf(pki.saPublicKeyPem), Buffer.from(s, 'base64url'))) {
      return undefined;
    }
    claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!claims || typeof claims !== 'object') return undefined;
  if (claims.iss !== SERVICE_ACCOUNT_ISSUER) return undefined;
  const nowS = Math.floor(now.getTime() / 1000);
  if (typeof claims.exp !== 'number' || nowS >= claims.exp) return undefined;
  if (typeof claims.nbf === 'number' && nowS + LEEWAY_SECONDS < claims.nbf) return undefined;
  if (typeof claims.iat === 'number' && nowS + LEEWAY_SECONDS < claims.iat) return undefined;
  // A single audience may be serialised as a plain string by other issuers; accept both like upstream.
  const aud = typeof claims.aud === 'string' ? [claims.aud] : claims.aud;
  if (!Array.isArray(aud) || !aud.some((a) => audiences.includes(a))) return undefined;
  const k8s = claims['kubernetes.io'];
  if (!k8s || typeof k8s.namespace !== 'string' || typeof k8s.serviceaccount?.name !== 'string') return undefined;
  if (claims.sub !== `system:serviceaccount:${k8s.namespace}:${k8s.serviceaccount.name}`) return undefined;
  return { ...claims, aud };
}

/**
 * The `kid` header upstream puts on service-account tokens: base64url(SHA-256(DER SubjectPublicKeyInfo)), so a
 * verifier holding several keys (e.g. during rotation, or via the OIDC JWKS document) can pick the right one.
 */
export function serviceAccountKeyId(publicKeyPem: string): string {
  let kid = kidCache.get(publicKeyPem);
  if (kid === undefined) {
    const der = publicKeyOf(publicKeyPem).export({ type: 'spki', format: 'der' });
    kid = createHash('sha256').update(der).digest('base64url');
    remember(kidCache, publicKeyPem, kid);
  }
  return kid;
}

// Parsing a PEM key costs far more than the signature check itself; keep the few keys a server ever uses.
const privateKeys = new Map<string, KeyObject>();
const publicKeys = new Map<string, KeyObject>();
const kidCache = new Map<string, string>();

function remember<V>(cache: Map<string, V>, key: string, value: V): void {
  if (cache.size >= 8) cache.delete(cache.keys().next().value as string);
  cache.set(key, value);
}

function privateKeyOf(pem: string): KeyObject {
  let k = privateKeys.get(pem);
  if (!k) remember(privateKeys, pem, (k = createPrivateKey(pem)));
  return k;
}

function publicKeyOf(pem: string): KeyObject {
  let k = publicKeys.get(pem);
  if (!k) remember(publicKeys, pem, (k = createPublicKey(pem)));
  return k;
}

function b64json(v: unknown): string {
  return Buffer.from(JSON.stringify(v)).toString('base64url');
}
