/**
 * CREATE (POST), UPDATE (PUT) and PATCH, with kube-apiserver's order of operations: decode (JSON, YAML or
 * protobuf) → strict/warn field validation → namespace lifecycle admission → strategy (system metadata, defaults)
 * → validation (422 with causes) → dry run or store (optimistic concurrency → 409).
 */
import { ApiError, KObject, errors } from '../../api/errors.js';
import { apiVersionOf, parseApiVersion, ResourceInfo } from '../../api/resources.js';
import { decodeProtobuf } from '../../api/protobuf/index.js';
import { checkFieldTypes, findUnknownFields, strictDecodingMessage, strictDecodingBadRequestMessage, typeErrorBadRequestMessage } from '../../api/openapi/index.js';
import { allSchemas, definitionForKind, resolveSchema, type Schema } from '../../api/openapi/schemas.js';
import { applyPatch, patchTypeName } from '../../api/patch/index.js';
import { readBody, RequestContext, writeJsonText, writeObject } from '../context.js';
import { mediaType, parseJsonOrYaml, negotiate, checkDepth, type Negotiated } from '../negotiation.js';
import { generateNameSuffix } from '../registry.js';
import { prepareForCreate, prepareForUpdate, validateOrThrow } from '../strategy.js';
import { deletesOnUpdate, finalizeIfDeletable } from './delete.js';
import { sameJson } from '../../util/same-json.js';

const BODY_TYPES = new Set(['application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf', '']);

/** Decodes a request body into an object of the endpoint's kind (400 on a kind/apiVersion mismatch). */
export async function decodeObjectBody(ctx: RequestContext, expect: { apiVersion: string; kind: string } = { apiVersion: apiVersionOf(ctx.info), kind: ctx.info.kind }): Promise<KObject> {
  const type = mediaType(ctx.req.headers['content-type']);
  if (!BODY_TYPES.has(type)) {
    ctx.req.resume();
    throw errors.unsupportedMediaType(type);
  }
  const body = await readBody(ctx.req);
  if (body.length === 0) throw errors.badRequest('the request body is empty');
  let obj: Record<string, unknown>;
  if (type === 'application/vnd.kubernetes.protobuf') {
    const d = decodeProtobuf(body);
    obj = d.object;
    checkDepth(obj);
  } else {
    obj = parseJsonOrYaml(body, type === 'application/yaml' ? 'application/yaml' : 'application/json');
  }
  return checkKind(ctx, obj, expect);
}

function checkKind(ctx: RequestContext, obj: Record<string, unknown>, expect: { apiVersion: string; kind: string }): KObject {
  if (obj.apiVersion !== undefined && typeof obj.apiVersion !== 'string') throw errors.badRequest('apiVersion must be a string');
  if (obj.kind !== undefined && typeof obj.kind !== 'string') throw errors.badRequest('kind must be a string');
  if (obj.kind && obj.kind !== expect.kind) {
    throw errors.badRequest(`the API version in the data (${obj.apiVersion ?? ''}) does not match the expected API version (${expect.apiVersion}); or kind "${obj.kind}" does not match the expected kind "${expect.kind}"`);
  }
  if (obj.apiVersion && obj.apiVersion !== expect.apiVersion) {
    const got = parseApiVersion(obj.apiVersion as string);
    const want = parseApiVersion(expect.apiVersion);
    if (got.group !== want.group || got.version !== want.version) {
      throw errors.badRequest(`the API version in the data (${obj.apiVersion}) does not match the expected API version (${expect.apiVersion})`);
    }
  }
  if (obj.metadata === undefined || obj.metadata === null) obj.metadata = {};
  if (typeof obj.metadata !== 'object' || Array.isArray(obj.metadata)) throw errors.badRequest('metadata must be an object');
  obj.apiVersion = expect.apiVersion;
  obj.kind = expect.kind;
  return obj as KObject;
}

