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
 * A schema prepared for the request-path walkers below: resolved once, with what they test precomputed and its
 * children linked lazily. Every request walks the same few hundred schemas; through nodes the walk does no `$ref`
 * resolution or WeakMap lookup per value and reads one object shape (schemas come in many shapes, which made every
 * property read megamorphic). One node per schema object as written (not per resolved schema): the Go type names
 * in type errors come from the reference.
 */
class SchemaNode {
  /** The schema `$ref`/`allOf` lead to (undefined when the reference is dangling). */
  readonly s: Schema | undefined;
  readonly type: string | undefined;
  readonly preserve: boolean;
  /** typeWalk checks nothing below here (unknown types, oneOf types such as IntOrString, date-time strings). */
  readonly typeSkip: boolean;
  /** An object schema without fields or additionalProperties (Go `struct{}`): every field in it is unknown. */
  readonly emptyStruct: boolean;
  private propNodes?: Map<string, SchemaNode>;
  private itemsNode?: SchemaNode | null;
  private addlNode?: SchemaNode | null;
  private struct?: string | null;

  constructor(readonly schema: Schema) {
    const s = resolveSchema(schema);
    this.s = s;
    this.type = s?.type;
    this.preserve = !!s?.['x-kubernetes-preserve-unknown-fields'];
    this.typeSkip = !s || this.preserve || !!s.oneOf || s.format === 'date-time';
    this.emptyStruct = !!s && !s.properties && !(s.additionalProperties && typeof s.additionalProperties === 'object') &&
      s.type === 'object' && s.additionalProperties === undefined && !s.oneOf;
  }

  /** Field nodes by name, or undefined when the schema declares no properties. */
  props(): Map<string, SchemaNode> | undefined {
    if (this.propNodes === undefined) {
      const ps = this.s?.properties;
      if (!ps) return undefined;
      const m = new Map<string, SchemaNode>();
      for (const k of Object.keys(ps)) if (ps[k]) m.set(k, nodeOf(ps[k]));
      this.propNodes = m;
    }
    return this.propNodes;
  }

  items(): SchemaNode | undefined {
    if (this.itemsNode === undefined) this.itemsNode = this.s?.items ? nodeOf(this.s.items) : null;
    return this.itemsNode ?? undefined;
  }

  /** The node of an object-valued additionalProperties. */
  additional(): SchemaNode | undefined {
    if (this.addlNode === undefined) {
      const a = this.s?.additionalProperties;
      this.addlNode = a && typeof a === 'object' ? nodeOf(a) : null;
    }
    return this.addlNode ?? undefined;
  }

  /** The Go struct name behind the reference (see structName). */
  structName(): string | undefined {
    if (this.struct === undefined) this.struct = structName(this.schema) ?? null;
    return this.struct ?? undefined;
  }
}

const nodes = new WeakMap<Schema, SchemaNode>();

function nodeOf(schema: Schema): SchemaNode {
  let n = nodes.get(schema);
  if (n === undefined) nodes.set(schema, (n = new SchemaNode(schema)));
  return n;
}

/** Root nodes by definition name: a `{ $ref }` to the definition (kept, so its node is built once). */
const rootNodes = new Map<string, SchemaNode>();

function rootNode(def: string): SchemaNode {
  let n = rootNodes.get(def);
  if (n === undefined) rootNodes.set(def, (n = nodeOf({ $ref: `#/components/schemas/${def}` })));
  return n;
}

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
  const schema = allSchemas()[def];
  if (schema) walk(nodeOf(schema), obj, '', out);
  return out;
}

/** Unknown-field paths of `obj` against a named definition (for bodies that are not top-level kinds). */
export function findUnknownFieldsForDefinition(definition: string, obj: unknown): string[] {
  const s = allSchemas()[definition];
  if (!s) return [];
  const out: string[] = [];
  walk(nodeOf(s), obj, '', out);
  return out;
}

