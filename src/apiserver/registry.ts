/**
 * Generic REST storage over the revisioned store, like apiserver's `genericregistry.Store`: builds keys, turns store
 * revisions into `resourceVersion`, pages lists with continue tokens, enforces optimistic concurrency, and maps
 * store errors to Kubernetes Status errors in ONE place (`mapStoreError`).
 */
import { randomUUID } from 'node:crypto';
import {
  Backend, CompactedError, ConflictError, FutureRevisionError, KeyExistsError, KeyValue, NotFoundError, WatchEvent,
} from '../store/types.js';
import { ResourceInfo, apiVersionOf } from '../api/resources.js';
import { ApiError, KObject, errors } from '../api/errors.js';
import { convert, storageVersion } from '../api/conversion.js';
import { rfc3339 } from '../api/time.js';
import { sameJson } from '../util/same-json.js';

/** Continue token: base64 of {"v":"meta.k8s.io/v1","rv":N,"start":"<key after which to resume>"} as upstream. */
export interface ContinueToken {
  rv: number;
  start: string;
}

export function encodeContinue(t: ContinueToken): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: t.rv, start: t.start })).toString('base64url');
}

export function decodeContinue(s: string): ContinueToken {
  try {
    const raw = JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
    if (raw?.v !== 'meta.k8s.io/v1' || typeof raw.rv !== 'number' || typeof raw.start !== 'string') throw new Error('bad token');
    return { rv: raw.rv, start: raw.start };
  } catch {
    throw errors.badRequest('invalid continue token: the provided continue parameter is not valid');
  }
}

export function nowRFC3339(d = new Date()): string {
  return rfc3339(d);
}

const NAME_CHARS = 'bcdfghjklmnpqrstvwxz2456789';
/** Same alphabet and length as apiserver's SimpleNameGenerator (5 random characters). */
export function generateNameSuffix(): string {
  let s = '';
  for (let i = 0; i < 5; i++) s += NAME_CHARS[Math.floor(Math.random() * NAME_CHARS.length)];
  return s;
}

export function newUid(): string {
  return randomUUID();
}

/** Maps store failures to Status errors; rethrows ApiErrors; anything else becomes a 500 with the message. */
export function mapStoreError(err: unknown, info: ResourceInfo, name: string): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof KeyExistsError) return errors.alreadyExists(info.resource, info.group, name);
  if (err instanceof NotFoundError) return errors.notFound(info.resource, info.group, name);
  if (err instanceof ConflictError) {
    return errors.conflict(info.resource, info.group, name, 'the object has been modified; please apply your changes to the latest version and try again');
  }
  if (err instanceof CompactedError) return errors.gone(`too old resource version: ${err.requested} (${err.compacted})`);
  if (err instanceof FutureRevisionError) {
    return new ApiError(504, 'Timeout', `Too large resource version: ${err.requested}, current: ${err.current}`, {
      causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
      retryAfterSeconds: 1,
    });
  }
  return errors.internal((err as Error)?.message ?? String(err));
}

export interface ListParams {
  namespace?: string;
  limit?: number;
  continueToken?: string;
  resourceVersion?: string;
  resourceVersionMatch?: string;
  /** Filter applied before paging; lists keep reading chunks until `limit` matching items are found. */
  filter?: (obj: KObject) => boolean;
}

export interface ListOutcome {
  items: KObject[];
  resourceVersion: number;
  continue?: string;
  remainingItemCount?: number;
}

export class Registry {
  constructor(readonly backend: Backend) {}

  /** `/registry/<group>/<resource>/<namespace>/<name>`; the core group has no group segment, as upstream. */
  prefix(info: ResourceInfo, namespace?: string): string {
    const base = info.storageGroup ? `/registry/${info.storageGroup}/${info.storageResource}/` : `/registry/${info.storageResource}/`;
    if (!info.namespaced || namespace === undefined) return base;
    return `${base}${namespace}/`;
  }

  key(info: ResourceInfo, namespace: string | undefined, name: string): string {
    return info.namespaced ? `${this.prefix(info, namespace)}${name}` : `${this.prefix(info)}${name}`;
  }

  /** Decodes a stored value, stamping resourceVersion and the served apiVersion/kind. */
  decode(info: ResourceInfo, kv: KeyValue, rv = kv.modRevision): KObject {
    let obj = JSON.parse(kv.value) as KObject;
    const served = apiVersionOf(info);
    obj.apiVersion ??= storageVersion(info);
    obj.kind ??= info.kind;
    if (obj.apiVersion !== served) obj = convert(obj, served);
    obj.apiVersion = served;
    obj.kind = info.kind;
    obj.metadata ??= {};
    obj.metadata.resourceVersion = String(rv);
    return obj;
  }

  /** The object just written, as a reader would see it (no decode round trip on the write path). */
  private stamp(info: ResourceInfo, obj: KObject, rev: number): KObject {
    return { ...obj, apiVersion: apiVersionOf(info), kind: info.kind, metadata: { ...obj.metadata, resourceVersion: String(rev) } };
  }

