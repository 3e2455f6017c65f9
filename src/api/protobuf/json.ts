/**
 * Conversion between decoded protobuf messages and the JSON Kubernetes serves for the same Go types: well-known
 * apimachinery types get their JSON spellings (Time → RFC3339, Quantity → string, IntOrString → number|string,
 * RawExtension/FieldsV1 → embedded JSON, ExtraValue → string array), bytes become base64, embedded structs marked
 * `(k8s.inline)` are flattened, and zero values are dropped unless `(k8s.presence)` says JSON keeps them.
 */
import protobuf from 'protobufjs';
import { formatDuration, formatMicroTime, formatTime, parseDuration, parseTime } from './time-format.js';

type Json = Record<string, unknown>;

const META = '.k8s.io.apimachinery.pkg.apis.meta.v1.';
type Special = 'time' | 'microtime' | 'duration' | 'quantity' | 'intorstring' | 'rawextension' | 'fieldsv1' | 'stringlist';
const SPECIAL: Record<string, Special> = {
  [`${META}Time`]: 'time',
  [`${META}MicroTime`]: 'microtime',
  [`${META}Duration`]: 'duration',
  [`${META}FieldsV1`]: 'fieldsv1',
  [`${META}Verbs`]: 'stringlist',
  '.k8s.io.apimachinery.pkg.api.resource.Quantity': 'quantity',
  '.k8s.io.apimachinery.pkg.api.resource.QuantityValue': 'quantity',
  '.k8s.io.apimachinery.pkg.util.intstr.IntOrString': 'intorstring',
  '.k8s.io.apimachinery.pkg.runtime.RawExtension': 'rawextension',
  '.k8s.io.api.authentication.v1.ExtraValue': 'stringlist',
  '.k8s.io.api.authorization.v1.ExtraValue': 'stringlist',
  '.k8s.io.api.certificates.v1.ExtraValue': 'stringlist',
};

/** How one proto field maps to JSON; computed once per message type. */
interface FieldPlan {
  proto: string;
  json: string;
  shape: 'single' | 'repeated' | 'map';
  /** Scalar type name ("string", "int64", "bytes", …) or undefined for messages. */
  scalar?: string;
  message?: protobuf.Type;
  special?: Special;
  inline: boolean;
  presence: boolean;
}

const plans = new WeakMap<protobuf.Type, FieldPlan[]>();

function planOf(type: protobuf.Type): FieldPlan[] {
  let plan = plans.get(type);
  if (plan) return plan;
  plan = type.fieldsArray.map((f) => {
    const resolved = f.resolve().resolvedType;
    const message = resolved instanceof protobuf.Type ? resolved : undefined;
    const opts = f.options ?? {};
    return {
      proto: f.name,
      json: typeof opts['json_name'] === 'string' ? (opts['json_name'] as string) : f.name,
      shape: f.map ? 'map' : f.repeated ? 'repeated' : 'single',
      scalar: message ? undefined : f.type,
      message,
      special: message ? SPECIAL[message.fullName] : undefined,
      inline: opts['(k8s.inline)'] === true,
      presence: opts['(k8s.presence)'] === true,
    } satisfies FieldPlan;
  });
  plans.set(type, plan);
  return plan;
}

/** Raised for a value that has no JSON form (bad timestamp, invalid embedded JSON); callers turn it into a 400. */
export class ConversionError extends Error {}

const toNum = (v: unknown): number => (typeof v === 'number' ? v : v == null ? 0 : Number(String(v)));
const toBig = (v: unknown): bigint => (typeof v === 'number' ? BigInt(Math.trunc(v)) : v == null ? 0n : BigInt(String(v)));
const own = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

function setKey(o: Json, k: string, v: unknown): void {
  if (k === '__proto__') Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}

/** Hook for RawExtension payloads that are themselves `k8s\0` protobuf envelopes. */
export type EmbeddedDecoder = (raw: Uint8Array) => Json;

/**
 * Hook that encodes an embedded object (List items, WatchEvent.object) as a nested protobuf envelope, as the Go
 * protobuf serializer does; returns undefined for payloads without a protobuf kind, which are embedded as JSON.
 */
export type EmbeddedEncoder = (object: Json) => Uint8Array | undefined;

function scalarToJson(scalar: string, v: unknown): unknown {
  switch (scalar) {
    case 'int64': case 'uint64': case 'sint64': case 'fixed64': case 'sfixed64':
      return toNum(v);
    case 'bytes':
      return Buffer.from(v as Uint8Array).toString('base64');
    default:
      return v;
  }
}