function walk(n: SchemaNode, value: unknown, path: string, out: string[]): void {
  if (out.length >= MAX_STRICT_ERRORS) return;
  if (value === null || typeof value !== 'object') return;
  if (n.s === undefined || n.preserve) return;
  // Paths are built only where needed (an unknown field, or a subtree that still holds objects): the common,
  // valid request walks without allocating a string per field.
  if (Array.isArray(value)) {
    const items = n.items();
    if (items) for (let i = 0; i < value.length; i++) { const v = value[i]; if (v !== null && typeof v === 'object') walk(items, v, `${path}[${i}]`, out); }
    return;
  }
  const o = value as Record<string, unknown>;
  const props = n.props();
  if (props) {
    for (const k in o) {
      const prop = props.get(k);
      if (prop) {
        const v = o[k];
        if (v !== null && typeof v === 'object') walk(prop, v, path ? `${path}.${k}` : k, out);
      } else if (out.length < MAX_STRICT_ERRORS) out.push(path ? `${path}.${k}` : k);
    }
    return;
  }
  const addl = n.additional();
  if (addl) {
    for (const k in o) { const v = o[k]; if (v !== null && typeof v === 'object') walk(addl, v, path ? `${path}.${k}` : k, out); }
    return;
  }
  // A struct without fields (Go `struct{}`): everything in it is unknown.
  if (n.emptyStruct) {
    for (const k in o) if (out.length < MAX_STRICT_ERRORS) out.push(path ? `${path}.${k}` : k);
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

/** One value whose JSON type does not fit the schema, as upstream's JSON decoder would reject it. */
export interface FieldTypeError {
  /** Path in strict-decoding form (`spec.template.spec.containers[0].image`). */
  field: string;
  /**
   * upstream's wording: `json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type
   * int32`. The Go type is derived from the schema, so integer widths (int32 vs int64) are a name-based guess.
   */
  message: string;
}

/** Go int64 fields among the API's integers (by property name); every other integer is reported as int32. */
const INT64_FIELDS = new Set([
  'terminationGracePeriodSeconds', 'activeDeadlineSeconds', 'runAsUser', 'runAsGroup', 'fsGroup', 'supplementalGroups',
  'generation', 'observedGeneration', 'expirationSeconds', 'gracePeriodSeconds', 'deletionGracePeriodSeconds', 'seconds',
  'revision', 'startingDeadlineSeconds', 'tolerationSeconds', 'remainingItemCount', 'uid', 'gid',
]);

/**
 * Values whose JSON type the kind's Go types could not decode (a string for `replicas`, an object for `image`, ...).
 * Upstream fails the whole request with the first one regardless of fieldValidation:
 * `<Kind> in version "<v>" cannot be handled as a <Kind>: <message>` (400 BadRequest). Types with custom decoding
 * (Quantity, IntOrString, Time, RawExtension, ...) are not checked here.
 */
export function checkFieldTypes(apiVersion: string, kind: string, obj: unknown): FieldTypeError[] {
  const { group, version } = parseApiVersion(apiVersion);
  const def = definitionForKind(group, version, kind);
  if (!def) return [];
  const out: FieldTypeError[] = [];
  typeWalk(rootNode(def), obj, { segs: [], props: [] }, def.slice(def.lastIndexOf('.') + 1), '', out);
  return out;
}

/**
 * The path walked so far, as a stack (pushed and popped, so a valid object is checked without building a string
 * per field): `segs` holds property names, map keys and list indices; `props[i]` says whether `segs[i]` is a struct
 * field (Go's error names those, not map keys or indices).
 */
interface WalkPath {
  segs: Array<string | number>;
  props: boolean[];
}

function pathText(p: WalkPath): string {
  let out = '';
  for (const seg of p.segs) out += typeof seg === 'number' ? `[${seg}]` : out ? `.${seg}` : seg;
  return out;
}

function jsonKind(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return 'number';
  return typeof v === 'string' ? 'string' : 'object';
}

/** Go's reflect name of the type a schema decodes into (`int32`, `[]v1.Container`, `map[string]string`, `v1.PodSpec`). */
function goType(schema: Schema | undefined, prop: string): string {
  if (!schema) return 'interface {}';
  const ref = schema.$ref ?? (schema.allOf?.length === 1 ? schema.allOf[0].$ref : undefined);
  if (ref) {
    const name = ref.slice(ref.lastIndexOf('/') + 1);
    const parts = name.split('.');
    return `${parts[parts.length - 2]}.${parts[parts.length - 1]}`;
  }
  switch (schema.type) {
    case 'string': return schema.format === 'byte' ? '[]uint8' : 'string';
    case 'integer': return INT64_FIELDS.has(prop) ? 'int64' : 'int32';
    case 'number': return 'float64';
    case 'boolean': return 'bool';
    case 'array': return `[]${goType(schema.items, prop)}`;
    case 'object':
      return schema.additionalProperties && typeof schema.additionalProperties === 'object'
        ? `map[string]${goType(schema.additionalProperties, prop)}` : 'map[string]interface {}';
    default: return 'interface {}';
  }
}

function reportTypeError(n: SchemaNode, value: unknown, path: WalkPath, goStruct: string, prop: string, out: FieldTypeError[]): void {
  const actual = jsonKind(value);
  const shown = actual === 'number' && n.type === 'integer' ? `number ${String(value)}` : actual;
  const goStack = path.segs.filter((_, i) => path.props[i]);
  const where = goStack.length ? ` into Go struct field ${goStruct}.${goStack.join('.')}` : ' into Go value';
  out.push({ field: pathText(path), message: `json: cannot unmarshal ${shown}${where} of type ${goType(n.schema, prop)}` });
}

function typeWalk(n: SchemaNode, value: unknown, path: WalkPath, goStruct: string, prop: string, out: FieldTypeError[]): void {
  if (value === null || value === undefined) return; // null decodes to the zero value everywhere
  if (n.typeSkip) return;
  switch (n.type) {
    case 'string':
      if (typeof value !== 'string') reportTypeError(n, value, path, goStruct, prop, out);
      return;
    case 'boolean':
      if (typeof value !== 'boolean') reportTypeError(n, value, path, goStruct, prop, out);
      return;
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) reportTypeError(n, value, path, goStruct, prop, out);
      return;
    case 'number':
      if (typeof value !== 'number') reportTypeError(n, value, path, goStruct, prop, out);
      return;
    case 'array': {
      if (!Array.isArray(value)) { reportTypeError(n, value, path, goStruct, prop, out); return; }
      // Items without a schema accept anything.
      const items = n.items();
      if (!items) return;
      for (let i = 0; i < value.length; i++) {
        path.segs.push(i);
        path.props.push(false);
        typeWalk(items, value[i], path, goStruct, prop, out);
        path.segs.pop();
        path.props.pop();
      }
      return;
    }
    case 'object': {
      if (typeof value !== 'object' || Array.isArray(value)) { reportTypeError(n, value, path, goStruct, prop, out); return; }
      const o = value as Record<string, unknown>;
      const props = n.props();
      if (props) {
        const struct = n.structName() ?? goStruct;
        for (const k in o) {
          const p = props.get(k);
          if (!p) continue;
          path.segs.push(k);
          path.props.push(true);
          typeWalk(p, o[k], path, struct, k, out);
          path.segs.pop();
          path.props.pop();
        }
      } else {
        const addl = n.additional();
        if (!addl) return;
        for (const k in o) {
          path.segs.push(k);
          path.props.push(false);
          typeWalk(addl, o[k], path, goStruct, prop, out);
          path.segs.pop();
          path.props.pop();
        }
      }
      return;
    }
    default:
      return;
  }
}

/** The Go struct name behind a (possibly allOf-wrapped) reference, e.g. `DeploymentSpec`. */
function structName(schema: Schema): string | undefined {
  const ref = schema.$ref ?? (schema.allOf?.length === 1 ? schema.allOf[0].$ref : undefined);
  return ref ? ref.slice(ref.lastIndexOf('.') + 1) : undefined;
}

/** The 400 BadRequest message upstream gives a create/update whose body has a type error. */
export function typeErrorBadRequestMessage(apiVersion: string, kind: string, error: FieldTypeError): string {
  const { version } = parseApiVersion(apiVersion);
  return `${kind} in version ${JSON.stringify(version)} cannot be handled as a ${kind}: ${error.message}`;
}