  /** Serializes for storage: in the storage version, without resourceVersion (the store's revision is it). */
  encode(info: ResourceInfo, obj: KObject): string {
    const sv = storageVersion(info);
    // Already in the stored layout (apiVersion = storage version, then kind, then metadata without a
    // resourceVersion: what a create usually holds): the object serializes to the same text as it is, no copies.
    const m = obj.metadata as KObject['metadata'] | null | undefined;
    if (obj.apiVersion === sv && typeof m === 'object' && m !== null && m.resourceVersion === undefined && storedLayout(obj)) return JSON.stringify(obj);
    const { resourceVersion: _rv, ...meta } = obj.metadata;
    const stored = obj.apiVersion && obj.apiVersion !== sv ? convert(obj, sv) : obj;
    // apiVersion, kind and metadata lead, so readers can splice resourceVersion into the text (see `rawEvent`).
    const { apiVersion: _av, kind, metadata: _m, ...rest } = stored;
    return JSON.stringify({ apiVersion: sv, kind, metadata: meta, ...rest });
  }

  /**
   * The JSON text of a watch event's object without a parse/stringify round trip, when the stored text is already
   * in the served version and starts `{"apiVersion":…,"kind":…,"metadata":{` (what `encode` writes): the
   * resourceVersion is spliced in as the first metadata field. Undefined when the value needs `decode`.
   */
  rawObject(info: ResourceInfo, kv: KeyValue, rv = kv.modRevision): string | undefined {
    let head = this.rawHeads.get(info);
    if (head === undefined) {
      head = `{"apiVersion":${JSON.stringify(apiVersionOf(info))},"kind":${JSON.stringify(info.kind)},"metadata":{`;
      this.rawHeads.set(info, head);
    }
    const v = kv.value;
    if (!v.startsWith(head)) return undefined;
    const empty = v.charCodeAt(head.length) === 125; // '}': metadata is {}
    return `${head}"resourceVersion":"${rv}"${empty ? '' : ','}${v.slice(head.length)}`;
  }

  private readonly rawHeads = new WeakMap<ResourceInfo, string>();

  /** The stored value behind an object `create` or `update` returned (so the response need not serialize it again). */
  private readonly written = new WeakMap<KObject, KeyValue>();

  /**
   * The JSON text of an object `create` or `update` just returned, from the text it stored (see `rawObject`);
   * undefined for any other object. Callers must not have modified the object since.
   */
  writtenJson(info: ResourceInfo, obj: KObject): string | undefined {
    const kv = this.written.get(obj);
    return kv ? this.rawObject(info, kv) : undefined;
  }

  async get(info: ResourceInfo, namespace: string | undefined, name: string): Promise<KObject> {
    const kv = await this.backend.get(this.key(info, namespace, name)).catch((e) => { throw mapStoreError(e, info, name); });
    if (!kv) throw errors.notFound(info.resource, info.group, name);
    return this.decode(info, kv);
  }

  async tryGet(info: ResourceInfo, namespace: string | undefined, name: string): Promise<KObject | undefined> {
    const kv = await this.backend.get(this.key(info, namespace, name)).catch((e) => { throw mapStoreError(e, info, name); });
    return kv ? this.decode(info, kv) : undefined;
  }

  /**
   * Lists with upstream resourceVersion semantics: unset → consistent (current) read; "0" → any (current);
   * N with resourceVersionMatch=Exact → at revision N (410 if compacted); N otherwise → not older than N;
   * a continue token → the token's revision, resuming after its key.
   */
  async list(info: ResourceInfo, p: ListParams): Promise<ListOutcome> {
    const prefix = this.prefix(info, p.namespace);
    let revision: number | undefined;
    let startAfter: string | undefined;
    if (p.continueToken) {
      if (p.resourceVersion && p.resourceVersion !== '0') {
        throw errors.badRequest('specifying resource version is not allowed when using continue');
      }
      const t = decodeContinue(p.continueToken);
      revision = t.rv;
      startAfter = prefix + t.start;
      if (revision <= this.backend.compactRevision()) {
        throw errors.gone('The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.');
      }
    } else if (p.resourceVersion && p.resourceVersion !== '0') {
      const rv = parseResourceVersion(p.resourceVersion);
      const current = await this.backend.currentRevision();
      if (p.resourceVersionMatch === 'Exact') revision = rv;
      else if (rv > current) throw mapStoreError(new FutureRevisionError(rv, current), info, '');
    } else if (p.resourceVersionMatch === 'Exact') {
      throw errors.badRequest('resourceVersionMatch "Exact" is forbidden for resourceVersion "" and "0"');
    }
    if (p.resourceVersionMatch && !['Exact', 'NotOlderThan'].includes(p.resourceVersionMatch)) {
      throw errors.badRequest(`resourceVersionMatch: Unsupported value: "${p.resourceVersionMatch}": supported values: "Exact", "NotOlderThan"`);
    }
    if (p.resourceVersionMatch && !p.resourceVersion) {
      throw errors.badRequest('resourceVersionMatch is forbidden unless resourceVersion is provided');
    }
    const limit = p.limit && p.limit > 0 ? p.limit : 0;
    const items: KObject[] = [];
    let readAt: number | undefined = revision;
    let lastKey: string | undefined;
    let more = false;
    try {
      for (;;) {
        const chunk = limit ? Math.max(limit - items.length, Math.min(limit * 2, 1000)) : 0;
        const res = await this.backend.list(prefix, { limit: chunk || undefined, startAfter, revision: readAt });
        readAt ??= res.revision;
        for (let i = 0; i < res.items.length; i++) {
          const kv = res.items[i];
          const obj = this.decode(info, kv);
          lastKey = kv.key;
          if (p.filter && !p.filter(obj)) continue;
          items.push(obj);
          if (limit && items.length >= limit) {
            more = i < res.items.length - 1 || res.more;
            break;
          }
        }
        if ((limit && items.length >= limit) || !res.more) {
          if (!(limit && items.length >= limit)) more = false;
          break;
        }
        startAfter = lastKey;
      }
    } catch (e) {
      throw mapStoreError(e, info, '');
    }
    const out: ListOutcome = { items, resourceVersion: readAt ?? (await this.backend.currentRevision()) };
    if (more && lastKey !== undefined) out.continue = encodeContinue({ rv: out.resourceVersion, start: lastKey.slice(prefix.length) });
    return out;
  }

