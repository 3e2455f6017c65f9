/**
 * The Kubernetes protobuf wire format (`application/vnd.kubernetes.protobuf`). kubectl 1.32+ sends `kubectl create
 * <generator>`, `kubectl create token` and `kubectl auth can-i` bodies only in this form, so the apiserver decodes
 * them to the same JSON objects a JSON client would have sent, and can answer protobuf clients in kind.
 *
 * A body is the magic `k8s\0` followed by a `runtime.Unknown` whose `raw` is the kind's own message. The schema
 * comes from `proto/*.proto`, generated from kubectl 1.32's embedded descriptors (see tools/generate-protos.ts).
 */
import protobuf from 'protobufjs';
import { ApiError, errors } from '../errors.js';
import { ConversionError, messageFromJson, messageToJson } from './json.js';
import { getSchema, lookupKind } from './schema.js';

/** Media type of the Kubernetes protobuf encoding, as sent in Content-Type and Accept. */
export const PROTOBUF_CONTENT_TYPE = 'application/vnd.kubernetes.protobuf';

/** The 4-byte prefix ("k8s\0") that starts every Kubernetes protobuf body. */
export const PROTOBUF_MAGIC: Buffer = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

/** A decoded protobuf body: the envelope's type and the object in Kubernetes JSON form (apiVersion/kind set). */
export interface DecodedProtobuf {
  apiVersion: string;
  kind: string;
  object: Record<string, unknown>;
}

const MAX_EMBEDDED_DEPTH = 8;

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function decodeAt(body: Uint8Array, depth: number): DecodedProtobuf {
  if (body.length < 4 || body[0] !== 0x6b || body[1] !== 0x38 || body[2] !== 0x73 || body[3] !== 0x00) {
    throw errors.badRequest('provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]');
  }
  if (depth > MAX_EMBEDDED_DEPTH) throw errors.badRequest('protobuf objects are nested too deeply');
  const { unknown } = getSchema();
  let envelope: Record<string, unknown>;
  try {
    envelope = unknown.decode(body.subarray(4)) as unknown as Record<string, unknown>;
  } catch (e) {
    throw errors.badRequest(`unable to decode protobuf body: ${describe(e)}`);
  }
  const typeMeta = (envelope['typeMeta'] ?? {}) as { apiVersion?: string; kind?: string };
  const apiVersion = typeMeta.apiVersion ?? '';
  const kind = typeMeta.kind ?? '';
  if (!kind) throw errors.badRequest("Object 'Kind' is missing in protobuf body");
  const type = lookupKind(apiVersion, kind);
  if (!type) throw errors.badRequest(`no kind "${kind}" is registered for version "${apiVersion}"`);
  const raw = (envelope['raw'] as Uint8Array | undefined) ?? new Uint8Array(0);
  let json: Record<string, unknown>;
  try {
    const msg = type.decode(raw) as unknown as Record<string, unknown>;
    json = messageToJson(type, msg, (inner) => decodeAt(inner, depth + 1).object);
  } catch (e) {
    if (e instanceof ApiError) throw e;
    throw errors.badRequest(`unable to decode protobuf ${apiVersion} ${kind}: ${describe(e)}`);
  }
  return { apiVersion, kind, object: { apiVersion, kind, ...json } };
}

/**
 * Decodes a protobuf request body into the JSON object the JSON API would have received. Every failure (bad magic,
 * truncated or garbage bytes, a kind we have no schema for, values with no JSON form) is a 400 ApiError.
 */
export function decodeProtobuf(body: Buffer | Uint8Array): DecodedProtobuf {
  try {
    return decodeAt(body, 0);
  } catch (e) {
    if (e instanceof ApiError) throw e;
    // Anything protobufjs or a conversion throws (including stack exhaustion on hostile nesting) is bad input.
    throw errors.badRequest(`unable to decode protobuf body: ${describe(e)}`);
  }
}

/**
 * Encodes a Kubernetes JSON object (apiVersion and kind required) as a protobuf body: `k8s\0` + runtime.Unknown,
 * written in the same field order Go uses. Throws a 400 ApiError for unknown kinds or values of the wrong type;
 * JSON fields the schema does not know are dropped, as a Go client would drop them.
 */
export function encodeProtobuf(object: Record<string, unknown>): Buffer {
  return encodeAt(object, 0);
}

function encodeAt(object: Record<string, unknown>, depth: number): Buffer {
  if (depth > MAX_EMBEDDED_DEPTH) throw errors.badRequest('cannot encode as protobuf: objects are nested too deeply');
  const apiVersion = object['apiVersion'];
  const kind = object['kind'];
  if (typeof apiVersion !== 'string' || typeof kind !== 'string' || !kind) {
    throw errors.badRequest('cannot encode as protobuf: object has no apiVersion/kind');
  }
  const type = lookupKind(apiVersion, kind);
  if (!type) throw errors.badRequest(`no kind "${kind}" is registered for version "${apiVersion}"`);
  let raw: Uint8Array;
  try {
    const embed = (o: Record<string, unknown>): Uint8Array | undefined =>
      typeof o['apiVersion'] === 'string' && typeof o['kind'] === 'string' && supportsProtobuf(o['apiVersion'], o['kind']) ? encodeAt(o, depth + 1) : undefined;
    raw = type.encode(messageFromJson(type, object, '', embed) as unknown as protobuf.Message).finish();
  } catch (e) {
    if (e instanceof ConversionError) throw errors.badRequest(`cannot encode ${apiVersion} ${kind} as protobuf: ${e.message}`);
    throw e;
  }
  const envelope = getSchema().unknown.encode({ typeMeta: { apiVersion, kind }, raw, contentEncoding: '', contentType: '' }).finish();
  return Buffer.concat([PROTOBUF_MAGIC, envelope]);
}

/** Whether apiVersion + kind has a protobuf schema here (so a server can offer protobuf for it, or must refuse). */
export function supportsProtobuf(apiVersion: string, kind: string): boolean {
  return lookupKind(apiVersion, kind) !== undefined;
}
