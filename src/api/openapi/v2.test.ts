import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { RESOURCES } from '../resources.js';
import { definitionForKind, handleOpenapi } from './index.js';
import {
  buildOpenapiV2Document,
  encodeOpenapiV2Protobuf,
  handleOpenapiV2,
  OPENAPI_V2_PROTOBUF,
  OPENAPI_V2_PROTOBUF_DEPRECATED,
  openapiV2DocumentType,
  parseAcceptClauses,
  schemaToV2,
  toFlowYaml,
} from './v2.js';

type Json = Record<string, any>;

let cachedDoc: Json | undefined;
const v2 = (): Json => (cachedDoc ??= buildOpenapiV2Document());
let cachedPb: Json | undefined;
/** The protobuf body decoded with the same .proto, as plain objects (snake_case field names, arrays kept). */
const pb = (): Json => {
  if (!cachedPb) {
    const type = openapiV2DocumentType();
    const body = handleOpenapiV2({ accept: OPENAPI_V2_PROTOBUF_DEPRECATED }).body!;
    cachedPb = type.toObject(type.decode(body), { arrays: true, defaults: false }) as Json;
  }
  return cachedPb;
};

function walk(v: unknown, f: (o: Json) => void): void {
  if (Array.isArray(v)) for (const x of v) walk(x, f);
  else if (v && typeof v === 'object') {
    f(v as Json);
    for (const x of Object.values(v)) walk(x, f);
  }
}

test('schemaToV2: references, allOf wrappers, int-or-string and v3-only keys', () => {
  assert.deepEqual(schemaToV2({ $ref: '#/components/schemas/io.k8s.api.core.v1.PodSpec' }), { $ref: '#/definitions/io.k8s.api.core.v1.PodSpec' });
  assert.deepEqual(
    schemaToV2({ description: 'Standard object metadata.', allOf: [{ $ref: '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta' }] }),
    { $ref: '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta', description: 'Standard object metadata.' },
  );
  assert.deepEqual(
    schemaToV2({ oneOf: [{ type: 'integer' }, { type: 'string' }], format: 'int-or-string', 'x-kubernetes-int-or-string': true }),
    { format: 'int-or-string', 'x-kubernetes-int-or-string': true, type: 'string' },
  );
  const nested = schemaToV2({
    type: 'object',
    nullable: true,
    properties: { xs: { type: 'array', items: { allOf: [{ $ref: '#/components/schemas/A' }], description: 'd' } } },
    additionalProperties: { $ref: '#/components/schemas/B' },
  });
  assert.deepEqual(nested, {
    type: 'object',
    properties: { xs: { type: 'array', items: { $ref: '#/definitions/A', description: 'd' } } },
    additionalProperties: { $ref: '#/definitions/B' },
  });
});

test('toFlowYaml: JSON-compatible flow YAML with spaces after separators', () => {
  assert.equal(toFlowYaml([{ group: '', kind: 'Pod', version: 'v1' }]), '[{"group": "", "kind": "Pod", "version": "v1"}]');
  assert.equal(toFlowYaml('merge,retainKeys'), '"merge,retainKeys"');
  assert.deepEqual(JSON.parse(toFlowYaml({ a: [1, true, null, 'x"y'] })), { a: [1, true, null, 'x"y'] });
});

test('document: swagger 2.0, only #/definitions references, all resolvable', () => {
  const doc = v2();
  assert.equal(doc.swagger, '2.0');
  assert.ok(doc.info.title && doc.info.version);
  const text = JSON.stringify(doc);
  assert.ok(!text.includes('#/components/'), 'no v3 references');
  walk(doc, (o) => {
    for (const k of ['requestBody', 'content', 'oneOf', 'anyOf', 'nullable', 'components']) assert.ok(!(k in o), `v3-only key ${k}`);
    if (typeof o.$ref === 'string') {
      assert.ok(o.$ref.startsWith('#/definitions/'), o.$ref);
      assert.ok(doc.definitions[o.$ref.slice('#/definitions/'.length)], `dangling ${o.$ref}`);
    }
  });
  assert.equal(doc.definitions['io.k8s.apimachinery.pkg.util.intstr.IntOrString'].type, 'string');
  assert.equal(doc.definitions['io.k8s.apimachinery.pkg.api.resource.Quantity'].type, 'string');
});

