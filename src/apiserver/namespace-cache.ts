/**
 * What NamespaceLifecycle admission needs on every create: does the namespace exist, and is it terminating.
 * Kept from one store watch on the namespaces prefix (like the upstream plugin's informer); a miss falls back to a
 * live read, as upstream does, so a namespace created a moment ago is never reported missing.
 */
import type { Backend, Watcher } from '../store/types.js';

interface NsState {
  terminating: boolean;
}

export class NamespaceCache {
  private readonly entries = new Map<string, NsState>();
  private watcher?: Watcher;
  private starting?: Promise<void>;

  constructor(private readonly backend: Backend, private readonly prefix: string, private readonly log: (msg: string, f?: Record<string, unknown>) => void) {}

  private static parse(value: string): NsState {
    const o = JSON.parse(value) as { metadata?: { deletionTimestamp?: string }; status?: { phase?: string } };
    return { terminating: Boolean(o.metadata?.deletionTimestamp) || o.status?.phase === 'Terminating' };
  }

  private nameOf(key: string): string {
    return key.slice(this.prefix.length);
  }

  /** Starts (once) the list + watch that feeds the cache; failures are logged and the cache restarts lazily. */
  private ensureStarted(): Promise<void> {
    this.starting ??= (async () => {
      const listed = await this.backend.list(this.prefix);
      for (const kv of listed.items) this.entries.set(this.nameOf(kv.key), NamespaceCache.parse(kv.value));
      this.watcher = this.backend.watch(this.prefix, listed.revision, {
        onEvents: (events) => {
          for (const ev of events) {
            const name = this.nameOf(ev.kv.key);
            if (ev.type === 'DELETE') this.entries.delete(name);
            else this.entries.set(name, NamespaceCache.parse(ev.kv.value));
          }
        },
        onError: (err) => {
          this.log('namespace cache watch ended; it will be rebuilt', { err: String(err) });
          this.entries.clear();
          this.watcher = undefined;
          this.starting = undefined;
        },
      });
    })().catch((err) => {
      this.starting = undefined;
      throw err;
    });
    return this.starting;
  }

  /** undefined when the namespace does not exist. */
  async get(name: string): Promise<NsState | undefined> {
    await this.ensureStarted();
    const hit = this.entries.get(name);
    if (hit) return hit;
    const kv = await this.backend.get(this.prefix + name);
    return kv ? NamespaceCache.parse(kv.value) : undefined;
  }

  stop(): void {
    this.watcher?.cancel();
  }
}
