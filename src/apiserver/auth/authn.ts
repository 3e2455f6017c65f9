/**
 * Request authentication for the API server, in upstream's order: a verified client certificate first, then bearer
 * tokens (the admin token and other static tokens, then service-account JWTs). The HTTPS server is expected to run
 * with `requestCert: true, rejectUnauthorized: false, ca: [caCert]`, so TLS never fails on a missing or foreign
 * certificate and the decision is made here, where a token can still authenticate the request.
 */

import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Pki } from './pki.js';
import { SERVICE_ACCOUNT_ISSUER, verifyServiceAccountToken, type ServiceAccountClaims } from './tokens.js';

/** Who made a request, in the shape of upstream's `user.Info` (and of SubjectAccessReview/TokenReview). */
export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

/** Group every authenticated request carries, as upstream adds it. */
export const AUTHENTICATED_GROUP = 'system:authenticated';
/** The superuser group that authorization lets do anything. */
export const MASTERS_GROUP = 'system:masters';

/**
 * A store of static bearer tokens (admin token, node tokens, …). Tokens are kept only as SHA-256 digests and checked
 * with a constant-time comparison, so neither the map lookup nor the comparison leaks the secret through timing.
 */
export class StaticTokens {
  readonly #byDigest = new Map<string, { digest: Buffer; user: UserInfo }>();

  /** Registers (or replaces) a token for `user`. */
  add(token: string, user: UserInfo): void {
    if (token === '') throw new Error('empty bearer token');
    const digest = sha256(token);
    this.#byDigest.set(digest.toString('hex'), { digest, user: cloneUser(user) });
  }

  /** Forgets a token; true if it was registered. */
  remove(token: string): boolean {
    return this.#byDigest.delete(sha256(token).toString('hex'));
  }

  /** The user the token belongs to, or undefined. */
  lookup(token: string): UserInfo | undefined {
    const digest = sha256(token);
    const entry = this.#byDigest.get(digest.toString('hex'));
    if (!entry || !timingSafeEqual(entry.digest, digest)) return undefined;
    return cloneUser(entry.user);
  }
}

/** What {@link authenticate} consults. */
export interface AuthnContext {
  /** Static tokens, normally including the admin token (see {@link createAuthenticator}). */
  tokens: StaticTokens;
  /** Verifies service-account JWTs; omit to disable them. */
  saPublicKeyPem?: string;
  /** Accepted token audiences; defaults to the in-cluster issuer URL. */
  audiences?: string[];
  /**
   * Optional liveness check for a valid service-account token (upstream checks the service account, pod or secret
   * still exist with the same uid). Return false to reject. Must be synchronous: authentication runs inline.
   */
  validateServiceAccount?: (claims: ServiceAccountClaims) => boolean;
  /** Clock override for tests. */
  now?: () => Date;
}

/** Authenticates a request; undefined means anonymous/unauthenticated (the server answers 401 where required). */
export function authenticate(req: IncomingMessage, ctx: AuthnContext): UserInfo | undefined {
  return fromClientCertificate(req) ?? fromBearerToken(req, ctx);
}

/** The username and groups of a CA-verified client certificate: CN and O values, as upstream's x509 authenticator. */
export function fromClientCertificate(req: IncomingMessage): UserInfo | undefined {
  const socket = req.socket as Partial<TLSSocket>;
  if (socket.authorized !== true || typeof socket.getPeerCertificate !== 'function') return undefined;
  const peer = socket.getPeerCertificate();
  if (!peer || !peer.subject) return undefined;
  // Upstream requires the clientAuth usage; a server certificate signed by the same CA must not log anyone in.
  const eku = peer.ext_key_usage;
  if (Array.isArray(eku) && !eku.includes('1.3.6.1.5.5.7.3.2') && !eku.includes('2.5.29.37.0')) return undefined;
  const cn = asList(peer.subject.CN)[0];
  if (!cn) return undefined;
  const groups = asList(peer.subject.O);
  return { username: cn, groups: withAuthenticated(groups) };
}

