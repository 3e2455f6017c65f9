/**
 * The OpenAPI v3 component schemas of every Kubernetes type, loaded from `generated/types.json` (written at build
 * time by scripts/gen-openapi.mjs from kubernetes-types). Both the served OpenAPI documents and server-side field
 * validation read them here, so a type is described once.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The subset of an OpenAPI v3 schema object that the generator emits and the consumers here read. */
export interface Schema {
  type?: string;
  format?: string;
  description?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  items?: Schema;
  required?: string[];
  enum?: unknown[];
  allOf?: Schema[];
  oneOf?: Schema[];
  $ref?: string;
  'x-kubernetes-group-version-kind'?: GroupVersionKind[];
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
}

/** A group/version/kind triple as the OpenAPI `x-kubernetes-group-version-kind` extension spells it. */
export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

/** Prefix of every `$ref` in the generated schemas. */
export const SCHEMA_REF_PREFIX = '#/components/schemas/';

const GENERATED = new URL('./generated/types.json', import.meta.url);

let loaded: Record<string, Schema> | undefined;
let byGvk: Map<string, string> | undefined;

/**
 * All definitions by upstream name (`io.k8s.api.core.v1.Pod`, ...). Read lazily on first use so processes that
 * never touch OpenAPI or validation do not pay for parsing ~1 MB of JSON.
 */
export function allSchemas(): Record<string, Schema> {
  if (!loaded) {
    const path = fileURLToPath(GENERATED);
    if (!existsSync(path)) {
      throw new Error(`OpenAPI schemas missing at ${path}: run \`node scripts/gen-openapi.mjs\` (npm run build does)`);
    }
    loaded = (JSON.parse(readFileSync(path, 'utf8')) as { schemas: Record<string, Schema> }).schemas;
  }
  return loaded;
}

function gvkKey(group: string, version: string, kind: string): string {
  return `${group}/${version}/${kind}`;
}

/** The definition name whose schema carries this GVK (e.g. apps/v1 Deployment → io.k8s.api.apps.v1.Deployment). */
export function definitionForKind(group: string, version: string, kind: string): string | undefined {
  if (!byGvk) {
    byGvk = new Map();
    for (const [name, s] of Object.entries(allSchemas())) {
      for (const g of s['x-kubernetes-group-version-kind'] ?? []) {
        const k = gvkKey(g.group, g.version, g.kind);
        if (!byGvk.has(k)) byGvk.set(k, name);
      }
    }
  }
  return byGvk.get(gvkKey(group, version, kind));
}

/** The definition name a `$ref` points at. */
export function refName(ref: string): string {
  return ref.startsWith(SCHEMA_REF_PREFIX) ? ref.slice(SCHEMA_REF_PREFIX.length) : ref;
}

/**
 * Follows `$ref` and single-element `allOf` wrappers (kube-openapi's way of giving a reference its own
 * description) to the schema that actually describes the value.
 */
export function resolveSchema(s: Schema | undefined): Schema | undefined {
  if (!s) return s;
  // Memoised per schema object: the request-path walkers (field validation, pruning) resolve the same few
  // hundred schemas for every object they check.
  const hit = resolved.get(s);
  if (hit !== undefined) return hit ?? undefined;
  const r = resolveUncached(s);
  resolved.set(s, r ?? null);
  return r;
}

const resolved = new WeakMap<Schema, Schema | null>();

function resolveUncached(s: Schema | undefined): Schema | undefined {
  let cur = s;
  for (let guard = 0; cur && guard < 16; guard++) {
    if (cur.$ref) cur = allSchemas()[refName(cur.$ref)];
    else if (cur.allOf && cur.allOf.length === 1 && !cur.properties) cur = cur.allOf[0];
    else return cur;
  }
  return cur;
}

/** Every definition reachable from `roots` through `$ref`s, roots included, in a stable (sorted) order. */
export function reachableDefinitions(roots: Iterable<string>): string[] {
  const schemas = allSchemas();
  const seen = new Set<string>();
  const stack = [...roots];
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) {
      for (const x of v) visit(x);
    } else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === '$ref' && typeof x === 'string') stack.push(refName(x));
        else if (typeof x === 'object') visit(x);
      }
    }
  };
  while (stack.length) {
    const name = stack.pop()!;
    if (seen.has(name) || !schemas[name]) continue;
    seen.add(name);
    visit(schemas[name]);
  }
  return [...seen].sort();
}