function isZero(v: unknown): boolean {
  return v === '' || v === 0 || v === false;
}

function specialToJson(special: Special, m: Record<string, unknown>, embedded: EmbeddedDecoder): unknown {
  switch (special) {
    case 'time':
    case 'microtime': {
      const seconds = toNum(m['seconds']);
      const nanos = toNum(m['nanos']);
      if (!own(m, 'seconds') && !own(m, 'nanos')) return undefined; // zero time: JSON null, omitted
      try {
        return special === 'time' ? formatTime(seconds) : formatMicroTime(seconds, nanos);
      } catch (e) {
        throw new ConversionError((e as Error).message);
      }
    }
    case 'duration':
      return formatDuration(toBig(m['duration']));
    case 'quantity':
      return (m['string'] as string | undefined) || '0';
    case 'intorstring':
      return toNum(m['type']) === 1 ? ((m['strVal'] as string | undefined) ?? '') : toNum(m['intVal']);
    case 'stringlist':
      return [...((m['items'] as string[] | undefined) ?? [])];
    case 'rawextension':
    case 'fieldsv1': {
      const raw = m[special === 'fieldsv1' ? 'Raw' : 'raw'] as Uint8Array | undefined;
      if (!raw || raw.length === 0) return undefined;
      if (special === 'rawextension' && raw[0] === 0x6b && raw[1] === 0x38 && raw[2] === 0x73 && raw[3] === 0) return embedded(raw);
      try {
        return JSON.parse(Buffer.from(raw).toString('utf8'));
      } catch {
        throw new ConversionError(`${special === 'fieldsv1' ? 'FieldsV1' : 'RawExtension'} does not hold valid JSON`);
      }
    }
  }
}

function valueToJson(f: FieldPlan, v: unknown, embedded: EmbeddedDecoder, depth: number): unknown {
  if (f.message) {
    if (v == null) return undefined;
    if (f.special) return specialToJson(f.special, v as Json, embedded);
    return messageToJson(f.message, v as Json, embedded, depth + 1);
  }
  return scalarToJson(f.scalar!, v);
}

