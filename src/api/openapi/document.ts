/**
 * Builds the per-group-version OpenAPI v3 documents kube-apiserver serves at `/openapi/v3/<api/v1|apis/G/V>`:
 * one path item per collection, item and status/scale subresource of every served resource, each operation tagged
 * with `x-kubernetes-action` and `x-kubernetes-group-version-kind`, plus the component schemas reachable from them.
 * kubectl relies on this shape: it switches to server-side field validation only when the kind's `patch` operation
 * lists a `fieldValidation` query parameter, and `kubectl explain` finds kinds by the schemas' GVK arrays.
 */
import { RESOURCES, type ResourceInfo, type SubresourceInfo } from '../resources.js';
import {
  allSchemas,
  definitionForKind,
  reachableDefinitions,
  SCHEMA_REF_PREFIX,
  type GroupVersionKind,
  type Schema,
} from './schemas.js';

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
const STATUS_DEF = `${META}.Status`;
const DELETE_OPTIONS_DEF = `${META}.DeleteOptions`;
const PATCH_DEF = `${META}.Patch`;

/** The key of a group-version in the `/openapi/v3` root: `api/v1` for core, `apis/<group>/<version>` otherwise. */
export function groupVersionKey(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

/** Every group-version key of RESOURCES, in discovery order. */
export function groupVersionKeys(): string[] {
  const keys: string[] = [];
  for (const r of RESOURCES) {
    if (!hasSchema(r)) continue;
    const k = groupVersionKey(r.group, r.version);
    if (!keys.includes(k)) keys.push(k);
  }
  return keys;
}

type Json = Record<string, unknown>;

const ref = (def: string): Json => ({ $ref: SCHEMA_REF_PREFIX + def });

function param(name: string, inWhere: 'query' | 'path', description: string, type = 'string'): Json {
  const p: Json = { name, in: inWhere, description, schema: { type, uniqueItems: true } };
  if (inWhere === 'path') p.required = true;
  return p;
}

const P = {
  name: (kind: string) => param('name', 'path', `name of the ${kind}`),
  namespace: param('namespace', 'path', 'object name and auth scope, such as for teams and projects'),
  pretty: param('pretty', 'query', "If 'true', then the output is pretty printed. Defaults to 'false' unless the user-agent indicates a browser or command-line HTTP tool (curl and wget)."),
  dryRun: param('dryRun', 'query', 'When present, indicates that modifications should not be persisted. Valid value: All (process every dry-run stage). An invalid or unrecognized value is an error.'),
  fieldManager: param('fieldManager', 'query', 'fieldManager is a name associated with the actor or entity that is making these changes. At most 128 printable characters. Required for apply requests (application/apply-patch), optional otherwise.'),
  fieldValidation: param('fieldValidation', 'query', 'fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields. Valid values are: - Ignore: silently drop unknown fields. - Warn: send a warning via the standard warning response header for each unknown field, the request still succeeds. - Strict: fail the request with a BadRequest error if any unknown fields would be dropped.'),
  force: param('force', 'query', 'Force is going to "force" Apply requests: the applier re-acquires fields owned by other managers. Must be unset for non-apply patch requests.', 'boolean'),
  gracePeriodSeconds: param('gracePeriodSeconds', 'query', 'The duration in seconds before the object should be deleted. Zero means delete immediately; unset means the default for the type.', 'integer'),
  orphanDependents: param('orphanDependents', 'query', 'Deprecated: use propagationPolicy. Whether dependent objects should be orphaned.', 'boolean'),
  propagationPolicy: param('propagationPolicy', 'query', "Whether and how garbage collection is performed: 'Orphan', 'Background' or 'Foreground'."),
  list: [
    param('allowWatchBookmarks', 'query', 'allowWatchBookmarks requests watch events of type BOOKMARK. Servers may ignore it.', 'boolean'),
    param('continue', 'query', 'The continue token returned by a previous paginated list call, to fetch the next chunk.'),
    param('fieldSelector', 'query', 'A selector to restrict the list of returned objects by their fields. Defaults to everything.'),
    param('labelSelector', 'query', 'A selector to restrict the list of returned objects by their labels. Defaults to everything.'),
    param('limit', 'query', 'Maximum number of responses to return for a list call; more results are signalled by metadata.continue.', 'integer'),
    param('resourceVersion', 'query', 'resourceVersion sets a constraint on what resource versions a request may be served from.'),
    param('resourceVersionMatch', 'query', 'resourceVersionMatch determines how resourceVersion is applied to list calls.'),
    param('sendInitialEvents', 'query', 'With watch=true, start the watch stream with synthetic ADDED events for the current state, then a bookmark.', 'boolean'),
    param('timeoutSeconds', 'query', 'Timeout for the list/watch call, regardless of any activity or inactivity.', 'integer'),
    param('watch', 'query', 'Watch for changes to the described resources and return them as a stream of add, update, and remove notifications.', 'boolean'),
  ],
};

const OBJECT_TYPES = ['application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf'];
const LIST_TYPES = [...OBJECT_TYPES, 'application/json;stream=watch', 'application/vnd.kubernetes.protobuf;stream=watch'];
/**
 * Patch bodies we accept. `application/strategic-merge-patch+json` is deliberately absent: our schemas carry no
 * patch merge keys, and kubectl's client-side apply computes strategic patches from the v3 schema only when the
 * patch operation lists that type; without it kubectl uses its compiled-in Go types, which is what we want.
 */
const PATCH_TYPES = ['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml'];

function content(types: string[], def: string): Json {
  return Object.fromEntries(types.map((t) => [t, { schema: ref(def) }]));
}

function responses(codes: Array<[string, string]>, def: string, types = OBJECT_TYPES): Json {
  const out: Json = {};
  for (const [code, description] of codes) out[code] = { description, content: content(types, def) };
  out['401'] = { description: 'Unauthorized' };
  return out;
}

/** `apps` → `Apps`, `rbac.authorization.k8s.io` → `RbacAuthorization`, core → `Core` (kube-openapi operation ids). */
function groupCamel(group: string): string {
  if (!group) return 'Core';
  return group.replace(/\.k8s\.io$/, '').split('.').map((p) => p.charAt(0).toUpperCase() + p.slice(1)).join('');
}

function tag(group: string, version: string): string {
  const g = groupCamel(group);
  return `${g.charAt(0).toLowerCase()}${g.slice(1)}_${version}`;
}

interface OpContext {
  r: ResourceInfo;
  gvk: GroupVersionKind;
  /** e.g. `AppsV1`. */
  gv: string;
  tags: string[];
}

function op(ctx: OpContext, action: string, operationId: string, description: string, parameters: Json[], resp: Json, requestBody?: Json): Json {
  const o: Json = { tags: ctx.tags, description, operationId, parameters };
  if (requestBody) o.requestBody = requestBody;
  o.responses = resp;
  o['x-kubernetes-action'] = action;
  o['x-kubernetes-group-version-kind'] = { ...ctx.gvk };
  return o;
}

/**
 * Kinds served without a schema (PodGroup, served built-in until CRDs arrive) are left out of OpenAPI, as a CRD
 * without a structural schema would be: kubectl then skips client-side validation for them.
 */
function hasSchema(r: ResourceInfo): boolean {
  return definitionForKind(r.group, r.version, r.kind) !== undefined;
}

function kindDef(group: string, version: string, kind: string): string {
  const def = definitionForKind(group, version, kind);
  if (!def) throw new Error(`openapi: no schema for ${group || 'core'}/${version} ${kind}`);
  return def;
}

function resourcePaths(r: ResourceInfo, paths: Record<string, Json>, roots: Set<string>): void {
  const def = kindDef(r.group, r.version, r.kind);
  const listDef = definitionForKind(r.group, r.version, r.listKind);
  roots.add(def);
  if (listDef) roots.add(listDef);
  const prefix = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  const ns = r.namespaced ? 'Namespaced' : '';
  const gv = `${groupCamel(r.group)}${r.version.charAt(0).toUpperCase()}${r.version.slice(1)}`;
  const ctx: OpContext = { r, gvk: { group: r.group, version: r.version, kind: r.kind }, gv, tags: [tag(r.group, r.version)] };
  const has = (v: string) => r.verbs.includes(v);
  const writeParams = [P.dryRun, P.fieldManager, P.fieldValidation];
  const deleteParams = [P.dryRun, P.gracePeriodSeconds, P.orphanDependents, P.propagationPolicy];
  const body = (d: string): Json => ({ content: { '*/*': { schema: ref(d) } }, required: true });
  const deleteBody: Json = { content: { '*/*': { schema: ref(DELETE_OPTIONS_DEF) } } };
  const pathParams = (named: boolean): Json[] => [...(named ? [P.name(r.kind)] : []), ...(r.namespaced ? [P.namespace] : []), P.pretty];

  const collection = r.namespaced ? `${prefix}/namespaces/{namespace}/${r.resource}` : `${prefix}/${r.resource}`;
  const coll: Json = { parameters: pathParams(false) };
  if (has('list') && listDef) {
    coll.get = op(ctx, 'list', `list${gv}${ns}${r.kind}`, `list or watch objects of kind ${r.kind}`, P.list, responses([['200', 'OK']], listDef, LIST_TYPES));
  }
  if (has('create')) {
    coll.post = op(ctx, 'post', `create${gv}${ns}${r.kind}`, `create ${article(r.kind)}`, writeParams,
      responses([['200', 'OK'], ['201', 'Created'], ['202', 'Accepted']], def), body(def));
  }
  if (has('deletecollection')) {
    coll.delete = op(ctx, 'deletecollection', `delete${gv}Collection${ns}${r.kind}`, `delete collection of ${r.kind}`,
      [...P.list.filter((p) => p.name !== 'watch' && p.name !== 'allowWatchBookmarks'), ...deleteParams], responses([['200', 'OK']], STATUS_DEF), deleteBody);
  }
  if (Object.keys(coll).length > 1) paths[collection] = coll;

  if (r.namespaced && has('list') && listDef) {
    paths[`${prefix}/${r.resource}`] = {
      parameters: [P.pretty],
      get: op(ctx, 'list', `list${gv}${r.kind}ForAllNamespaces`, `list or watch objects of kind ${r.kind}`, P.list,
        responses([['200', 'OK']], listDef, LIST_TYPES)),
    };
  }

  const item: Json = { parameters: pathParams(true) };
  if (has('get')) item.get = op(ctx, 'get', `read${gv}${ns}${r.kind}`, `read the specified ${r.kind}`, [], responses([['200', 'OK']], def));
  if (has('update')) {
    item.put = op(ctx, 'put', `replace${gv}${ns}${r.kind}`, `replace the specified ${r.kind}`, writeParams,
      responses([['200', 'OK'], ['201', 'Created']], def), body(def));
  }
  if (has('patch')) {
    item.patch = op(ctx, 'patch', `patch${gv}${ns}${r.kind}`, `partially update the specified ${r.kind}`, [...writeParams, P.force],
      responses([['200', 'OK'], ['201', 'Created']], def), { content: content(PATCH_TYPES, PATCH_DEF), required: true });
  }
  if (has('delete')) {
    item.delete = op(ctx, 'delete', `delete${gv}${ns}${r.kind}`, `delete ${article(r.kind)}`, deleteParams,
      responses([['200', 'OK'], ['202', 'Accepted']], STATUS_DEF), deleteBody);
  }
  if (Object.keys(item).length > 1) paths[`${collection}/{name}`] = item;

  for (const s of r.subresources) {
    if (s.name === 'status' || s.name === 'scale') subresourcePaths(r, s, ctx, `${collection}/{name}/${s.name}`, paths, roots, pathParams(true));
  }
}

function subresourcePaths(r: ResourceInfo, s: SubresourceInfo, parent: OpContext, path: string, paths: Record<string, Json>, roots: Set<string>, parameters: Json[]): void {
  const def = kindDef(s.group, s.version, s.kind);
  roots.add(def);
  const ctx: OpContext = { ...parent, gvk: { group: s.group, version: s.version, kind: s.kind } };
  const ns = r.namespaced ? 'Namespaced' : '';
  const suffix = s.name === 'status' ? 'Status' : 'Scale';
  const id = `${parent.gv}${ns}${r.kind}${suffix}`;
  const what = `${s.name} of the specified ${r.kind}`;
  const writeParams = [P.dryRun, P.fieldManager, P.fieldValidation];
  const item: Json = { parameters };
  if (s.verbs.includes('get')) item.get = op(ctx, 'get', `read${id}`, `read ${what}`, [], responses([['200', 'OK']], def));
  if (s.verbs.includes('update')) {
    item.put = op(ctx, 'put', `replace${id}`, `replace ${what}`, writeParams, responses([['200', 'OK'], ['201', 'Created']], def),
      { content: { '*/*': { schema: ref(def) } }, required: true });
  }
  if (s.verbs.includes('patch')) {
    item.patch = op(ctx, 'patch', `patch${id}`, `partially update ${what}`, [...writeParams, P.force],
      responses([['200', 'OK'], ['201', 'Created']], def), { content: content(PATCH_TYPES, PATCH_DEF), required: true });
  }
  paths[path] = item;
}

function article(kind: string): string {
  return `${/^[AEIOU]/.test(kind) ? 'an' : 'a'} ${kind}`;
}

/**
 * The OpenAPI v3 document of one group-version key, or undefined if no served resource belongs to it. Component
 * schemas are copies: top-level kinds keep their `x-kubernetes-group-version-kind` arrays, and meta Status /
 * DeleteOptions get the core v1 GVK upstream gives them.
 */
export function buildGroupVersionDocument(key: string): Json | undefined {
  const rs = RESOURCES.filter((r) => groupVersionKey(r.group, r.version) === key && hasSchema(r));
  if (!rs.length) return undefined;
  const paths: Record<string, Json> = {};
  const roots = new Set<string>([STATUS_DEF, DELETE_OPTIONS_DEF, PATCH_DEF]);
  for (const r of rs) resourcePaths(r, paths, roots);
  const all = allSchemas();
  const schemas: Record<string, Schema> = {};
  for (const name of reachableDefinitions(roots)) {
    let s = all[name];
    if ((name === STATUS_DEF || name === DELETE_OPTIONS_DEF) && !s['x-kubernetes-group-version-kind']) {
      s = { ...s, 'x-kubernetes-group-version-kind': [{ group: '', kind: name.slice(META.length + 1), version: 'v1' }] };
    }
    schemas[name] = s;
  }
  const sortedPaths = Object.fromEntries(Object.keys(paths).sort().map((p) => [p, paths[p]]));
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'v1.32.0' },
    paths: sortedPaths,
    components: { schemas },
  };
}