/** fieldValidation=Strict|Warn|Ignore (default Warn, as kube-apiserver 1.27+). */
export function checkUnknownFields(ctx: RequestContext, obj: KObject, isPatch = false): void {
  const mode = ctx.query.get('fieldValidation') ?? 'Warn';
  if (!['Strict', 'Warn', 'Ignore', ''].includes(mode)) {
    throw errors.badRequest(`fieldValidation: Unsupported value: "${mode}": supported values: "Ignore", "Strict", "Warn"`);
  }
  // Wrong JSON types fail decoding before anything else, as Go's decoder does (400, upstream wording).
  const typeErrors = checkFieldTypes(obj.apiVersion!, obj.kind!, obj);
  if (typeErrors.length) {
    throw errors.badRequest(isPatch ? typeErrors[0].message : typeErrorBadRequestMessage(obj.apiVersion!, obj.kind!, typeErrors[0]));
  }
  const unknown = mode === 'Ignore' ? [] : findUnknownFields(obj.apiVersion!, obj.kind!, obj);
  if (mode === 'Strict' && unknown.length) {
    // POST/PUT name the kind as the decoder does; PATCH reports the bare strict-decoding text, as upstream.
    throw errors.badRequest(isPatch ? strictDecodingMessage(unknown) : strictDecodingBadRequestMessage(obj.apiVersion!, obj.kind!, unknown));
  }
  for (const f of unknown) ctx.warnings.push(`unknown field "${f.replace(/^\./, '')}"`);
  // Warn and Ignore decode non-strictly: unknown fields are dropped, never stored. Pruning removes exactly what
  // findUnknownFields reports (same walk), so an object with none has nothing to prune.
  if (mode === 'Ignore' || unknown.length) pruneUnknownFields(obj);
}

/** Removes, in place, the fields the kind's schema does not declare (what upstream's non-strict decoding drops). */
export function pruneUnknownFields(obj: KObject): void {
  const { group, version } = parseApiVersion(obj.apiVersion!);
  const def = definitionForKind(group, version, obj.kind!);
  if (def) prune(allSchemas()[def], obj);
}

function prune(schema: Schema | undefined, value: unknown): void {
  if (value === null || typeof value !== 'object') return;
  const s = resolveSchema(schema);
  if (!s || s['x-kubernetes-preserve-unknown-fields']) return;
  if (Array.isArray(value)) {
    if (s.items) for (const v of value) prune(s.items, v);
    return;
  }
  const o = value as Record<string, unknown>;
  if (s.properties) {
    for (const k of Object.keys(o)) {
      const prop = Object.prototype.hasOwnProperty.call(s.properties, k) ? s.properties[k] : undefined;
      if (prop) prune(prop, o[k]);
      else delete o[k];
    }
  } else if (s.additionalProperties && typeof s.additionalProperties === 'object') {
    for (const k of Object.keys(o)) prune(s.additionalProperties, o[k]);
  } else if (s.type === 'object' && s.additionalProperties === undefined && !s.oneOf) {
    for (const k of Object.keys(o)) delete o[k];
  }
}

export function isDryRun(ctx: RequestContext): boolean {
  const v = ctx.query.getAll('dryRun');
  if (v.length === 0) return false;
  for (const x of v) if (x !== 'All') throw errors.badRequest(`dryRun: Unsupported value: "${x}": supported values: "All"`);
  return true;
}

function checkNamespace(ctx: RequestContext, obj: KObject): void {
  const { info, ri } = ctx;
  const m = obj.metadata;
  if (!info.namespaced) {
    delete m.namespace;
    return;
  }
  if (m.namespace !== undefined && m.namespace !== '' && m.namespace !== ri.namespace) {
    throw errors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
  }
  if (ri.namespace === undefined) throw errors.methodNotAllowed(`${info.resource} must be created in a namespace`);
  m.namespace = ri.namespace;
}