/** A decoded protobufjs message → Kubernetes JSON (without apiVersion/kind). */
export function messageToJson(type: protobuf.Type, msg: Json, embedded: EmbeddedDecoder, depth = 0): Json {
  if (depth > 100) throw new ConversionError('object nesting is too deep');
  const out: Json = {};
  for (const f of planOf(type)) {
    const v = msg[f.proto];
    if (f.shape === 'map') {
      const keys = v && typeof v === 'object' ? Object.keys(v) : [];
      if (keys.length === 0) continue;
      const o: Json = {};
      for (const k of keys) {
        const j = valueToJson(f, (v as Json)[k], embedded, depth);
        setKey(o, k, j === undefined ? null : j);
      }
      out[f.json] = o;
    } else if (f.shape === 'repeated') {
      if (!Array.isArray(v) || v.length === 0) continue;
      out[f.json] = v.map((x) => valueToJson(f, x, embedded, depth) ?? null);
    } else {
      if (!own(msg, f.proto) || v == null) continue;
      if (f.inline && f.message) {
        Object.assign(out, messageToJson(f.message, v as Json, embedded, depth + 1));
        continue;
      }
      const j = valueToJson(f, v, embedded, depth);
      if (j === undefined || (!f.message && !f.presence && isZero(j))) continue;
      out[f.json] = j;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// JSON → message

const INT32: Record<string, [number, number]> = {
  int32: [-2147483648, 2147483647], sint32: [-2147483648, 2147483647], sfixed32: [-2147483648, 2147483647],
  uint32: [0, 4294967295], fixed32: [0, 4294967295],
};

function typeName(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

function scalarFromJson(scalar: string, v: unknown, path: string): unknown {
  const bad = (want: string): never => {
    throw new ConversionError(`${path}: expected ${want}, got ${typeName(v)}`);
  };
  switch (scalar) {
    case 'string':
      return typeof v === 'string' ? v : bad('string');
    case 'bool':
      return typeof v === 'boolean' ? v : bad('boolean');
    case 'bytes': {
      if (typeof v !== 'string') return bad('base64 string');
      if (v.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) throw new ConversionError(`${path}: illegal base64 data`);
      return Buffer.from(v, 'base64');
    }
    case 'double': case 'float':
      return typeof v === 'number' ? v : bad('number');
    default: {
      if (typeof v !== 'number' || !Number.isInteger(v)) return bad('integer');
      const range = INT32[scalar];
      if (range && (v < range[0] || v > range[1])) throw new ConversionError(`${path}: ${v} overflows ${scalar}`);
      // Beyond 2^53 protobufjs takes the decimal string and writes exact 64-bit varints.
      if (!range && !Number.isSafeInteger(v)) return BigInt(v).toString();
      return v;
    }
  }
}

function int64(v: bigint): number | string {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
}

function specialFromJson(special: Special, v: unknown, path: string, embed?: EmbeddedEncoder): Json {
  switch (special) {
    case 'time':
    case 'microtime': {
      const t = typeof v === 'string' ? parseTime(v) : undefined;
      if (!t) throw new ConversionError(`${path}: expected an RFC3339 timestamp, got ${JSON.stringify(v)}`);
      return { seconds: t.seconds, nanos: special === 'time' ? 0 : Math.floor(t.nanos / 1000) * 1000 };
    }
    case 'duration': {
      const d = typeof v === 'string' ? parseDuration(v) : undefined;
      if (d === undefined) throw new ConversionError(`${path}: expected a duration such as "1h30m", got ${JSON.stringify(v)}`);
      return { duration: int64(d) };
    }
    case 'quantity':
      if (typeof v === 'number' && Number.isFinite(v)) return { string: String(v) };
      if (typeof v !== 'string') throw new ConversionError(`${path}: expected a quantity string, got ${typeName(v)}`);
      return { string: v };
    case 'intorstring':
      if (typeof v === 'string') return { type: 1, intVal: 0, strVal: v };
      return { type: 0, intVal: scalarFromJson('int32', v, path), strVal: '' };
    case 'stringlist':
      if (!Array.isArray(v)) throw new ConversionError(`${path}: expected array, got ${typeName(v)}`);
      return { items: v.map((x, i) => scalarFromJson('string', x, `${path}[${i}]`)) };
    case 'rawextension': {
      const nested = embed && typeof v === 'object' && v !== null && !Array.isArray(v) ? embed(v as Json) : undefined;
      return { raw: nested ?? Buffer.from(JSON.stringify(v)) };
    }
    case 'fieldsv1':
      if (typeof v !== 'object' || Array.isArray(v)) throw new ConversionError(`${path}: expected object, got ${typeName(v)}`);
      return { Raw: Buffer.from(JSON.stringify(v)) };
  }
}

function valueFromJson(f: FieldPlan, v: unknown, path: string, embed?: EmbeddedEncoder): unknown {
  if (f.message) {
    if (f.special) return specialFromJson(f.special, v, path, embed);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ConversionError(`${path}: expected object, got ${typeName(v)}`);
    return messageFromJson(f.message, v as Json, path, embed);
  }
  return scalarFromJson(f.scalar!, v, path);
}

/** Kubernetes JSON → a plain object protobufjs can encode for `type`. Unknown JSON keys are ignored. */
export function messageFromJson(type: protobuf.Type, json: Json, path = '', embed?: EmbeddedEncoder): Json {
  const out: Json = {};
  for (const f of planOf(type)) {
    const p = path ? `${path}.${f.json}` : f.json;
    if (f.inline && f.message) {
      const sub = messageFromJson(f.message, json, path, embed);
      if (Object.keys(sub).length > 0) out[f.proto] = sub;
      continue;
    }
    const v = own(json, f.json) ? json[f.json] : undefined;
    if (v === undefined || v === null) continue;
    if (f.shape === 'map') {
      if (typeof v !== 'object' || Array.isArray(v)) throw new ConversionError(`${p}: expected object, got ${typeName(v)}`);
      const o: Json = {};
      for (const [k, x] of Object.entries(v as Json)) {
        if (x === null) continue;
        setKey(o, k, valueFromJson(f, x, `${p}[${JSON.stringify(k)}]`, embed));
      }
      out[f.proto] = o;
    } else if (f.shape === 'repeated') {
      if (!Array.isArray(v)) throw new ConversionError(`${p}: expected array, got ${typeName(v)}`);
      out[f.proto] = v.map((x, i) => (x === null && f.message && !f.special ? {} : valueFromJson(f, x, `${p}[${i}]`, embed)));
    } else {
      out[f.proto] = valueFromJson(f, v, p, embed);
    }
  }
  return out;
}
