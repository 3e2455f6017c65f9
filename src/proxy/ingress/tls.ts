/**
 * TLS for the Ingress HTTPS port: one `SecureContext` per `spec.tls` host, chosen by SNI (exact host, then a
 * wildcard host covering it), built from the `kubernetes.io/tls` Secret (`tls.crt`, `tls.key`) in the Ingress's
 * namespace. Unknown server names — and hosts whose Secret is missing or broken — get the controller's self-signed
 * default certificate, as ingress-nginx serves its "Fake Certificate". Contexts are cached per Secret
 * resourceVersion, so a Secret update takes effect on the next handshake.
 */

import tls, { type SecureContext } from 'node:tls';
import type { Secret } from 'kubernetes-types/core/v1.js';
import type { TlsBinding } from './routes.js';

/** A usable context, or why the Secret could not be used. */
export type ContextResult = { ok: true; context: SecureContext } | { ok: false; reason: string };

/** Builds a context from a TLS Secret (base64 `data` or plain `stringData`), without throwing. */
export function contextFromSecret(secret: Secret | undefined, ref: TlsBinding): ContextResult {
  const id = `${ref.namespace}/${ref.secretName}`;
  if (!secret) return { ok: false, reason: `secret ${id} not found` };
  const field = (k: string) =>
    secret.data?.[k] !== undefined ? Buffer.from(secret.data[k]!, 'base64').toString('utf8') : secret.stringData?.[k];
  const cert = field('tls.crt');
  const key = field('tls.key');
  if (!cert || !key) return { ok: false, reason: `secret ${id} lacks tls.crt or tls.key` };
  try {
    return { ok: true, context: tls.createSecureContext({ cert, key }) };
  } catch (err) {
    return { ok: false, reason: `secret ${id} holds an unusable key pair: ${(err as Error).message}` };
  }
}

/** Caches contexts by Secret identity and resourceVersion; see the module comment. */
export class ContextCache {
  private readonly cache = new Map<string, { version: string; result: ContextResult }>();

  /** The context for `ref`, rebuilding it only when the Secret's resourceVersion changed. */
  get(ref: TlsBinding, secret: Secret | undefined): ContextResult {
    const id = `${ref.namespace}/${ref.secretName}`;
    const version = secret ? `${secret.metadata?.uid ?? ''}@${secret.metadata?.resourceVersion ?? ''}` : '';
    const hit = this.cache.get(id);
    if (hit && hit.version === version && version) return hit.result;
    const result = contextFromSecret(secret, ref);
    if (version) this.cache.set(id, { version, result });
    else this.cache.delete(id);
    return result;
  }

  /** Drops entries for Secrets no binding references any more. */
  retain(ids: Set<string>): void {
    for (const k of this.cache.keys()) if (!ids.has(k)) this.cache.delete(k);
  }
}