/** The create path shared by POST and server-side-apply-creates. */
export async function createObject(ctx: RequestContext, obj: KObject, dryRun: boolean): Promise<KObject> {
  const { info } = ctx;
  checkNamespace(ctx, obj);
  const m = obj.metadata;
  const requestedName = m.name;
  // SimpleNameGenerator: the base is cut to 58 characters so that base + 5 random characters fit in 63.
  const generate = () => (m.generateName as string).slice(0, 58) + generateNameSuffix();
  const generated = !m.name && typeof m.generateName === 'string' && m.generateName !== '';
  if (generated) m.name = generate();
  if (!m.name) throw errors.invalid(info.kind, info.group, '', [{ reason: 'FieldValueRequired', message: 'Required value: name or generateName is required', field: 'metadata.name' }]);
  await ctx.core.admitNamespace(info, m.namespace, requestedName);
  prepareForCreate(info, obj);
  await ctx.core.admitCreate?.(ctx, obj);
  validateOrThrow(info, obj);
  // Storage hooks (service IP/port allocation) run after validation and are undone when the write fails.
  // No hooks (most kinds): no await at all, each would cost a microtask turn per create.
  const hooks = ctx.core.hooksFor(info);
  const txn = hooks?.beginCreate ? await hooks.beginCreate(obj, dryRun) : undefined;
  if (dryRun) {
    await txn?.revert();
    return obj;
  }
  // RetryGenerateName (on by default since 1.30): a generated name that collides is regenerated, up to 7 tries.
  for (let attempt = 1; ; attempt++) {
    try {
      // `obj` is this request's own decoded object: stamped in place rather than copied.
      const created = await ctx.core.registry.create(info, obj, true);
      if (txn) await txn.commit();
      return created;
    } catch (e) {
      if (!generated || attempt >= 7 || !(e instanceof ApiError) || e.reason !== 'AlreadyExists') {
        await txn?.revert();
        throw e;
      }
      m.name = generate();
    }
  }
}

export async function handleCreate(ctx: RequestContext): Promise<void> {
  if (ctx.ri.name !== undefined) throw errors.methodNotAllowed('POST on a named resource is not allowed');
  const neg = negotiate(ctx.req.headers.accept, { allowTable: false, allowProtobuf: true });
  const obj = await decodeObjectBody(ctx);
  checkUnknownFields(ctx, obj);
  const out = await createObject(ctx, obj, isDryRun(ctx));
  writeWritten(ctx, 201, out, neg);
}

/** JSON clients get the text just stored (resourceVersion spliced in) instead of a second serialization. */
function writeWritten(ctx: RequestContext, code: number, out: KObject, neg: Negotiated): void {
  const raw = neg.format === 'json' && neg.shape === 'object' ? ctx.core.registry.writtenJson(ctx.info, out) : undefined;
  if (raw !== undefined) writeJsonText(ctx.res, code, raw, ctx.warnings);
  else writeObject(ctx.res, code, out, neg, ctx.warnings);
}

/** Writes `next` over `current` (already merged by the caller) with the update strategy and validation. */
export async function updateObject(ctx: RequestContext, info: ResourceInfo, next: KObject, current: KObject, dryRun: boolean, subresource?: string): Promise<KObject> {
  const rv = next.metadata?.resourceVersion;
  if (rv !== undefined && rv !== '' && rv !== current.metadata.resourceVersion) {
    throw errors.conflict(info.resource, info.group, current.metadata.name!, 'the object has been modified; please apply your changes to the latest version and try again');
  }
  if (!info.namespaced && next.metadata) delete next.metadata.namespace; // cleared, as upstream's create/update path does
  const merged = prepareForUpdate(info, next, current, subresource);
  // Storage hooks (service IP/port allocation) see the merged object before validation; undone on any failure.
  const txn = subresource ? undefined : await ctx.core.hooksFor(info)?.beginUpdate?.(merged, current, dryRun);
  let out: KObject;
  try {
    validateOrThrow(info, merged, current, subresource);
    // Re-added last, where a decoded object has it: a client sending back an object as a watch or a write answered
    // it (resourceVersion first, spliced into the stored text) is still recognised as unchanged.
    delete merged.metadata.resourceVersion;
    merged.metadata.resourceVersion = current.metadata.resourceVersion;
    if (sameJson(merged, current)) out = current; // no-op (same JSON text): no write, same resourceVersion
    else if (dryRun) out = merged;
    else if (deletesOnUpdate(info, merged)) {
      // The last finalizer went: delete (at the revision we read) instead of writing.
      out = await ctx.core.registry.remove(info, current.metadata.namespace, current.metadata.name!, Number(current.metadata.resourceVersion));
      await ctx.core.afterRemove(info, out);
    } else {
      const stored = await ctx.core.registry.update(info, merged, Number(current.metadata.resourceVersion));
      out = await finalizeIfDeletable(ctx, info, stored);
    }
  } catch (e) {
    await txn?.revert();
    throw e;
  }
  if (dryRun) await txn?.revert();
  else await txn?.commit();
  return out;
}