/** Resolves `Authorization: Bearer …` against the static tokens and then as a service-account JWT. */
export function fromBearerToken(req: IncomingMessage, ctx: AuthnContext): UserInfo | undefined {
  const token = bearerToken(req);
  if (!token) return undefined;
  const staticUser = ctx.tokens.lookup(token);
  if (staticUser) return { ...staticUser, groups: withAuthenticated(staticUser.groups) };
  if (!ctx.saPublicKeyPem || token.split('.').length !== 3) return undefined;
  const claims = verifyServiceAccountToken(
    { saPublicKeyPem: ctx.saPublicKeyPem },
    token,
    ctx.audiences ?? [SERVICE_ACCOUNT_ISSUER],
    ctx.now?.() ?? new Date(),
  );
  if (!claims) return undefined;
  if (ctx.validateServiceAccount && !ctx.validateServiceAccount(claims)) return undefined;
  return serviceAccountUser(claims);
}

/** The user a service-account token stands for, with upstream's groups and `extra` keys. */
export function serviceAccountUser(claims: ServiceAccountClaims): UserInfo {
  const k8s = claims['kubernetes.io'];
  const ns = k8s.namespace;
  const extra: Record<string, string[]> = {};
  if (k8s.pod) {
    extra['authentication.kubernetes.io/pod-name'] = [k8s.pod.name];
    extra['authentication.kubernetes.io/pod-uid'] = [k8s.pod.uid];
  }
  if (k8s.node) {
    extra['authentication.kubernetes.io/node-name'] = [k8s.node.name];
    extra['authentication.kubernetes.io/node-uid'] = [k8s.node.uid];
  }
  if (claims.jti) extra['authentication.kubernetes.io/credential-id'] = [`JTI=${claims.jti}`];
  const user: UserInfo = {
    username: `system:serviceaccount:${ns}:${k8s.serviceaccount.name}`,
    uid: k8s.serviceaccount.uid,
    groups: ['system:serviceaccounts', `system:serviceaccounts:${ns}`, AUTHENTICATED_GROUP],
  };
  if (Object.keys(extra).length > 0) user.extra = extra;
  return user;
}

/** The token of an `Authorization: Bearer <token>` header (scheme case-insensitive), or undefined. */
export function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (!header) return undefined;
  const m = /^\s*bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1] : undefined;
}

/** An authenticator bound to a cluster's PKI: the admin token is pre-registered, more tokens can be added later. */
export interface Authenticator {
  authenticate(req: IncomingMessage): UserInfo | undefined;
  /** Registers a static token, e.g. a node agent's bootstrap token. */
  addToken(token: string, user: UserInfo): void;
  removeToken(token: string): boolean;
  readonly context: AuthnContext;
}

/** Builds the {@link Authenticator} `skiff server` uses, from its PKI. */
export function createAuthenticator(
  pki: Pick<Pki, 'adminToken' | 'saPublicKeyPem'>,
  opts: Omit<AuthnContext, 'tokens' | 'saPublicKeyPem'> = {},
): Authenticator {
  const tokens = new StaticTokens();
  tokens.add(pki.adminToken, { username: 'system:admin', groups: [MASTERS_GROUP] });
  const context: AuthnContext = { ...opts, tokens, saPublicKeyPem: pki.saPublicKeyPem };
  return {
    context,
    authenticate: (req) => authenticate(req, context),
    addToken: (token, user) => tokens.add(token, user),
    removeToken: (token) => tokens.remove(token),
  };
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

function asList(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

function withAuthenticated(groups: string[]): string[] {
  return groups.includes(AUTHENTICATED_GROUP) ? [...groups] : [...groups, AUTHENTICATED_GROUP];
}

function cloneUser(u: UserInfo): UserInfo {
  const c: UserInfo = { username: u.username, groups: [...u.groups] };
  if (u.uid !== undefined) c.uid = u.uid;
  if (u.extra) c.extra = Object.fromEntries(Object.entries(u.extra).map(([k, v]) => [k, [...v]]));
  return c;
}
