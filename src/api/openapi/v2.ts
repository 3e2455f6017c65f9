/**
 * `/openapi/v2`: the Swagger 2.0 document kube-apiserver 1.32 still serves next to OpenAPI v3. kubectl reads it, in
 * protobuf form (gnostic's `openapi_v2.Document`), for client-side validation of `kind: List` documents (the v3
 * field-validation check answers "unsupported" for List, so each item is validated against the v2 definitions),
 * for strategic merge patches computed by client-side `kubectl apply`, and kubectl ≤ 1.27 needs it for `apply`.
 *
 * The document is derived from the per-group-version v3 documents (document.ts), so paths, operations and schemas
 * are described once: operations get v2 parameters (request bodies become `in: body` parameters, parameter schemas
 * are inlined), responses carry a single schema, and schemas are rewritten to v2 (`#/definitions/` references, the
 * single-`allOf` reference wrappers flattened, v3-only `oneOf` int-or-string/Quantity turned into `type: string` as
 * kube-openapi does). Fields with a strategic-merge `patchStrategy`/`patchMergeKey` tag (src/api/patch/patch-meta.ts)
 * get the `x-kubernetes-patch-strategy`/`x-kubernetes-patch-merge-key` extensions, so kubectl computes the same
 * patches from this document as from its compiled-in Go types.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import protobuf from 'protobufjs';
import { parseAccept } from '../../apiserver/negotiation.js';
import { PATCH_META } from '../patch/patch-meta.js';
import { buildGroupVersionDocument, groupVersionKeys } from './document.js';
import { SCHEMA_REF_PREFIX } from './schemas.js';
import type { OpenapiResponse } from './index.js';

type Json = Record<string, any>;

/** Prefix of every `$ref` in a Swagger 2.0 document. */
export const DEFINITIONS_REF_PREFIX = '#/definitions/';
/**
 * The protobuf media type: kubectl asks for the deprecated `@v1.0` spelling, kube-openapi answers both and always
 * labels the body with this one (the `@` form is not a valid media type for Go's mime parser, which kubectl runs on
 * the response's Content-Type).
 */
export const OPENAPI_V2_PROTOBUF = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';
export const OPENAPI_V2_PROTOBUF_DEPRECATED = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';

/** v3 schema keys with no Swagger 2.0 counterpart. */
const V3_ONLY = new Set(['nullable', 'oneOf', 'anyOf', 'not', 'writeOnly', 'deprecated', 'discriminator']);

function v2Ref(ref: string): string {
  return ref.startsWith(SCHEMA_REF_PREFIX) ? DEFINITIONS_REF_PREFIX + ref.slice(SCHEMA_REF_PREFIX.length) : ref;
}

/**
 * Converts one OpenAPI v3 schema (as the generator writes them) to Swagger 2.0. Returns a new object; the input is
 * not modified.
 */
export function schemaToV2(s: Json): Json {
  // kube-openapi's v3 `allOf: [{$ref}]` wrapper (a reference with its own description) is `$ref` + description in v2.
  if (Array.isArray(s.allOf) && s.allOf.length === 1 && !s.type && !s.properties && typeof s.allOf[0]?.$ref === 'string' && Object.keys(s.allOf[0]).length === 1) {
    const out: Json = { $ref: v2Ref(s.allOf[0].$ref) };
    for (const [k, v] of Object.entries(s)) if (k !== 'allOf' && !V3_ONLY.has(k)) out[k] = v;
    return out;
  }
  const out: Json = {};
  for (const [k, v] of Object.entries(s)) {
    if (V3_ONLY.has(k)) continue;
    switch (k) {
      case '$ref': out.$ref = v2Ref(v as string); break;
      case 'properties': out.properties = Object.fromEntries(Object.entries(v as Json).map(([n, p]) => [n, schemaToV2(p)])); break;
      case 'items': out.items = Array.isArray(v) ? v.map(schemaToV2) : schemaToV2(v as Json); break;
      case 'additionalProperties': out.additionalProperties = typeof v === 'boolean' ? v : schemaToV2(v as Json); break;
      case 'allOf': out.allOf = (v as Json[]).map(schemaToV2); break;
      default: out[k] = v;
    }
  }
  // v3 `oneOf`/`anyOf` alternatives (IntOrString: integer|string, Quantity: string|number) are a string in v2,
  // which kubectl's validator accepts numbers for.
  if ((s.oneOf || s.anyOf) && !s.type && !s.$ref && !s.properties) out.type = 'string';
  return out;
}

