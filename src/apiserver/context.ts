/**
 * The per-request context handed to every verb handler, plus the response writers shared by all of them
 * (JSON/YAML/protobuf objects, Status errors, warning headers).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import YAML from 'yaml';
import { ApiError, KObject, Status, errors } from '../api/errors.js';
import type { ResourceInfo } from '../api/resources.js';
import type { ResourceRequest } from './request-info.js';
import { MAX_BODY_BYTES, Negotiated } from './negotiation.js';
import type { ApiServerCore } from './core.js';
import { encodeProtobuf, supportsProtobuf } from '../api/protobuf/index.js';

export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  query: URLSearchParams;
  ri: ResourceRequest;
  info: ResourceInfo;
  user: UserInfo;
  core: ApiServerCore;
  /** Warnings sent back as `Warning: 299 - "msg"` headers (kubectl prints them). */
  warnings: string[];
}

/**
 * Reads the body up to 3 MiB; larger bodies get 413 like kube-apiserver's MaxRequestBodyBytes. A body declared
 * larger, up to twice the limit, is read to its end (and dropped) before the 413 goes out: answered at once, the
 * server may close the connection while the client is still sending (a client that asked for `Connection: close`
 * gets it closed after the answer), and the client sees EPIPE or ECONNRESET instead of the Status — the race Go's
 * server softens by lingering on close. Larger declared bodies are answered at once.
 */
export function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? '0');
    if (declared > limit) {
      req.resume();
      if (declared > 2 * limit) {
        reject(errors.tooLarge());
        return;
      }
      const fail = () => reject(errors.tooLarge());
      req.once('end', fail);
      req.once('error', fail);
      req.once('close', fail);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (c: Buffer) => {
      if (failed) return;
      size += c.length;
      if (size > limit) {
        failed = true;
        chunks.length = 0;
        reject(errors.tooLarge());
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => { if (!failed) resolve(Buffer.concat(chunks)); });
    req.on('error', (e) => { if (!failed) { failed = true; reject(errors.badRequest(`reading the request body failed: ${e.message}`)); } });
  });
}

function setWarnings(res: ServerResponse, warnings: string[]): void {
  if (warnings.length && !res.headersSent) {
    res.setHeader('Warning', warnings.map((w) => `299 - ${JSON.stringify(w)}`));
  }
}

/** Writes an object in the negotiated encoding. */
export function writeObject(res: ServerResponse, code: number, obj: unknown, neg?: Negotiated, warnings: string[] = []): void {
  setWarnings(res, warnings);
  if (neg?.format === 'protobuf') {
    const o = obj as KObject;
    if (o && typeof o.apiVersion === 'string' && typeof o.kind === 'string' && supportsProtobuf(o.apiVersion, o.kind)) {
      const buf = encodeProtobuf(o as Record<string, unknown>);
      res.writeHead(code, { 'Content-Type': 'application/vnd.kubernetes.protobuf', 'Content-Length': buf.length });
      res.end(buf);
      return;
    }
  }
  if (neg?.format === 'yaml') {
    const text = YAML.stringify(obj);
    res.writeHead(code, { 'Content-Type': 'application/yaml', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
    return;
  }
  const text = JSON.stringify(obj);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** Writes JSON text that is already serialized (an object's stored form). */
export function writeJsonText(res: ServerResponse, code: number, text: string, warnings: string[] = []): void {
  setWarnings(res, warnings);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof RangeError && /call stack/i.test(err.message)) return errors.badRequest('the request is nested too deeply');
  return errors.internal((err as Error)?.message ?? String(err));
}

export function writeError(res: ServerResponse, err: unknown): number {
  const e = toApiError(err);
  const status: Status = e.toStatus();
  if (res.headersSent) {
    res.destroy();
    return e.code;
  }
  writeObject(res, e.code, status);
  return e.code;
}
