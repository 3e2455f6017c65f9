/**
 * An in-memory stand-in for kube-apiserver, for testing the client library without a real server (the role
 * client-go's `fake` clientsets and envtest play). It serves the REST verbs over real HTTP(S) — list (with
 * `limit`/`continue`), get, create, update, status, patch, delete, deleteCollection, watch (newline-delimited JSON,
 * bookmarks, 410 Expired after {@link FakeApiServer.compact}) and the scale/binding subresources — from a Map with
 * one revision counter, for any kind in Skiff's resource registry. Faults are injected on purpose: error answers,
 * dropped/closed/stalled watches and tiny chunks, so every client behaviour can be tested deterministically.
 */

import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import jsonpatch from 'fast-json-patch';
import { ApiError, errors, type KObject } from '../../api/errors.js';
import { fieldSelectorMatcher, parseFieldSelector } from '../../api/fields.js';
import { matches, parseLabelSelector } from '../../api/labels.js';
import { apiVersionOf, findResource, type ResourceInfo } from '../../api/resources.js';

/** One request the server saw, for assertions. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  verb: string;
  resource: string;
  contentType?: string;
  body?: unknown;
  headers: IncomingMessage['headers'];
}

/** A fault to inject: the next `times` requests matching `verb`/`resource` get this error answer. */
export interface Fault {
  verb?: string;
  resource?: string;
  code: number;
  reason?: string;
  message?: string;
  /** Answer with this raw body instead of a Status (to test non-Status error bodies). */
  rawBody?: string;
  /** Sets a `Retry-After` header. */
  retryAfter?: number;
  times?: number;
}

interface Watcher {
  res: ServerResponse;
  info: ResourceInfo;
  ns?: string;
  match: (o: KObject) => boolean;
  bookmarks: boolean;
  stalled: boolean;
}

interface HistoryEntry {
  rev: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  info: ResourceInfo;
  obj: KObject;
}

/** Options of {@link FakeApiServer.start}. */
export interface FakeApiServerOptions {
  /** Serve HTTPS with this key pair instead of plain HTTP. */
  tls?: { cert: string; key: string };
  /** Write every watch frame in pieces of at most this many bytes (exercises line splitting). */
  watchChunkBytes?: number;
}

const clone = <T>(o: T): T => structuredClone(o);

function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> =
    target && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** See the module comment. Create with {@link FakeApiServer.start}; always {@link FakeApiServer.close}. */
export class FakeApiServer {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  url = '';
  /** The current revision (= the last resourceVersion handed out). */
  rev = 1;
  /** Requests in arrival order. */
  readonly requests: RecordedRequest[] = [];
  private readonly objects = new Map<string, KObject>();
  private history: HistoryEntry[] = [];
  private compactedRev = 0;
  private readonly watchers = new Set<Watcher>();
  private readonly faults: Fault[] = [];
  private readonly sockets = new Set<Socket>();
  private server!: http.Server;
  private stallNew = false;
  private constructor(private readonly opts: FakeApiServerOptions) {}

  /** Starts a server on a random loopback port. */
  static async start(opts: FakeApiServerOptions = {}): Promise<FakeApiServer> {
    const s = new FakeApiServer(opts);
    const handler = (req: IncomingMessage, res: ServerResponse) => s.handle(req, res);
    s.server = opts.tls ? https.createServer({ cert: opts.tls.cert, key: opts.tls.key }, handler) : http.createServer(handler);
    s.server.on(opts.tls ? 'secureConnection' : 'connection', (sock: Socket) => {
      s.sockets.add(sock);
      sock.on('close', () => s.sockets.delete(sock));
    });
    await new Promise<void>((r) => s.server.listen(0, '127.0.0.1', r));
    const port = (s.server.address() as AddressInfo).port;
    s.url = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
    return s;
  }