test('document: every served kind has a definition with its GVK and a patch operation with fieldValidation', () => {
  const doc = v2();
  for (const r of RESOURCES) {
    const def = definitionForKind(r.group, r.version, r.kind);
    if (!def) continue; // served without a schema (left out of OpenAPI like a schemaless CRD)
    const s = doc.definitions[def];
    assert.ok(s, `${def} in definitions`);
    assert.ok((s['x-kubernetes-group-version-kind'] ?? []).some((g: Json) => g.group === r.group && g.version === r.version && g.kind === r.kind), `${def} GVK`);
    if (!r.verbs.includes('patch')) continue;
    const prefix = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
    const path = r.namespaced ? `${prefix}/namespaces/{namespace}/${r.resource}/{name}` : `${prefix}/${r.resource}/{name}`;
    const patch = doc.paths[path]?.patch;
    assert.ok(patch, `patch ${path}`);
    assert.deepEqual(patch['x-kubernetes-group-version-kind'], { group: r.group, version: r.version, kind: r.kind });
    const q = patch.parameters.filter((p: Json) => p.in === 'query').map((p: Json) => p.name);
    for (const n of ['fieldValidation', 'dryRun', 'fieldManager']) assert.ok(q.includes(n), `${path} ${n}`);
    const body = patch.parameters.find((p: Json) => p.in === 'body');
    assert.equal(body.schema.$ref, '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Patch');
    assert.ok(patch.consumes.includes('application/merge-patch+json'));
    assert.equal(patch.responses['200'].schema.$ref, `#/definitions/${def}`);
  }
  assert.ok(!Object.values<Json>(doc.definitions).some((s) => (s['x-kubernetes-group-version-kind'] ?? []).some((g: Json) => g.kind === 'List')));
});

test('document: collection and item operations in v2 form', () => {
  const doc = v2();
  const coll = doc.paths['/apis/apps/v1/namespaces/{namespace}/deployments'];
  assert.equal(coll.get['x-kubernetes-action'], 'list');
  assert.equal(coll.get.responses['200'].schema.$ref, '#/definitions/io.k8s.api.apps.v1.DeploymentList');
  assert.ok(coll.get.produces.includes('application/json;stream=watch'));
  assert.deepEqual(coll.post.parameters[0], { name: 'body', in: 'body', required: true, schema: { $ref: '#/definitions/io.k8s.api.apps.v1.Deployment' } });
  const ns = coll.parameters.find((p: Json) => p.name === 'namespace');
  assert.equal(ns.in, 'path');
  assert.equal(ns.type, 'string');
  assert.equal(ns.required, true);
  assert.equal(ns.schema, undefined);
  const limit = coll.get.parameters.find((p: Json) => p.name === 'limit');
  assert.equal(limit.type, 'integer');
});

test('document: strategic-merge extensions from the patch struct tags', () => {
  const defs = v2().definitions;
  const containers = defs['io.k8s.api.core.v1.PodSpec'].properties.containers;
  assert.equal(containers['x-kubernetes-patch-merge-key'], 'name');
  assert.equal(containers['x-kubernetes-patch-strategy'], 'merge');
  assert.equal(defs['io.k8s.api.core.v1.PodSpec'].properties.volumes['x-kubernetes-patch-strategy'], 'merge,retainKeys');
  assert.equal(defs['io.k8s.api.core.v1.Container'].properties.env['x-kubernetes-patch-merge-key'], 'name');
  assert.equal(defs['io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta'].properties.finalizers['x-kubernetes-patch-strategy'], 'merge');
  assert.equal(defs['io.k8s.api.core.v1.PodSpec'].properties.tolerations['x-kubernetes-patch-strategy'], undefined);
});