export async function handleUpdate(ctx: RequestContext): Promise<void> {
  const { info, ri } = ctx;
  if (ri.name === undefined) throw errors.methodNotAllowed('PUT on a collection is not allowed');
  const neg = negotiate(ctx.req.headers.accept, { allowTable: false, allowProtobuf: true });
  const obj = await decodeObjectBody(ctx);
  checkUnknownFields(ctx, obj);
  if (obj.metadata.name !== undefined && obj.metadata.name !== ri.name) {
    throw errors.badRequest(`the name of the object (${obj.metadata.name}) does not match the name on the URL (${ri.name})`);
  }
  obj.metadata.name = ri.name;
  if (info.namespaced) {
    if (obj.metadata.namespace && obj.metadata.namespace !== ri.namespace) throw errors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
    obj.metadata.namespace = ri.namespace;
  }
  const dryRun = isDryRun(ctx);
  const current = ri.subresource || !CREATE_ON_UPDATE.has(`${info.group}/${info.resource}`)
    ? await ctx.core.registry.get(info, ri.namespace, ri.name)
    : await ctx.core.registry.tryGet(info, ri.namespace, ri.name);
  if (!current) {
    // AllowCreateOnUpdate: PUT creates a missing object, unless the client expected an existing version.
    if (obj.metadata.resourceVersion) throw errors.notFound(info.resource, info.group, ri.name);
    const created = await createObject(ctx, obj, dryRun);
    writeObject(ctx.res, 201, created, neg, ctx.warnings);
    return;
  }
  // A UID in the PUT body is a precondition (rest.defaultUpdatedObjectInfo.Preconditions): replacing an object
  // that was deleted and recreated under the same name fails instead of overwriting the new one.
  const uid = obj.metadata.uid;
  if (uid && uid !== current.metadata.uid) {
    throw errors.conflict(info.resource, info.group, ri.name, `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${current.metadata.uid}`);
  }
  const out = await updateObject(ctx, info, obj, current, dryRun, ri.subresource);
  writeWritten(ctx, 200, out, neg);
}

/** Resources whose upstream update strategy has AllowCreateOnUpdate() == true (`group/resource`). */
const CREATE_ON_UPDATE = new Set([
  '/endpoints', '/events', '/limitranges', '/services', 'events.k8s.io/events', 'coordination.k8s.io/leases',
  'rbac.authorization.k8s.io/roles', 'rbac.authorization.k8s.io/rolebindings',
  'rbac.authorization.k8s.io/clusterroles', 'rbac.authorization.k8s.io/clusterrolebindings',
]);

const PATCH_TYPES = new Set(['application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/apply-patch+yaml']);

