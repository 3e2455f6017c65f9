/**
 * Server-side unknown-field detection (KEP-2885, `?fieldValidation=Strict|Warn|Ignore`), driven by the same schemas
 * the OpenAPI documents serve. kube-apiserver finds unknown fields while strictly decoding JSON into Go structs
 * (sigs.k8s.io/json); this walks the decoded object against the schema instead and reports the same paths in the
 * same order (document order), so kubectl users see upstream's messages.
 */
import { parseApiVersion } from '../resources.js';
import { allSchemas, definitionForKind, resolveSchema, type Schema } from './schemas.js';

/** sigs.k8s.io/json stops collecting strict errors after this many. */
const MAX_STRICT_ERRORS = 100;

/**
 * Paths of the fields in `obj` that its kind's schema does not declare, formatted as upstream's strict decoder
 * formats them: dot-separated field names, `[i]` for list items, map keys as plain segments
 * (`spec.template.spec.containers[0].imagee`, `metadata.labelz`). Subtrees typed RawExtension/FieldsV1/JSON accept
 * anything. Returns [] for kinds without a schema (nothing to judge against).
 */
export function findUnknownFields(apiVersion: string, kind: string, obj: unknown): string[] {
  const { group, version } = parseApiVersion(apiVersion);
  const def = definitionForKind(group, version, kind);
  if (!def) return [];
  const out: string[] = [];
  walk(allSchemas()[def], obj, '', out);
  return out;
}

/** Unknown-field paths of `obj` against a named definition (for bodies that are not top-level kinds). */
export function findUnknownFieldsForDefinition(definition: string, obj: unknown): string[] {
  const s = allSchemas()[definition];
  if (!s) return [];
  const out: string[] = [];
  walk(s, obj, '', out);
  return out;
}

function walk(schema: Schema | undefined, value: unknown, path: string, out: string[]): void {
  if (out.length >= MAX_STRICT_ERRORS) return;
  const s = resolveSchema(schema);
  if (!s || value === null || typeof value !== 'object') return;
  if (s['x-kubernetes-preserve-unknown-fields']) return;
  if (Array.isArray(value)) {
    if (s.items) value.forEach((v, i) => walk(s.items, v, `${path}[${i}]`, out));
    return;
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (s.properties) {
    for (const [k, v] of entries) {
      const sub = path ? `${path}.${k}` : k;
      const prop = Object.prototype.hasOwnProperty.call(s.properties, k) ? s.properties[k] : undefined;
      if (prop) walk(prop, v, sub, out);
      else if (out.length < MAX_STRICT_ERRORS) out.push(sub);
    }
    return;
  }
  if (s.additionalProperties && typeof s.additionalProperties === 'object') {
    for (const [k, v] of entries) walk(s.additionalProperties, v, path ? `${path}.${k}` : k, out);
    return;
  }
  // A struct without fields (Go `struct{}`): everything in it is unknown.
  if (s.type === 'object' && s.additionalProperties === undefined && !s.oneOf) {
    for (const [k] of entries) if (out.length < MAX_STRICT_ERRORS) out.push(path ? `${path}.${k}` : k);
  }
}

/** The text of one strict-decoding problem, as upstream words it (also the text of each Warn-mode warning). */
export function unknownFieldMessage(field: string): string {
  return `unknown field ${JSON.stringify(field)}`;
}

/**
 * `strict decoding error: unknown field "spec.foo", unknown field "spec.bar"` — the message of upstream's
 * runtime.StrictDecodingError. PATCH requests with `fieldValidation=Strict` answer 400 BadRequest with exactly this.
 */
export function strictDecodingMessage(fields: string[]): string {
  return `strict decoding error: ${fields.map(unknownFieldMessage).join(', ')}`;
}

/**
 * The 400 BadRequest message for create (POST) and update (PUT) with `fieldValidation=Strict`, which upstream wraps
 * as `<Kind> in version "<version>" cannot be handled as a <Kind>: strict decoding error: ...`. kubectl prints it
 * after `Error from server (BadRequest): `.
 */
export function strictDecodingBadRequestMessage(apiVersion: string, kind: string, fields: string[]): string {
  const { version } = parseApiVersion(apiVersion);
  return `${kind} in version ${JSON.stringify(version)} cannot be handled as a ${kind}: ${strictDecodingMessage(fields)}`;
}

/**
 * One warning per unknown field for `fieldValidation=Warn` (and kubectl's `--validate=warn`): the server sends each
 * as a `Warning: 299 - "unknown field \"spec.foo\""` header and kubectl prints `Warning: unknown field "spec.foo"`.
 */
export function unknownFieldWarnings(fields: string[]): string[] {
  return fields.map(unknownFieldMessage);
}
