/**
 * Content negotiation as kube-apiserver does it: the Accept header picks JSON, YAML, protobuf, a server-side Table
 * (`application/json;as=Table;v=v1;g=meta.k8s.io`), PartialObjectMetadata, or aggregated discovery
 * (`application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList`). Request bodies are JSON, YAML or
 * protobuf (the `k8s\0` envelope), and anything else is 415.
 */
import YAML from 'yaml';
import { ApiError, errors } from '../api/errors.js';

export interface MediaRange {
  type: string; // e.g. application/json
  params: Record<string, string>;
}

export function parseAccept(header: string | undefined): MediaRange[] {
  if (!header) return [{ type: '*/*', params: {} }];
  const out: MediaRange[] = [];
  for (const part of header.split(',')) {
    const [type, ...params] = part.split(';').map((s) => s.trim());
    if (!type) continue;
    const p: Record<string, string> = {};
    for (const kv of params) {
      const i = kv.indexOf('=');
      if (i > 0) p[kv.slice(0, i).trim().toLowerCase()] = kv.slice(i + 1).trim();
    }
    out.push({ type: type.toLowerCase(), params: p });
  }
  return out;
}

export type OutputFormat = 'json' | 'yaml' | 'protobuf';
export type OutputShape = 'object' | 'table' | 'partial';

export interface Negotiated {
  format: OutputFormat;
  shape: OutputShape;
  /** The Table/PartialObjectMetadata API version the client asked for (v1 or v1beta1). */
  metaVersion: string;
}

const JSONISH = new Set(['application/json', '*/*', 'application/*']);

/**
 * Picks the response representation. The first acceptable media range wins, as upstream. `as=Table` and
 * `as=PartialObjectMetadata[List]` are honoured for resource reads; unknown `as=` values are skipped.
 */
export function negotiate(accept: string | undefined, opts: { allowTable: boolean; allowProtobuf: boolean }): Negotiated {
  // Clients send the same few Accept headers on every request: remember the answers (the result is shared, so
  // read-only; failures are not remembered and throw each time).
  const cache = NEGOTIATED[(opts.allowTable ? 2 : 0) + (opts.allowProtobuf ? 1 : 0)]!;
  const key = accept ?? '';
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  const out = Object.freeze(negotiateUncached(accept, opts));
  if (cache.size >= NEGOTIATED_MAX) cache.clear();
  cache.set(key, out);
  return out;
}

/** Remembered negotiation results per (allowTable, allowProtobuf), by Accept header; bounded, cleared when full. */
const NEGOTIATED: Array<Map<string, Negotiated>> = [new Map(), new Map(), new Map(), new Map()];
const NEGOTIATED_MAX = 256;

function negotiateUncached(accept: string | undefined, opts: { allowTable: boolean; allowProtobuf: boolean }): Negotiated {
  const ranges = parseAccept(accept);
  for (const r of ranges) {
    const as = r.params['as'];
    if (as) {
      if (r.params['g'] !== 'meta.k8s.io') continue;
      const metaVersion = r.params['v'] ?? 'v1';
      if (metaVersion !== 'v1' && metaVersion !== 'v1beta1') continue;
      if (as === 'Table' && opts.allowTable) {
        if (r.type === 'application/json' || r.type === 'application/yaml') return { format: r.type === 'application/yaml' ? 'yaml' : 'json', shape: 'table', metaVersion };
        continue;
      }
      if ((as === 'PartialObjectMetadata' || as === 'PartialObjectMetadataList') && opts.allowTable) {
        if (r.type === 'application/json') return { format: 'json', shape: 'partial', metaVersion };
        continue;
      }
      continue;
    }
    if (JSONISH.has(r.type)) return { format: 'json', shape: 'object', metaVersion: 'v1' };
    if (r.type === 'application/yaml') return { format: 'yaml', shape: 'object', metaVersion: 'v1' };
    if (r.type === 'application/vnd.kubernetes.protobuf') {
      if (opts.allowProtobuf) return { format: 'protobuf', shape: 'object', metaVersion: 'v1' };
      continue;
    }
  }
  // Fall back to JSON like upstream does for clients that accept only protobuf on non-protobuf kinds.
  if (ranges.some((r) => r.type === 'application/vnd.kubernetes.protobuf')) return { format: 'json', shape: 'object', metaVersion: 'v1' };
  throw errors.notAcceptable(`only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf`);
}

/** Maximum request body, as kube-apiserver's MaxRequestBodyBytes (3 MiB). */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;
/** JSON nesting deeper than this is refused with 400 (kube uses 10000 for JSON; objects never get near 100). */
export const MAX_DEPTH = 1000;

/** Iteratively checks nesting depth so recursive code later (validation, patching) cannot overflow the stack. */
export function checkDepth(value: unknown, max = MAX_DEPTH): void {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (d > max) throw errors.badRequest(`the request body is nested deeper than the maximum of ${max} levels`);
    // Only containers are pushed: scalars (most values) cost no tuple.
    if (Array.isArray(v)) {
      for (const x of v) if (x !== null && typeof x === 'object') stack.push([x, d + 1]);
    } else {
      for (const k in v as Record<string, unknown>) {
        const x = (v as Record<string, unknown>)[k];
        if (x !== null && typeof x === 'object') stack.push([x, d + 1]);
      }
    }
  }
}

export function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0].trim().toLowerCase();
}

/** Parses a JSON or YAML request body into a plain object (not an array or scalar). */
export function parseJsonOrYaml(body: Buffer, type: string): Record<string, unknown> {
  let value: unknown;
  const text = body.toString('utf8');
  if (type === 'application/yaml' || type === 'application/apply-patch+yaml') {
    try {
      const docs = YAML.parseAllDocuments(text);
      if (docs.length !== 1) throw new Error(docs.length === 0 ? 'empty document' : 'multiple YAML documents in one request');
      if (docs[0].errors.length) throw docs[0].errors[0];
      value = docs[0].toJS({ maxAliasCount: 100 });
    } catch (e) {
      if (e instanceof ApiError) throw e;
      throw errors.badRequest(`error converting YAML to JSON: ${(e as Error).message.split('\n')[0]}`);
    }
  } else {
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw errors.badRequest(`the request body could not be decoded: ${(e as Error).message}`);
    }
  }
  // Each JSON nesting level takes two characters, so a short JSON text cannot be too deep (YAML can: aliases).
  if (type === 'application/yaml' || type === 'application/apply-patch+yaml' || text.length > 2 * MAX_DEPTH) checkDepth(value);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw errors.badRequest(`the request body must be a JSON object, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`);
  }
  return value as Record<string, unknown>;
}