export async function handlePatch(ctx: RequestContext): Promise<void> {
  const { info, ri } = ctx;
  if (ri.name === undefined) throw errors.methodNotAllowed('PATCH on a collection is not allowed');
  const neg = negotiate(ctx.req.headers.accept, { allowTable: false, allowProtobuf: true });
  const type = mediaType(ctx.req.headers['content-type']);
  if (!PATCH_TYPES.has(type)) {
    ctx.req.resume();
    throw errors.unsupportedMediaType(type);
  }
  const body = await readBody(ctx.req);
  const dryRun = isDryRun(ctx);
  const typeName = patchTypeName(apiVersionOf(info), info.kind);

  if (type === 'application/apply-patch+yaml') {
    // Server-side apply, simplified: the applied configuration is strategically merged into the live object
    // (created when absent). Field ownership and conflicts (managedFields) are not tracked yet.
    const applied = checkKind(ctx, parseJsonOrYaml(body, type), { apiVersion: apiVersionOf(info), kind: info.kind });
    checkUnknownFields(ctx, applied);
    if (applied.metadata.name !== undefined && applied.metadata.name !== ri.name) {
      throw errors.badRequest(`the name of the object (${applied.metadata.name}) does not match the name on the URL (${ri.name})`);
    }
    const current = await ctx.core.registry.tryGet(info, ri.namespace, ri.name);
    if (!current) {
      applied.metadata.name = ri.name;
      const created = await createObject(ctx, applied, dryRun);
      writeObject(ctx.res, 201, created, neg, ctx.warnings);
      return;
    }
    const out = await patchLoop(ctx, info, dryRun, (cur) => applyPatch(cur, 'application/strategic-merge-patch+json', JSON.stringify(applied), typeName) as KObject);
    writeObject(ctx.res, 200, out, neg, ctx.warnings);
    return;
  }

  const out = await patchLoop(ctx, info, dryRun, (cur) => {
    const patched = applyPatch(cur, type, body, typeName) as KObject;
    if (patched === null || typeof patched !== 'object' || Array.isArray(patched)) throw errors.badRequest('the patch produced a non-object');
    checkDepth(patched);
    return patched;
  });
  writeWritten(ctx, 200, out, neg);
}

/**
 * Applies `mutate` to the live object and writes it, retrying on write conflicts (GuaranteedUpdate). `mutate` must
 * not modify its argument (it is the live object the update is checked against).
 */
async function patchLoop(ctx: RequestContext, info: ResourceInfo, dryRun: boolean, mutate: (cur: KObject) => KObject): Promise<KObject> {
  const { ri } = ctx;
  for (let attempt = 0; ; attempt++) {
    const current = await ctx.core.registry.get(info, ri.namespace, ri.name!);
    // Every patch kind works on its own deep copy (cloneJson in applyPatch), so `current` stays untouched without
    // a copy here.
    const patched = mutate(current);
    if (patched.kind !== undefined && patched.kind !== info.kind) throw errors.badRequest(`the patch changed the kind to "${patched.kind}"`);
    if (patched.apiVersion !== undefined && patched.apiVersion !== current.apiVersion) throw errors.badRequest(`the patch changed the apiVersion to "${patched.apiVersion}"`);
    patched.metadata ??= {};
    if (typeof patched.metadata !== 'object' || Array.isArray(patched.metadata)) throw errors.badRequest('metadata must be an object');
    patched.apiVersion = current.apiVersion;
    patched.kind = current.kind;
    checkUnknownFields(ctx, patched, true);
    if (patched.metadata.name !== undefined && patched.metadata.name !== ri.name) {
      throw errors.badRequest(`the name of the object (${patched.metadata.name}) does not match the name on the URL (${ri.name})`);
    }
    patched.metadata.name = ri.name;
    if (info.namespaced) patched.metadata.namespace = ri.namespace;
    // A resourceVersion the patch itself sets is a precondition (kubectl diff); the live one is just carried.
    try {
      return await updateObject(ctx, info, patched, current, dryRun, ri.subresource);
    } catch (e) {
      const explicitRv = patched.metadata.resourceVersion !== current.metadata.resourceVersion;
      if (!explicitRv && attempt < 4 && (e as { code?: number; reason?: string }).code === 409 && (e as { reason?: string }).reason === 'Conflict') continue;
      throw e;
    }
  }
}
