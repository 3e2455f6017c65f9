/**
 * A read-through cache of the objects under one store prefix, fed by a store watch (like an admission plugin's
 * informer): after the initial list, `get` answers from memory — including "does not exist" — instead of a store
 * read and a JSON parse per request. The hub delivers a write's event in a microtask queued by the write itself,
 * before the writer's request can answer, so a request that starts after another one's write sees it.
 * Until the list completes, or after the watch failed (it restarts on the next `get`), reads go to the store.
 * Values are shared between callers: treat them as read-only.
 */
import { StoreError, type Backend, type Watcher } from '../store/types.js';

export class PrefixCache<T> {
  private readonly entries = new Map<string, T>();
  private synced = false;
  private watcher?: Watcher;
  private starting?: Promise<void>;

  constructor(
    private readonly backend: Backend,
    private readonly prefix: string,
    private readonly parse: (value: string) => T,
    private readonly log: (msg: string, f?: Record<string, unknown>) => void,
    /** A miss after sync still reads the store (NamespaceLifecycle does this, as upstream's plugin does). */
    private readonly liveReadOnMiss = false,
  ) {}

  /** The value at `prefix + rest`, or undefined when there is none. */
  async get(rest: string): Promise<T | undefined> {
    if (this.synced) {
      const hit = this.entries.get(rest);
      if (hit !== undefined || !this.liveReadOnMiss) return hit;
    } else this.start();
    const kv = await this.backend.get(this.prefix + rest);
    return kv ? this.parse(kv.value) : undefined;
  }

  stop(): void {
    this.watcher?.cancel();
    this.watcher = undefined;
    this.synced = false;
  }

  /** Starts (once) the list + watch; a failure is logged and retried on a later `get`. */
  private start(): void {
    this.starting ??= (async () => {
      const listed = await this.backend.list(this.prefix);
      const entries = this.entries;
      entries.clear();
      for (const kv of listed.items) entries.set(kv.key.slice(this.prefix.length), this.parse(kv.value));
      this.watcher = this.backend.watch(this.prefix, listed.revision, {
        onEvents: (events) => {
          for (const ev of events) {
            const k = ev.kv.key.slice(this.prefix.length);
            if (ev.type === 'DELETE') entries.delete(k);
            else entries.set(k, this.parse(ev.kv.value));
          }
        },
        onError: (err) => {
          // The store closing (apiserver shutdown) ends every watch: nothing to report then.
          if (!(err instanceof StoreError && err.message === 'store closed')) {
            this.log('store cache watch ended; it will be rebuilt', { prefix: this.prefix, err: String(err) });
          }
          this.synced = false;
          this.watcher = undefined;
          this.starting = undefined;
        },
      });
      this.synced = true;
    })().catch((err) => {
      this.log('store cache list failed; it will be retried', { prefix: this.prefix, err: String(err) });
      this.starting = undefined;
    });
  }
}