  /** Stops listening and destroys every connection. */
  async close(): Promise<void> {
    for (const w of this.watchers) w.res.destroy();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  // ---- fault injection ------------------------------------------------------------------------------------------

  /** Queues an error answer for matching requests (verb: get, list, watch, create, update, patch, delete, …). */
  fail(f: Fault): void {
    this.faults.push({ times: 1, ...f });
  }

  /** Forgets history up to the current revision: watches from older versions get an ERROR 410 frame, then EOF. */
  compact(): void {
    this.compactedRev = this.rev;
    this.history = [];
  }

  /** Sends an ERROR 410 frame to every open watch and ends them, as the apiserver does when it falls behind. */
  expireWatches(): void {
    for (const w of [...this.watchers]) {
      this.writeFrame(w, { type: 'ERROR', object: errors.gone(`too old resource version: 1 (${this.rev})`).toStatus() });
      this.endWatch(w);
    }
  }

  /** Ends every open watch cleanly (as a server-side timeout does). */
  closeWatches(): void {
    for (const w of [...this.watchers]) this.endWatch(w);
  }

  /** Cuts every open watch connection abruptly (network failure). */
  dropWatches(): void {
    for (const w of [...this.watchers]) {
      this.watchers.delete(w);
      w.res.socket?.destroy();
    }
  }

  /** Open watches stop receiving frames (the connection stays up): a stalled stream. */
  stallWatches(): void {
    for (const w of this.watchers) w.stalled = true;
  }

  /** Watches opened from now on are stalled too (until called with `false`). */
  stallNewWatches(on: boolean): void {
    this.stallNew = on;
  }

  /** Number of watches currently open. */
  get openWatches(): number {
    return this.watchers.size;
  }

  /** Waits (real time) until `n` watches are open. */
  async waitForWatches(n: number, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.watchers.size < n) {
      if (Date.now() > deadline) throw new Error(`FakeApiServer: waited for ${n} watches, have ${this.watchers.size}`);
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  /** Sends a BOOKMARK at the current revision to every watch that asked for bookmarks. */
  bookmark(): void {
    for (const w of this.watchers) {
      if (w.bookmarks) {
        this.writeFrame(w, { type: 'BOOKMARK', object: { kind: w.info.kind, apiVersion: apiVersionOf(w.info), metadata: { resourceVersion: String(this.rev) } } });
      }
    }
  }

  /** Requests matching a verb (and resource), for assertions. */
  requestsFor(verb: string, resource?: string): RecordedRequest[] {
    return this.requests.filter((r) => r.verb === verb && (resource === undefined || r.resource === resource));
  }

  // ---- direct state access (bypasses HTTP, still emits watch events) --------------------------------------------

  /** Creates or replaces an object directly, bumping the revision and notifying watches. */
  put(apiVersion: string, resource: string, obj: KObject): KObject {
    const info = this.info(apiVersion, resource);
    const key = this.key(info, obj.metadata.namespace, obj.metadata.name!);
    const existed = this.objects.has(key);
    const stored = this.stamp(info, clone(obj), this.objects.get(key));
    this.commit(info, key, existed ? 'MODIFIED' : 'ADDED', stored);
    return clone(stored);
  }

  /** Deletes an object directly. */
  remove(apiVersion: string, resource: string, ns: string | undefined, name: string): void {
    const info = this.info(apiVersion, resource);
    const key = this.key(info, ns, name);
    const old = this.objects.get(key);
    if (!old) throw new Error(`remove: ${key} not found`);
    this.commitDelete(info, key, old);
  }

  /** Reads an object directly. */
  read(apiVersion: string, resource: string, ns: string | undefined, name: string): KObject | undefined {
    const o = this.objects.get(this.key(this.info(apiVersion, resource), ns, name));
    return o && clone(o);
  }

  /** All objects of a resource, in key order. */
  all(apiVersion: string, resource: string): KObject[] {
    const info = this.info(apiVersion, resource);
    const prefix = `${info.group}/${info.resource}/`;
    return [...this.objects.entries()].filter(([k]) => k.startsWith(prefix)).sort(([a], [b]) => (a < b ? -1 : 1)).map(([, o]) => clone(o));
  }

  // ---- internals ------------------------------------------------------------------------------------------------

  private info(apiVersion: string, resource: string): ResourceInfo {
    const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
    const info = findResource(group!, version!, resource);
    if (!info) throw new Error(`unknown resource ${apiVersion} ${resource}`);
    return info;
  }

  private key(info: ResourceInfo, ns: string | undefined, name: string): string {
    return `${info.group}/${info.resource}/${info.namespaced ? ns ?? '' : ''}/${name}`;
  }

  private stamp(info: ResourceInfo, obj: KObject, old?: KObject): KObject {
    obj.apiVersion = apiVersionOf(info);
    obj.kind = info.kind;
    obj.metadata.uid = old?.metadata.uid ?? obj.metadata.uid ?? randomUUID();
    obj.metadata.creationTimestamp = old?.metadata.creationTimestamp ?? obj.metadata.creationTimestamp ?? new Date(0).toISOString();
    obj.metadata.resourceVersion = String(++this.rev);
    return obj;
  }

  private commit(info: ResourceInfo, key: string, type: 'ADDED' | 'MODIFIED', obj: KObject): void {
    this.objects.set(key, obj);
    this.emit({ rev: this.rev, type, info, obj: clone(obj) });
  }

  private commitDelete(info: ResourceInfo, key: string, old: KObject): KObject {
    this.objects.delete(key);
    const tomb = clone(old);
    tomb.metadata.resourceVersion = String(++this.rev);
    this.emit({ rev: this.rev, type: 'DELETED', info, obj: tomb });
    return tomb;
  }

  private emit(e: HistoryEntry): void {
    this.history.push(e);
    for (const w of this.watchers) this.deliver(w, e);
  }

  private deliver(w: Watcher, e: HistoryEntry): void {
    if (w.info !== e.info || w.stalled) return;
    if (w.ns && e.obj.metadata.namespace !== w.ns) return;
    if (!w.match(e.obj)) return;
    this.writeFrame(w, { type: e.type, object: e.obj });
  }

  private writeFrame(w: Watcher, frame: unknown): void {
    const buf = Buffer.from(JSON.stringify(frame) + '\n');
    const n = this.opts.watchChunkBytes;
    if (!n) {
      w.res.write(buf);
      return;
    }
    for (let i = 0; i < buf.length; i += n) w.res.write(buf.subarray(i, i + n));
  }

  private endWatch(w: Watcher): void {
    this.watchers.delete(w);
    w.res.end();
  }

  private send(res: ServerResponse, code: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }

  private sendError(res: ServerResponse, err: unknown): void {
    const e = err instanceof ApiError ? err : errors.internal(String((err as Error)?.message ?? err));
    this.send(res, e.code, e.toStatus());
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      await this.route(req, res);
    } catch (err) {
      if (!res.headersSent) this.sendError(res, err);
      else res.destroy();
    }
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', 'http://x');
    const query = Object.fromEntries(u.searchParams);
    const segs = u.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    let group: string;
    let version: string;
    let rest: string[];
    if (segs[0] === 'api' && segs.length >= 2) [group, version, rest] = ['', segs[1]!, segs.slice(2)];
    else if (segs[0] === 'apis' && segs.length >= 3) [group, version, rest] = [segs[1]!, segs[2]!, segs.slice(3)];
    else throw errors.notFoundPath();
    let ns: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      ns = rest[1];
      rest = rest.slice(2);
    }
    const [resource, name, sub] = rest;
    const info = resource ? findResource(group, version, resource) : undefined;
    if (!info || (ns !== undefined && !info.namespaced)) throw errors.notFoundPath();

    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const body = raw ? (JSON.parse(raw) as unknown) : undefined;
    const m = req.method ?? 'GET';
    const watch = query.watch === 'true' || query.watch === '1';
    const verb =
      m === 'GET' ? (watch ? 'watch' : sub ? `get/${sub}` : name ? 'get' : 'list')
      : m === 'POST' ? (sub ? `create/${sub}` : 'create')
      : m === 'PUT' ? (sub ? `update/${sub}` : 'update')
      : m === 'PATCH' ? (sub ? `patch/${sub}` : 'patch')
      : m === 'DELETE' ? (name ? 'delete' : 'deletecollection') : m;
    this.requests.push({ method: m, path: u.pathname, query, verb, resource: info.resource, contentType: req.headers['content-type'], body, headers: req.headers });

    const fi = this.faults.findIndex((f) => (!f.verb || f.verb === verb) && (!f.resource || f.resource === info.resource));
    if (fi >= 0) {
      const f = this.faults[fi]!;
      if (--f.times! <= 0) this.faults.splice(fi, 1);
      const headers: Record<string, string> = {};
      if (f.retryAfter !== undefined) headers['Retry-After'] = String(f.retryAfter);
      if (f.rawBody !== undefined) {
        res.writeHead(f.code, { 'Content-Type': 'text/plain', ...headers });
        res.end(f.rawBody);
        return;
      }
      const e = new ApiError(f.code, f.reason ?? 'InternalError', f.message ?? `injected ${f.code}`);
      res.writeHead(f.code, { 'Content-Type': 'application/json', ...headers });
      res.end(JSON.stringify(e.toStatus()));
      return;
    }

    const nsq = info.namespaced ? ns : undefined;
    switch (verb) {
      case 'list':
        return this.send(res, 200, this.list(info, nsq, query));
      case 'watch':
        return this.watch(info, nsq, query, res);
      case 'get':
        return this.send(res, 200, this.mustGet(info, nsq, name!));
      case 'create': {
        const obj = body as KObject;
        obj.metadata ??= {};
        if (!obj.metadata.name && obj.metadata.generateName) obj.metadata.name = obj.metadata.generateName + randomUUID().slice(0, 5);
        if (!obj.metadata.name) throw errors.invalid(info.kind, info.group, '', [{ reason: 'FieldValueRequired', message: 'Required value', field: 'metadata.name' }]);
        if (nsq) obj.metadata.namespace = nsq;
        const key = this.key(info, nsq, obj.metadata.name);
        if (this.objects.has(key)) throw errors.alreadyExists(info.resource, info.group, obj.metadata.name);
        if (query.dryRun) return this.send(res, 201, obj);
        const stored = this.stamp(info, clone(obj));
        this.commit(info, key, 'ADDED', stored);
        return this.send(res, 201, stored);
      }
      case 'update':
      case 'update/status': {
        const obj = body as KObject;
        const old = this.mustGet(info, nsq, name!);
        const rv = obj.metadata?.resourceVersion;
        if (rv && rv !== old.metadata.resourceVersion) {
          throw errors.conflict(info.resource, info.group, name!, 'the object has been modified; please apply your changes to the latest version and try again');
        }
        const next = verb === 'update' ? { ...clone(obj), status: old.status } : { ...clone(old), status: obj.status };
        next.metadata = { ...(verb === 'update' ? obj.metadata : old.metadata), name, namespace: nsq };
        const stored = this.stamp(info, next as KObject, old);
        this.commit(info, this.key(info, nsq, name!), 'MODIFIED', stored);
        return this.send(res, 200, stored);
      }
      case 'patch':
      case 'patch/status': {
        const ct = String(req.headers['content-type'] ?? '');
        let old = this.objects.get(this.key(info, nsq, name!));
        if (!old) {
          if (!ct.startsWith('application/apply-patch')) throw errors.notFound(info.resource, info.group, name!);
          old = { metadata: { name, namespace: nsq } } as KObject;
        }
        let next: KObject;
        if (ct.startsWith('application/json-patch+json')) {
          next = jsonpatch.applyPatch(clone(old), body as jsonpatch.Operation[], true, false).newDocument as KObject;
        } else {
          next = mergePatch(clone(old), body) as KObject;
        }
        const rv = (body as KObject)?.metadata?.resourceVersion;
        if (!Array.isArray(body) && rv && rv !== old.metadata.resourceVersion) {
          throw errors.conflict(info.resource, info.group, name!, 'the object has been modified; please apply your changes to the latest version and try again');
        }
        next.metadata = { ...next.metadata, name, namespace: nsq };
        const existed = this.objects.has(this.key(info, nsq, name!));
        const stored = this.stamp(info, next, existed ? old : undefined);
        this.commit(info, this.key(info, nsq, name!), existed ? 'MODIFIED' : 'ADDED', stored);
        return this.send(res, 200, stored);
      }
      case 'delete': {
        const old = this.mustGet(info, nsq, name!);
        const pre = (body as { preconditions?: { uid?: string; resourceVersion?: string } } | undefined)?.preconditions;
        if (pre?.uid && pre.uid !== old.metadata.uid) {
          throw errors.conflict(info.resource, info.group, name!, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${old.metadata.uid}`);
        }
        if (pre?.resourceVersion && pre.resourceVersion !== old.metadata.resourceVersion) {
          throw errors.conflict(info.resource, info.group, name!, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${old.metadata.resourceVersion}`);
        }
        this.commitDelete(info, this.key(info, nsq, name!), old);
        return this.send(res, 200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, group: info.group, kind: info.resource, uid: old.metadata.uid } });
      }
      case 'deletecollection': {
        const list = this.list(info, nsq, { ...query, limit: '' });
        for (const o of list.items) this.commitDelete(info, this.key(info, o.metadata.namespace, o.metadata.name!), o);
        return this.send(res, 200, list);
      }
      case 'get/scale':
      case 'patch/scale': {
        const old = this.mustGet(info, nsq, name!);
        if (verb === 'patch/scale') {
          const replicas = (body as { spec?: { replicas?: number } }).spec?.replicas;
          const next = clone(old);
          next.spec = { ...next.spec, replicas };
          const stored = this.stamp(info, next, old);
          this.commit(info, this.key(info, nsq, name!), 'MODIFIED', stored);
          return this.send(res, 200, this.scaleOf(stored));
        }
        return this.send(res, 200, this.scaleOf(old));
      }
      case 'create/binding': {
        const old = this.mustGet(info, nsq, name!);
        const target = (body as { target?: { name?: string } }).target?.name;
        if (old.spec?.nodeName) throw errors.conflict(info.resource, info.group, name!, `pod ${name} is already assigned to node "${old.spec.nodeName}"`);
        const next = clone(old);
        next.spec = { ...next.spec, nodeName: target };
        const stored = this.stamp(info, next, old);
        this.commit(info, this.key(info, nsq, name!), 'MODIFIED', stored);
        return this.send(res, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
      }
      default:
        throw errors.methodNotAllowed(`the fake apiserver does not serve ${verb} on ${info.resource}`);
    }
  }

  private scaleOf(o: KObject): unknown {
    return {
      kind: 'Scale', apiVersion: 'autoscaling/v1',
      metadata: { name: o.metadata.name, namespace: o.metadata.namespace, resourceVersion: o.metadata.resourceVersion },
      spec: { replicas: o.spec?.replicas ?? 0 }, status: { replicas: o.status?.replicas ?? 0 },
    };
  }

  private mustGet(info: ResourceInfo, ns: string | undefined, name: string): KObject {
    const o = this.objects.get(this.key(info, ns, name));
    if (!o) throw errors.notFound(info.resource, info.group, name);
    return clone(o);
  }

  private matcher(info: ResourceInfo, query: Record<string, string>): (o: KObject) => boolean {
    const ls = query.labelSelector ? parseLabelSelector(query.labelSelector) : undefined;
    const fs = query.fieldSelector ? fieldSelectorMatcher(info, parseFieldSelector(query.fieldSelector)) : undefined;
    return (o) => (!ls || matches(ls, o.metadata.labels)) && (!fs || fs(o));
  }

  private list(info: ResourceInfo, ns: string | undefined, query: Record<string, string>): { apiVersion: string; kind: string; metadata: Record<string, unknown>; items: KObject[] } {
    const match = this.matcher(info, query);
    const prefix = `${info.group}/${info.resource}/${ns !== undefined ? ns + '/' : ''}`;
    let listRev = String(this.rev);
    let start = '';
    if (query.continue) {
      const tok = JSON.parse(Buffer.from(query.continue, 'base64').toString('utf8')) as { rv: string; start: string };
      if (Number(tok.rv) < this.compactedRev) {
        throw new ApiError(410, 'Expired', 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.');
      }
      listRev = tok.rv;
      start = tok.start;
    }
    const keys = [...this.objects.keys()].filter((k) => k.startsWith(prefix) && k > start).sort();
    const items: KObject[] = [];
    const limit = Number(query.limit || 0);
    let cont: string | undefined;
    for (const k of keys) {
      const o = this.objects.get(k)!;
      if (!match(o)) continue;
      if (limit > 0 && items.length === limit) {
        cont = Buffer.from(JSON.stringify({ rv: listRev, start: this.key(info, items.at(-1)!.metadata.namespace, items.at(-1)!.metadata.name!) })).toString('base64');
        break;
      }
      items.push(clone(o));
    }
    const metadata: Record<string, unknown> = { resourceVersion: listRev };
    if (cont) metadata.continue = cont;
    return { apiVersion: apiVersionOf(info), kind: info.listKind, metadata, items };
  }

  private watch(info: ResourceInfo, ns: string | undefined, query: Record<string, string>, res: ServerResponse): void {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    const w: Watcher = {
      res, info, ns, match: this.matcher(info, query), bookmarks: query.allowWatchBookmarks === 'true', stalled: this.stallNew,
    };
    const rv = query.resourceVersion;
    if (rv && rv !== '0' && Number(rv) < this.compactedRev) {
      this.writeFrame(w, { type: 'ERROR', object: errors.gone(`too old resource version: ${rv} (${this.compactedRev})`).toStatus() });
      res.end();
      return;
    }
    this.watchers.add(w);
    res.on('close', () => this.watchers.delete(w));
    if (!rv || rv === '0') {
      for (const o of this.list(info, ns, { ...query, limit: '', continue: '' }).items) this.writeFrame(w, { type: 'ADDED', object: o });
    } else {
      for (const e of this.history) if (e.rev > Number(rv)) this.deliver(w, e);
    }
    if (query.timeoutSeconds) {
      const t = setTimeout(() => this.watchers.has(w) && this.endWatch(w), Number(query.timeoutSeconds) * 1000);
      res.on('close', () => clearTimeout(t));
    }
  }
}