/** Adds the strategic-merge-patch extensions of `definition`'s tagged fields (upstream's patch struct tags). */
function withPatchExtensions(definition: string, s: Json): Json {
  const meta = PATCH_META[definition];
  if (!meta || !s.properties) return s;
  const properties: Json = { ...s.properties };
  for (const [field, m] of Object.entries(meta)) {
    if (!properties[field] || (!m.strategy && !m.mergeKey)) continue;
    const p: Json = { ...properties[field] };
    if (m.mergeKey) p['x-kubernetes-patch-merge-key'] = m.mergeKey;
    if (m.strategy) p['x-kubernetes-patch-strategy'] = m.strategy;
    properties[field] = p;
  }
  return { ...s, properties };
}

function paramToV2(p: Json): Json {
  const { schema, ...rest } = p;
  return { ...rest, ...(schema ? schemaToV2(schema) : {}) };
}

function firstContentSchema(content: Json | undefined): Json | undefined {
  if (!content) return undefined;
  for (const c of Object.values<Json>(content)) if (c?.schema) return c.schema;
  return undefined;
}

function operationToV2(o: Json): Json {
  const out: Json = { description: o.description };
  const rb = o.requestBody as Json | undefined;
  out.consumes = rb?.content ? Object.keys(rb.content) : ['*/*'];
  let produces: string[] | undefined;
  const responses: Json = {};
  for (const [code, r] of Object.entries<Json>(o.responses ?? {})) {
    const resp: Json = { description: r.description ?? '' };
    const schema = firstContentSchema(r.content);
    if (schema) resp.schema = schemaToV2(schema);
    if (r.content && !produces) produces = Object.keys(r.content);
    responses[code] = resp;
  }
  out.produces = produces ?? ['application/json'];
  out.schemes = ['https'];
  if (o.tags) out.tags = o.tags;
  if (o.operationId) out.operationId = o.operationId;
  const params: Json[] = [];
  const bodySchema = firstContentSchema(rb?.content);
  if (bodySchema) params.push({ name: 'body', in: 'body', required: rb?.required === true, schema: schemaToV2(bodySchema) });
  for (const p of o.parameters ?? []) params.push(paramToV2(p));
  if (params.length) out.parameters = params;
  out.responses = responses;
  for (const [k, v] of Object.entries(o)) if (k.startsWith('x-')) out[k] = v;
  return out;
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch'] as const;

function pathItemToV2(item: Json): Json {
  const out: Json = {};
  for (const m of METHODS) if (item[m]) out[m] = operationToV2(item[m]);
  if (item.parameters) out.parameters = (item.parameters as Json[]).map(paramToV2);
  return out;
}

/**
 * The whole Swagger 2.0 document: every served resource path of every group-version (the same operations as the
 * v3 documents) and the definitions they reach, each built-in kind with its `x-kubernetes-group-version-kind`.
 */
export function buildOpenapiV2Document(): Json {
  const paths: Json = {};
  const definitions: Json = {};
  for (const key of groupVersionKeys()) {
    const doc = buildGroupVersionDocument(key);
    if (!doc) continue;
    for (const [p, item] of Object.entries<Json>(doc.paths as Json)) paths[p] = pathItemToV2(item);
    for (const [name, s] of Object.entries<Json>((doc.components as Json).schemas)) {
      definitions[name] ??= withPatchExtensions(name, schemaToV2(s));
    }
  }
  const sortedPaths = Object.fromEntries(Object.keys(paths).sort().map((p) => [p, paths[p]]));
  const sortedDefs = Object.fromEntries(Object.keys(definitions).sort().map((d) => [d, definitions[d]]));
  return {
    swagger: '2.0',
    info: { title: 'Kubernetes', version: 'v1.32.0' },
    paths: sortedPaths,
    definitions: sortedDefs,
  };
}

// ---- protobuf (gnostic openapi_v2) ----

let protoRoot: protobuf.Root | undefined;

/** The `openapi.v2.Document` message type, parsed from openapi-v2.proto next to this module (field names as in the .proto). */
export function openapiV2DocumentType(): protobuf.Type {
  if (!protoRoot) {
    const text = readFileSync(fileURLToPath(new URL('./openapi-v2.proto', import.meta.url)), 'utf8');
    protoRoot = protobuf.parse(text, { keepCase: true }).root;
  }
  return protoRoot.lookupType('openapi.v2.Document');
}

/**
 * A JSON value as YAML, which gnostic's `Any.yaml` carries and kubectl parses with yaml.v2: flow style with
 * JSON-quoted strings (valid YAML double-quoted scalars) and a space after every `:` and `,`.
 */
export function toFlowYaml(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(toFlowYaml).join(', ')}]`;
  return `{${Object.entries(v as Json).map(([k, x]) => `${JSON.stringify(k)}: ${toFlowYaml(x)}`).join(', ')}}`;
}

const anyPb = (v: unknown): Json => ({ yaml: toFlowYaml(v) });

function extensionsPb(o: Json): Json[] {
  return Object.entries(o).filter(([k]) => k.startsWith('x-')).map(([name, v]) => ({ name, value: anyPb(v) }));
}

function schemaPb(s: Json): Json {
  const m: Json = {};
  for (const [k, v] of Object.entries(s)) {
    switch (k) {
      case '$ref': m._ref = v; break;
      case 'format': case 'title': case 'description': case 'pattern': case 'discriminator': m[k] = v; break;
      case 'default': case 'example': m[k] = anyPb(v); break;
      case 'multipleOf': m.multiple_of = v; break;
      case 'maximum': case 'minimum': m[k] = v; break;
      case 'exclusiveMaximum': m.exclusive_maximum = v; break;
      case 'exclusiveMinimum': m.exclusive_minimum = v; break;
      case 'maxLength': m.max_length = v; break;
      case 'minLength': m.min_length = v; break;
      case 'maxItems': m.max_items = v; break;
      case 'minItems': m.min_items = v; break;
      case 'uniqueItems': m.unique_items = v; break;
      case 'maxProperties': m.max_properties = v; break;
      case 'minProperties': m.min_properties = v; break;
      case 'readOnly': m.read_only = v; break;
      case 'required': m.required = v; break;
      case 'enum': m.enum = (v as unknown[]).map(anyPb); break;
      case 'additionalProperties': m.additional_properties = typeof v === 'boolean' ? { boolean: v } : { schema: schemaPb(v as Json) }; break;
      case 'type': m.type = { value: Array.isArray(v) ? v : [v] }; break;
      case 'items': m.items = { schema: (Array.isArray(v) ? v : [v]).map(schemaPb) }; break;
      case 'allOf': m.all_of = (v as Json[]).map(schemaPb); break;
      case 'properties': m.properties = { additional_properties: Object.entries(v as Json).map(([name, p]) => ({ name, value: schemaPb(p) })) }; break;
      default: break;
    }
  }
  const ext = extensionsPb(s);
  if (ext.length) m.vendor_extension = ext;
  return m;
}

function parameterPb(p: Json): Json {
  if (p.in === 'body') {
    return { parameter: { body_parameter: { description: p.description ?? '', name: p.name, in: 'body', required: !!p.required, schema: schemaPb(p.schema ?? {}) } } };
  }
  const sub: Json = { required: !!p.required, in: p.in, description: p.description ?? '', name: p.name, type: p.type ?? '' };
  if (p.format) sub.format = p.format;
  if (p.uniqueItems) sub.unique_items = true;
  if (p.enum) sub.enum = (p.enum as unknown[]).map(anyPb);
  const ext = extensionsPb(p);
  if (ext.length) sub.vendor_extension = ext;
  const which = p.in === 'path' ? 'path_parameter_sub_schema' : 'query_parameter_sub_schema';
  return { parameter: { non_body_parameter: { [which]: sub } } };
}

function operationPb(o: Json): Json {
  const m: Json = {
    tags: o.tags ?? [],
    description: o.description ?? '',
    operation_id: o.operationId ?? '',
    produces: o.produces ?? [],
    consumes: o.consumes ?? [],
    parameters: (o.parameters ?? []).map(parameterPb),
    schemes: o.schemes ?? [],
    responses: {
      response_code: Object.entries<Json>(o.responses ?? {}).map(([name, r]) => ({
        name,
        value: { response: { description: r.description ?? '', ...(r.schema ? { schema: { schema: schemaPb(r.schema) } } : {}) } },
      })),
    },
  };
  const ext = extensionsPb(o);
  if (ext.length) m.vendor_extension = ext;
  return m;
}

function pathItemPb(item: Json): Json {
  const m: Json = {};
  for (const meth of METHODS) if (item[meth]) m[meth] = operationPb(item[meth]);
  if (item.parameters) m.parameters = (item.parameters as Json[]).map(parameterPb);
  return m;
}

/** The gnostic `openapi_v2.Document` message (as a plain object for protobufjs) of a Swagger 2.0 document. */
export function documentToPbObject(doc: Json): Json {
  return {
    swagger: doc.swagger,
    info: { title: doc.info?.title ?? '', version: doc.info?.version ?? '', description: doc.info?.description ?? '' },
    paths: { path: Object.entries<Json>(doc.paths ?? {}).map(([name, item]) => ({ name, value: pathItemPb(item) })) },
    definitions: { additional_properties: Object.entries<Json>(doc.definitions ?? {}).map(([name, s]) => ({ name, value: schemaPb(s) })) },
  };
}

/** Serializes a Swagger 2.0 document as gnostic's protobuf `openapi_v2.Document`. */
export function encodeOpenapiV2Protobuf(doc: Json): Buffer {
  const type = openapiV2DocumentType();
  return Buffer.from(type.encode(type.fromObject(documentToPbObject(doc))).finish());
}

// ---- HTTP ----

interface Rendition {
  body: Buffer;
  gzipped?: Buffer;
}

interface Served {
  json: Rendition;
  protobuf: Rendition;
  /** Quoted, as sent, for both renditions (as kube-openapi): upper-case hex SHA-512 of the JSON bytes. */
  etag: string;
  lastModified: Date;
}

let served: Served | undefined;

/** The JSON and protobuf bodies (built once, on first use: the document does not change while the server runs). */
export function openapiV2Served(): Served {
  if (!served) {
    const doc = buildOpenapiV2Document();
    const lastModified = new Date();
    lastModified.setUTCMilliseconds(0);
    const json = Buffer.from(JSON.stringify(doc));
    served = {
      json: { body: json },
      protobuf: { body: encodeOpenapiV2Protobuf(doc) },
      etag: `"${createHash('sha512').update(json).digest('hex').toUpperCase()}"`,
      lastModified,
    };
  }
  return served;
}

interface AcceptClause {
  type: string;
  subType: string;
  q: number;
}

/**
 * An Accept header's media ranges, best first (goautoneg, which kube-openapi uses: by q, then specific before
 * wildcard), q=0 dropped. The header is split by the apiserver's own parser; only the ordering is added here.
 */
export function parseAcceptClauses(header: string): AcceptClause[] {
  const out = parseAccept(header).map((r, i) => {
    const slash = r.type.indexOf('/');
    const q = r.params['q'] === undefined ? 1 : Number(r.params['q']);
    return {
      type: slash < 0 ? r.type : r.type.slice(0, slash),
      subType: slash < 0 ? '*' : r.type.slice(slash + 1),
      q: Number.isFinite(q) ? q : 0,
      i,
    };
  });
  const spec = (c: AcceptClause) => (c.type === '*' ? 0 : c.subType === '*' ? 1 : 2);
  return out
    .filter((c) => c.q > 0)
    .sort((a, b) => b.q - a.q || spec(b) - spec(a) || a.i - b.i)
    .map(({ type, subType, q }) => ({ type, subType, q }));
}

/** True when an Accept-Encoding header allows gzip (`gzip` or `*` with a non-zero q). */
function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  return header.split(',').some((part) => {
    const [coding, ...params] = part.split(';').map((x) => x.trim().toLowerCase());
    if (coding !== 'gzip' && coding !== '*') return false;
    const q = params.find((p) => p.startsWith('q='));
    return !q || Number(q.slice(2)) > 0;
  });
}

/** Request headers the OpenAPI handlers look at. */
export interface OpenapiRequestHeaders {
  ifNoneMatch?: string;
  ifModifiedSince?: string;
  accept?: string;
  acceptEncoding?: string;
}

/**
 * `GET /openapi/v2` as kube-openapi's handler: the first Accept clause that matches JSON or the protobuf media
 * types wins (no Accept → JSON; nothing matching → 406), with the quoted SHA-512 of the JSON as `ETag`, `Last-Modified`,
 * 304 for a matching `If-None-Match` (or, without one, an `If-Modified-Since` not older than the document), and gzip
 * when the client accepts it.
 */
export function handleOpenapiV2(h: OpenapiRequestHeaders = {}): OpenapiResponse {
  const clauses = parseAcceptClauses(h.accept && h.accept.trim() ? h.accept : '*/*');
  const offered: Array<[string, string, 'json' | 'protobuf', string]> = [
    ['application', 'json', 'json', 'application/json'],
    ['application', OPENAPI_V2_PROTOBUF_DEPRECATED.slice('application/'.length), 'protobuf', OPENAPI_V2_PROTOBUF],
    ['application', OPENAPI_V2_PROTOBUF.slice('application/'.length), 'protobuf', OPENAPI_V2_PROTOBUF],
  ];
  let chosen: { which: 'json' | 'protobuf'; contentType: string } | undefined;
  outer: for (const c of clauses) {
    for (const [type, subType, which, contentType] of offered) {
      if ((c.type === type || c.type === '*') && (c.subType === subType || c.subType === '*')) {
        chosen = { which, contentType };
        break outer;
      }
    }
  }
  if (!chosen) return { status: 406, headers: { Vary: 'Accept' } };
  const s = openapiV2Served();
  const r = s[chosen.which];
  const headers: Record<string, string> = {
    'Content-Type': chosen.contentType,
    ETag: s.etag,
    'Last-Modified': s.lastModified.toUTCString(),
    Vary: 'Accept, Accept-Encoding',
    'Accept-Ranges': 'bytes',
  };
  if (h.ifNoneMatch !== undefined) {
    if (h.ifNoneMatch.split(',').some((t) => { const x = t.trim(); return x === '*' || x === s.etag || x === `W/${s.etag}`; })) {
      return { status: 304, headers };
    }
  } else if (h.ifModifiedSince) {
    const since = Date.parse(h.ifModifiedSince);
    if (Number.isFinite(since) && s.lastModified.getTime() <= since) return { status: 304, headers };
  }
  if (acceptsGzip(h.acceptEncoding)) {
    r.gzipped ??= gzipSync(r.body);
    return { status: 200, headers: { ...headers, 'Content-Encoding': 'gzip' }, body: r.gzipped };
  }
  return { status: 200, headers, body: r.body };
}
