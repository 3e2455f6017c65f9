/**
 * Shared informers (client-go's SharedInformerFactory): every controller asking for the same kind gets the same
 * Informer, so the manager holds one list+watch per resource however many controllers use it.
 */
import type { DynamicClient } from '../client/dynamic.js';
import { Informer, type InformerOptions } from '../client/informer.js';
import type { MetaObject } from '../client/cache.js';
import type { Logger } from '../client/log.js';

export class InformerFactory {
  private readonly informers = new Map<string, Informer<MetaObject>>();
  private started = false;

  constructor(private readonly client: DynamicClient, private readonly opts: InformerOptions & { logger?: Logger } = {}) {}

  /** The shared informer for `apiVersion`/`kind` (all namespaces). Informers requested after start() start at once. */
  for<T extends MetaObject>(apiVersion: string, kind: string): Informer<T> {
    const key = `${apiVersion}/${kind}`;
    let inf = this.informers.get(key);
    if (!inf) {
      inf = new Informer<MetaObject>(this.client.resource<MetaObject>(apiVersion, kind), this.opts);
      this.informers.set(key, inf);
      if (this.started) void inf.start();
    }
    return inf as unknown as Informer<T>;
  }

  /** Starts every informer created so far (and any created later). */
  start(): void {
    this.started = true;
    for (const inf of this.informers.values()) void inf.start();
  }

  /** Resolves true once every informer has completed its initial list. */
  async waitForSync(): Promise<boolean> {
    const results = await Promise.all([...this.informers.values()].map((i) => i.waitForSync()));
    return results.every(Boolean);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.stop()));
    this.informers.clear();
    this.started = false;
  }
}