  /**
   * Stores a new object (already defaulted and validated). With `owned` (the caller's object is its own and not used
   * again, as a request's decoded body) the object itself is stamped and returned instead of a copy: the same
   * fields in the same order as `stamp`'s copy.
   */
  async create(info: ResourceInfo, obj: KObject, owned = false): Promise<KObject> {
    const name = obj.metadata.name!;
    try {
      const kv = await this.backend.create(this.key(info, obj.metadata.namespace, name), this.encode(info, obj));
      let out: KObject;
      if (owned) {
        out = obj;
        out.apiVersion = apiVersionOf(info);
        out.kind = info.kind;
        out.metadata.resourceVersion = String(kv.modRevision);
      } else {
        out = this.stamp(info, obj, kv.modRevision);
      }
      this.written.set(out, kv);
      return out;
    } catch (e) {
      throw mapStoreError(e, info, name);
    }
  }

  /** Compare-and-swap write at `expectedRevision`. */
  async update(info: ResourceInfo, obj: KObject, expectedRevision: number): Promise<KObject> {
    const name = obj.metadata.name!;
    try {
      const kv = await this.backend.update(this.key(info, obj.metadata.namespace, name), this.encode(info, obj), expectedRevision);
      const out = this.stamp(info, obj, kv.modRevision);
      this.written.set(out, kv);
      return out;
    } catch (e) {
      throw mapStoreError(e, info, name);
    }
  }

  async remove(info: ResourceInfo, namespace: string | undefined, name: string, expectedRevision?: number): Promise<KObject> {
    try {
      const kv = await this.backend.delete(this.key(info, namespace, name), expectedRevision);
      return this.decode(info, kv);
    } catch (e) {
      throw mapStoreError(e, info, name);
    }
  }

  /**
   * Read-modify-write with retries on conflict, like GuaranteedUpdate: `mutate` receives the current object and
   * returns the desired one (or the same reference to skip the write). Used by patch and by internal updates.
   */
  async guaranteedUpdate(
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
    mutate: (current: KObject) => Promise<KObject> | KObject,
    attempts = 5,
  ): Promise<{ obj: KObject; changed: boolean }> {
    for (let i = 0; ; i++) {
      const current = await this.get(info, namespace, name);
      const rev = Number(current.metadata.resourceVersion);
      const next = await mutate(structuredClone(current));
      if (next === current || sameJson(next, current)) return { obj: current, changed: false };
      try {
        return { obj: await this.update(info, next, rev), changed: true };
      } catch (e) {
        if (e instanceof ApiError && e.code === 409 && e.reason === 'Conflict' && i < attempts - 1) continue;
        throw e;
      }
    }
  }

  /** Decodes a watch event; the previous value only when `withPrev` (selector watches need it, others do not). */
  decodeEvent(info: ResourceInfo, ev: WatchEvent, withPrev = true): { type: 'ADDED' | 'MODIFIED' | 'DELETED'; obj: KObject; prev?: KObject } {
    if (ev.type === 'DELETE') return { type: 'DELETED', obj: this.decode(info, ev.kv, ev.kv.modRevision) };
    const obj = this.decode(info, ev.kv);
    const created = ev.kv.createRevision === ev.kv.modRevision;
    return { type: created ? 'ADDED' : 'MODIFIED', obj, prev: withPrev && ev.prevKv ? this.decode(info, ev.prevKv) : undefined };
  }
}

/** True when the object's first three keys are apiVersion, kind and metadata, in that order. */
function storedLayout(obj: KObject): boolean {
  let i = 0;
  for (const k in obj) {
    if (k !== (i === 0 ? 'apiVersion' : i === 1 ? 'kind' : 'metadata')) return false;
    if (++i === 3) return true;
  }
  return false;
}

export function parseResourceVersion(rv: string): number {
  if (!/^\d+$/.test(rv)) throw errors.badRequest(`invalid resource version: "${rv}"`);
  return Number(rv);
}
