/**
 * The store contract: a kine-shaped revisioned key-value store. Every write gets the next value of one global
 * revision counter; that revision is the Kubernetes `resourceVersion`. Only the apiserver talks to a Backend.
 *
 * Semantics follow etcd v3 as kine exposes it, with one simplification that matches how the apiserver uses it:
 * watches start strictly AFTER a revision (a client's resourceVersion), never "at" one.
 */

/** One stored version of a key. `value` is the serialized object (JSON text). */
export interface KeyValue {
  key: string;
  value: string;
  /** Revision at which this key was (last) created. */
  createRevision: number;
  /** Revision of the write that produced this version (for a delete event: the delete's revision). */
  modRevision: number;
}

/** A change seen by a watcher. For DELETE, `kv.value` is the last value before deletion and
 * `kv.modRevision` is the revision of the deletion itself. `prevKv` is the version the write replaced. */
export interface WatchEvent {
  type: 'PUT' | 'DELETE';
  kv: KeyValue;
  prevKv?: KeyValue;
}

export interface ListOptions {
  /** Maximum items to return; 0 or undefined = all. */
  limit?: number;
  /** Return only keys strictly greater than this key (pagination continue point). */
  startAfter?: string;
  /** Read the state as of this revision (0/undefined = current). Fails with CompactedError below the compacted revision. */
  revision?: number;
}

export interface ListResult {
  items: KeyValue[];
  /** The revision the list was read at (current revision when options.revision was unset). */
  revision: number;
  /** True when more keys under the prefix exist after the last returned item. */
  more: boolean;
}

export interface Watcher {
  /** Stop delivering events; idempotent. */
  cancel(): void;
}

export interface WatchCallbacks {
  /** Events in revision order, never interleaved between watchers in different orders. */
  onEvents(events: WatchEvent[]): void;
  /** Terminal error (e.g. CompactedError when the watcher fell behind compaction); no events follow. */
  onError?(err: Error): void;
}

export interface Backend {
  /** Opens files, creates schema, recovers state. Must be called once before use. */
  start(): Promise<void>;
  close(): Promise<void>;

  /** Current value of `key` (or as of `revision`), undefined when absent. */
  get(key: string, revision?: number): Promise<KeyValue | undefined>;
  /** Keys that start with `prefix`, in key order. */
  list(prefix: string, options?: ListOptions): Promise<ListResult>;
  /** Number of live keys under prefix. */
  count(prefix: string): Promise<number>;

  /** Creates `key`; throws KeyExistsError if it exists. Returns the stored version. */
  create(key: string, value: string): Promise<KeyValue>;
  /** Replaces `key` if its current modRevision equals `expectedModRevision`; ConflictError otherwise,
   * NotFoundError when the key is absent. */
  update(key: string, value: string, expectedModRevision: number): Promise<KeyValue>;
  /** Deletes `key` (only if modRevision matches when `expectedModRevision` is given). Returns the deleted
   * version with `modRevision` set to the revision of the delete. NotFoundError / ConflictError. */
  delete(key: string, expectedModRevision?: number): Promise<KeyValue>;

  /**
   * Streams every change to keys under `prefix` with revision > `afterRevision`, first replaying history from the
   * log, then live. Throws CompactedError synchronously-or-via-onError when afterRevision < compactRevision().
   */
  watch(prefix: string, afterRevision: number, callbacks: WatchCallbacks): Watcher;

  /** Drops history at or below `revision` (the newest version of each live key is kept). */
  compact(revision: number): Promise<void>;
  currentRevision(): Promise<number>;
  /** The highest revision that has been compacted away (0 = none). */
  compactRevision(): number;
}

/** Base class so the apiserver can map every store failure in one place. */
export class StoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}
export class KeyExistsError extends StoreError {
  constructor(readonly key: string) { super(`key exists: ${key}`); }
}
export class NotFoundError extends StoreError {
  constructor(readonly key: string) { super(`key not found: ${key}`); }
}
export class ConflictError extends StoreError {
  constructor(readonly key: string, readonly expected: number, readonly actual: number) {
    super(`conflict on ${key}: expected revision ${expected}, found ${actual}`);
  }
}
/** Reading or watching below the compacted revision. Maps to HTTP 410 Expired. */
export class CompactedError extends StoreError {
  constructor(readonly requested: number, readonly compacted: number) {
    super(`required revision ${requested} has been compacted (compacted revision ${compacted})`);
  }
}
/** A revision in the future (list/get at a revision not yet written). */
export class FutureRevisionError extends StoreError {
  constructor(readonly requested: number, readonly current: number) {
    super(`required revision ${requested} is a future revision (current ${current})`);
  }
}