test('protobuf decodes with the same .proto into the same document', () => {
  const d = pb();
  const doc = v2();
  assert.equal(d.swagger, '2.0');
  assert.equal(d.info.title, doc.info.title);
  assert.deepEqual(d.paths.path.map((p: Json) => p.name), Object.keys(doc.paths));
  assert.deepEqual(d.definitions.additional_properties.map((n: Json) => n.name), Object.keys(doc.definitions));
  const cm = d.definitions.additional_properties.find((n: Json) => n.name === 'io.k8s.api.core.v1.ConfigMap').value;
  assert.deepEqual(cm.type.value, ['object']);
  const gvk = cm.vendor_extension.find((e: Json) => e.name === 'x-kubernetes-group-version-kind');
  assert.deepEqual(JSON.parse(gvk.value.yaml), [{ group: '', kind: 'ConfigMap', version: 'v1' }]);
  const data = cm.properties.additional_properties.find((n: Json) => n.name === 'data').value;
  assert.deepEqual(data.additional_properties.schema.type.value, ['string']);
  // Round trip: re-encoding the document gives the same bytes as the served body.
  assert.ok(encodeOpenapiV2Protobuf(doc).equals(handleOpenapiV2({ accept: OPENAPI_V2_PROTOBUF }).body!));
});

/** kubectl's (client-go) v2 query-param check: the kind's patch operation lists the parameter. */
function supportsQueryParam(d: Json, gvk: Json, param: string): boolean {
  for (const p of d.paths.path) {
    const op = p.value.patch;
    if (!op) continue;
    const ext = (op.vendor_extension ?? []).find((e: Json) => e.name === 'x-kubernetes-group-version-kind');
    if (!ext) continue;
    const v = JSON.parse(ext.value.yaml);
    if (v.group !== gvk.group || v.version !== gvk.version || v.kind !== gvk.kind) continue;
    return (op.parameters ?? []).some((x: Json) => x.parameter?.non_body_parameter?.query_parameter_sub_schema?.name === param);
  }
  return false;
}

test('protobuf: kubectl finds fieldValidation on patch operations by GVK', () => {
  const d = pb();
  assert.ok(supportsQueryParam(d, { group: 'apps', version: 'v1', kind: 'Deployment' }, 'fieldValidation'));
  assert.ok(supportsQueryParam(d, { group: '', version: 'v1', kind: 'ConfigMap' }, 'fieldValidation'));
  assert.ok(supportsQueryParam(d, { group: '', version: 'v1', kind: 'Service' }, 'dryRun'));
  assert.ok(!supportsQueryParam(d, { group: '', version: 'v1', kind: 'List' }, 'fieldValidation'));
});

/**
 * The checks kube-openapi's proto model parser (k8s.io/kube-openapi/pkg/util/proto NewOpenAPIData) makes on every
 * definition before kubectl can validate anything: one failing definition makes all client-side validation fail.
 */
function checkParsable(d: Json): string[] {
  const names = new Set(d.definitions.additional_properties.map((n: Json) => n.name));
  const problems: string[] = [];
  const check = (s: Json, path: string): void => {
    if (s._ref) {
      const r = String(s._ref);
      if (!r.startsWith('#/definitions/') || !names.has(r.slice('#/definitions/'.length))) problems.push(`${path}: unknown model in reference ${r}`);
      return;
    }
    const types: string[] = s.type?.value ?? [];
    if (types.length > 1) problems.push(`${path}: multiple types`);
    const t = types[0];
    const props: Json[] | undefined = s.properties ? (s.properties.additional_properties ?? []) : undefined;
    if (t === undefined || t === 'object') {
      if (props) for (const p of props) check(p.value ?? {}, `${path}.${p.name}`);
      else if (s.additional_properties?.schema) check(s.additional_properties.schema, `${path}{}`);
      return;
    }
    if (t === 'array') {
      if ((s.items?.schema ?? []).length !== 1) problems.push(`${path}: array should have exactly one sub-item`);
      else check(s.items.schema[0], `${path}[]`);
      return;
    }
    if (!['string', 'integer', 'number', 'boolean'].includes(t)) problems.push(`${path}: unknown primitive type ${t}`);
  };
  for (const n of d.definitions.additional_properties) check(n.value ?? {}, n.name);
  return problems;
}

