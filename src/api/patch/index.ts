/**
 * PATCH for the apiserver: picks the patch semantics from the request's Content-Type, as kube-apiserver does, and
 * answers malformed patches with the same Status codes (400 for undecodable bodies, 422 for JSON patch operations
 * that do not apply, 413 for oversized JSON patches, 415 for unknown patch types).
 *
 * Server-side apply (`application/apply-patch+yaml`) is handled elsewhere; here it is an unsupported media type.
 */

import jsonpatch from 'fast-json-patch';
import { ApiError, errors } from '../errors.js';
import { cloneJson, hasOwn, isObject, put, type Json, type JsonObject } from './json-value.js';
import { parseJsonBody } from './json-syntax.js';
import { rootTypeName } from './patch-meta.js';
import { jsonKind, strategicMergePatch } from './strategic-merge.js';

export { strategicMergePatch } from './strategic-merge.js';
export { PATCH_META, ROOT_TYPES, fieldMeta, rootTypeName, type FieldMeta, type PatchStrategy, type TypeMeta } from './patch-meta.js';

/** The patch media types this module implements (kube-apiserver's `types.PatchType` values). */
export const PATCH_CONTENT_TYPES = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
} as const;

/** kube-apiserver's maxJSONPatchOperations. */
export const MAX_JSON_PATCH_OPERATIONS = 10000;

/**
 * Cap on the bytes all `copy` operations of one JSON patch may add, like evanphx/json-patch's
 * AccumulatedCopySizeLimit: without it, a few thousand self-copies double the object each time.
 */
export const MAX_JSON_PATCH_COPY_BYTES = 3 * 1024 * 1024;

/**
 * The root strategic-merge type of a served kind (`apps/v1`, `Deployment` → `io.k8s.api.apps.v1.Deployment`), or
 * undefined for kinds without metadata, which then patch like JSON merge patch.
 */
export function patchTypeName(apiVersion: string, kind: string): string | undefined {
  return rootTypeName(apiVersion, kind);
}

/**
 * Applies a PATCH body to `original` according to `contentType` and returns the patched object (a new object;
 * `original` is not modified). `typeName` only matters for strategic merge patch.
 */
export function applyPatch(original: object, contentType: string, patchBody: Buffer | string, typeName?: string): object {
  switch (patchKind(contentType)) {
    case 'json':
      return applyJsonPatch(original, parseJsonBody(patchBody, 'error decoding patch: '));
    case 'merge': {
      const patch = parseJsonBody(patchBody, 'error decoding patch: ');
      // evanphx/json-patch refuses a `null` merge patch with ErrBadJSONPatch, which the apiserver turns into a 400.
      if (patch === null) throw errors.badRequest('Invalid JSON Patch');
      if (!isObject(patch)) {
        throw errors.badRequest(`error decoding patch: json: cannot unmarshal ${jsonKind(patch)} into Go value of type map[string]interface {}`);
      }
      return jsonMergePatch(original, patch);
    }
    case 'strategic': {
      const patch = parseJsonBody(patchBody);
      // Go decodes `null` into a nil map without error, and an empty strategic patch changes nothing.
      if (patch === null) return cloneJson(original, 'object') as JsonObject;
      if (!isObject(patch)) {
        throw errors.badRequest(`json: cannot unmarshal ${jsonKind(patch)} into Go value of type map[string]interface {}`);
      }
      return strategicMergePatch(original, patch, typeName);
    }
    default:
      throw errors.unsupportedMediaType(contentType);
  }
}

/**
 * Which of the three patch types a Content-Type names (parameters and case ignored), or undefined. Lets the router
 * tell these apart from apply patches and unsupported types before reading the body.
 */
export function patchKind(contentType: string): 'json' | 'merge' | 'strategic' | undefined {
  const mediaType = contentType.split(';')[0]!.trim().toLowerCase();
  if (mediaType === PATCH_CONTENT_TYPES.json) return 'json';
  if (mediaType === PATCH_CONTENT_TYPES.merge) return 'merge';
  if (mediaType === PATCH_CONTENT_TYPES.strategic) return 'strategic';
  return undefined;
}

/** The 422 kube-apiserver gives when a JSON patch operation fails (it drops the underlying reason). */
function jsonPatchNotApplicable(): ApiError {
  return new ApiError(422, 'Invalid', 'the server rejected our request due to an error in our request', {});
}

/**
 * RFC 6902 JSON patch on an already decoded patch document. Exported for callers that decoded the body themselves
 * (e.g. from YAML). Non-array bodies and non-object operations are 400; operations that do not apply (missing path,
 * failed `test`, unknown `op`) are 422; more than MAX_JSON_PATCH_OPERATIONS operations are 413.
 */
export function applyJsonPatch(original: object, patch: unknown): object {
  if (!Array.isArray(patch)) {
    throw errors.badRequest(`error decoding patch: json: cannot unmarshal ${jsonKind(patch)} into Go value of type []handlers.jsonPatchOp`);
  }
  for (const op of patch) {
    if (!isObject(op)) {
      throw errors.badRequest(`error decoding patch: json: cannot unmarshal ${jsonKind(op)} into Go value of type handlers.jsonPatchOp`);
    }
  }
  if (patch.length > MAX_JSON_PATCH_OPERATIONS) {
    throw errors.tooLarge(`Request entity too large: The allowed maximum operations in a JSON patch is ${MAX_JSON_PATCH_OPERATIONS}, got ${patch.length}`);
  }
  const ops = cloneJson(patch, 'patch') as JsonObject[];
  let doc: Json = cloneJson(original, 'object');
  let copied = 0;
  ops.forEach((op, index) => {
    try {
      if (op.op === 'copy' && typeof op.from === 'string') {
        const v: unknown = jsonpatch.getValueByPointer(doc, op.from);
        copied += v === undefined ? 0 : JSON.stringify(v).length;
        if (copied > MAX_JSON_PATCH_COPY_BYTES) throw new Error('accumulated copy size exceeded');
      }
      // validate=true checks op/path/value shape against the document; mutate=true works on our private copy.
      doc = jsonpatch.applyOperation(doc, op as unknown as jsonpatch.Operation, true, true, true, index).newDocument as Json;
    } catch {
      throw jsonPatchNotApplicable();
    }
  });
  if (!isObject(doc)) throw jsonPatchNotApplicable();
  try {
    // Self-copies can nest the object deeper than anything downstream should have to walk.
    return cloneJson(doc, 'object') as JsonObject;
  } catch {
    throw jsonPatchNotApplicable();
  }
}

/**
 * RFC 7386 JSON merge patch on an already decoded object patch: maps merge recursively, `null` deletes, everything
 * else (lists included) replaces. Directive-looking keys have no meaning here and are kept as data.
 */
export function jsonMergePatch(original: object, patch: object): object {
  const target = cloneJson(original, 'object');
  const p = cloneJson(patch, 'patch');
  const out = mergeInto(target, p);
  if (!isObject(out)) throw errors.badRequest('error decoding patch: merge patch must be a JSON object');
  return out;
}

function mergeInto(target: Json, patch: Json): Json {
  if (!isObject(patch)) return patch;
  const t: JsonObject = isObject(target) ? target : {};
  for (const k of Object.keys(patch)) {
    const v = patch[k]!;
    if (v === null) delete t[k];
    else put(t, k, mergeInto(hasOwn(t, k) ? t[k]! : null, v));
  }
  return t;
}
