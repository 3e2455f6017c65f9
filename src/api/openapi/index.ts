/**
 * OpenAPI as kube-apiserver 1.32 serves it to kubectl: the v3 discovery root, one document per group-version
 * (serialized once, lazily, and addressed by a content hash), kube-openapi handler3's caching protocol, and the
 * Swagger 2.0 document at /openapi/v2 (JSON or gnostic protobuf, see v2.ts). Also re-exports schema-based field
 * validation (KEP-2885).
 */
import { createHash } from 'node:crypto';
import { buildGroupVersionDocument, groupVersionKeys } from './document.js';
import { handleOpenapiV2, type OpenapiRequestHeaders } from './v2.js';

export { groupVersionKey, groupVersionKeys, buildGroupVersionDocument } from './document.js';
export {
  checkFieldTypes,
  findUnknownFields,
  findUnknownFieldsForDefinition,
  typeErrorBadRequestMessage,
  type FieldTypeError,
  strictDecodingMessage,
  strictDecodingBadRequestMessage,
  unknownFieldMessage,
  unknownFieldWarnings,
} from './field-validation.js';
export { allSchemas, definitionForKind, type Schema, type GroupVersionKind } from './schemas.js';
export {
  buildOpenapiV2Document,
  encodeOpenapiV2Protobuf,
  handleOpenapiV2,
  openapiV2DocumentType,
  OPENAPI_V2_PROTOBUF,
  OPENAPI_V2_PROTOBUF_DEPRECATED,
  type OpenapiRequestHeaders,
} from './v2.js';

/** A serialized group-version document and its hash (kube-openapi: upper-case hex SHA-512 of the JSON bytes). */
export interface OpenapiDoc {
  json: Buffer;
  etag: string;
}

const docs = new Map<string, OpenapiDoc | null>();
let rootJson: Buffer | undefined;

/** The document for `api/v1`, `apis/apps/v1`, ...; undefined when no served resource has that group-version. */
export function openapiV3Doc(key: string): OpenapiDoc | undefined {
  let d = docs.get(key);
  if (d === undefined) {
    const doc = buildGroupVersionDocument(key);
    if (doc) {
      const json = Buffer.from(JSON.stringify(doc));
      d = { json, etag: createHash('sha512').update(json).digest('hex').toUpperCase() };
    } else {
      d = null;
    }
    docs.set(key, d);
  }
  return d ?? undefined;
}

/** `/openapi/v3/<key>?hash=<etag>`: the URL the root advertises and hash mismatches redirect to. */
function serverRelativeURL(key: string, etag: string): string {
  return `/openapi/v3/${key}?hash=${etag}`;
}

/** The `/openapi/v3` discovery document: every served group-version with the hash-pinned URL of its document. */
export function openapiV3Root(): { paths: Record<string, { serverRelativeURL: string }> } {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const key of groupVersionKeys()) {
    const d = openapiV3Doc(key);
    if (d) paths[key] = { serverRelativeURL: serverRelativeURL(key, d.etag) };
  }
  return { paths };
}

/** An HTTP answer for the server to write as is. */
export interface OpenapiResponse {
  status: number;
  headers: Record<string, string>;
  body?: Buffer;
}

const notFound = (): OpenapiResponse => ({
  status: 404,
  headers: { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' },
  body: Buffer.from('404 page not found\n'),
});

/**
 * Serves `/openapi/v3`, `/openapi/v3/<gv>` and `/openapi/v2` as kube-openapi's handlers would:
 * - `/openapi/v2` → handleOpenapiV2 (JSON or protobuf by Accept, ETag/304, gzip);
 * - `/openapi/v3` → the root JSON;
 * - `/openapi/v3/<gv>` → the document with a quoted `ETag`; with `?hash=` that is stale → 301 to the current URL
 *   (kubectl follows it); with the current hash → also `Cache-Control: public, immutable` and `Expires` a year out;
 *   `If-None-Match` matching the ETag → 304;
 * - unknown group-version and any other path → 404.
 */
export function handleOpenapi(path: string, query: URLSearchParams, requestHeaders: OpenapiRequestHeaders = {}): OpenapiResponse {
  const p = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  if (path === '/openapi/v2') return handleOpenapiV2(requestHeaders);
  if (p === '/openapi/v3') {
    rootJson ??= Buffer.from(JSON.stringify(openapiV3Root()));
    return { status: 200, headers: { 'Content-Type': 'application/json' }, body: rootJson };
  }
  if (!p.startsWith('/openapi/v3/')) return notFound();
  const key = p.slice('/openapi/v3/'.length);
  const doc = openapiV3Doc(key);
  if (!doc) return notFound();
  const hash = query.get('hash');
  if (hash && hash !== doc.etag) {
    return { status: 301, headers: { Location: serverRelativeURL(key, doc.etag), 'Content-Type': 'text/html; charset=utf-8' } };
  }
  const etag = `"${doc.etag}"`;
  const headers: Record<string, string> = { 'Content-Type': 'application/json', ETag: etag, Vary: 'Accept' };
  if (hash) {
    headers['Cache-Control'] = 'public, immutable';
    const expires = new Date();
    expires.setUTCFullYear(expires.getUTCFullYear() + 1);
    headers.Expires = expires.toUTCString();
  }
  const inm = requestHeaders.ifNoneMatch;
  if (inm && inm.split(',').some((t) => t.trim() === etag || t.trim() === '*')) {
    return { status: 304, headers };
  }
  return { status: 200, headers, body: doc.json };
}

/** True for request paths handleOpenapi answers (so the server can route `/openapi/...` to it). */
export function isOpenapiPath(path: string): boolean {
  return path === '/openapi/v2' || path === '/openapi/v3' || path.startsWith('/openapi/');
}