test('protobuf: every definition passes the kube-openapi proto model parser checks', () => {
  assert.deepEqual(checkParsable(pb()), []);
});

test('handler: content negotiation, ETag/304, Last-Modified, gzip, 406', () => {
  const json = handleOpenapiV2({});
  assert.equal(json.status, 200);
  assert.equal(json.headers['Content-Type'], 'application/json');
  assert.deepEqual(JSON.parse(json.body!.toString('utf8')), v2());
  const etag = json.headers.ETag;
  assert.match(etag, /^"[0-9A-F]{128}"$/);
  assert.match(json.headers.Vary, /Accept/);
  assert.match(json.headers['Last-Modified'], /GMT$/);

  assert.equal(handleOpenapiV2({ accept: 'application/json' }).headers['Content-Type'], 'application/json');
  const p1 = handleOpenapiV2({ accept: OPENAPI_V2_PROTOBUF_DEPRECATED });
  const p2 = handleOpenapiV2({ accept: OPENAPI_V2_PROTOBUF });
  assert.equal(p1.headers['Content-Type'], OPENAPI_V2_PROTOBUF);
  assert.equal(p2.headers['Content-Type'], OPENAPI_V2_PROTOBUF);
  assert.ok(p1.body!.equals(p2.body!));
  assert.equal(p1.headers.ETag, etag, 'kube-openapi uses the JSON hash for both renditions');
  assert.equal(handleOpenapiV2({ accept: `application/json;q=0.5, ${OPENAPI_V2_PROTOBUF_DEPRECATED}` }).headers['Content-Type'], OPENAPI_V2_PROTOBUF);

  const nm = handleOpenapiV2({ accept: OPENAPI_V2_PROTOBUF_DEPRECATED, ifNoneMatch: etag });
  assert.equal(nm.status, 304);
  assert.equal(nm.body, undefined);
  assert.equal(nm.headers.ETag, etag);
  assert.equal(handleOpenapiV2({ ifNoneMatch: '"stale"' }).status, 200);
  assert.equal(handleOpenapiV2({ ifModifiedSince: json.headers['Last-Modified'] }).status, 304);
  assert.equal(handleOpenapiV2({ ifModifiedSince: 'Thu, 01 Jan 1970 00:00:00 GMT' }).status, 200);

  const gz = handleOpenapiV2({ accept: OPENAPI_V2_PROTOBUF_DEPRECATED, acceptEncoding: 'gzip' });
  assert.equal(gz.headers['Content-Encoding'], 'gzip');
  assert.ok(gunzipSync(gz.body!).equals(p1.body!));
  assert.equal(handleOpenapiV2({ acceptEncoding: 'gzip;q=0, identity' }).headers['Content-Encoding'], undefined);

  assert.equal(handleOpenapiV2({ accept: 'text/html' }).status, 406);
  assert.equal(handleOpenapi('/openapi/v2', new URLSearchParams(), { accept: 'application/json' }).status, 200);
  assert.equal(handleOpenapi('/openapi/v2/', new URLSearchParams()).status, 404);
});

test('parseAcceptClauses: q order, specific before wildcard, q=0 dropped', () => {
  assert.deepEqual(parseAcceptClauses('*/*;q=0.8, application/json;q=0.9, text/plain;q=0').map((c) => `${c.type}/${c.subType}`), ['application/json', '*/*']);
  assert.deepEqual(parseAcceptClauses('*/*, application/*, application/json').map((c) => `${c.type}/${c.subType}`), ['application/json', 'application/*', '*/*']);
  // Media types are case-insensitive; other parameters do not change q; a bare `*` is `*/*`.
  assert.deepEqual(parseAcceptClauses('Application/JSON;charset=utf-8 ; Q=0.5, *;q=0.4'), [
    { type: 'application', subType: 'json', q: 0.5 },
    { type: '*', subType: '*', q: 0.4 },
  ]);
  assert.equal(handleOpenapiV2({ accept: 'APPLICATION/JSON' }).headers['Content-Type'], 'application/json');
});
