/**
 * What NamespaceLifecycle admission needs on every create: does the namespace exist, and is it terminating.
 * A PrefixCache on the namespaces prefix (like the upstream plugin's informer); a miss falls back to a live read, as
 * upstream does, so a namespace created a moment ago is never reported missing.
 */
import type { Backend } from '../store/types.js';
import { PrefixCache } from './prefix-cache.js';

export interface NsState {
  terminating: boolean;
}

function parseNamespace(value: string): NsState {
  const o = JSON.parse(value) as { metadata?: { deletionTimestamp?: string }; status?: { phase?: string } };
  return { terminating: Boolean(o.metadata?.deletionTimestamp) || o.status?.phase === 'Terminating' };
}

export class NamespaceCache extends PrefixCache<NsState> {
  constructor(backend: Backend, prefix: string, log: (msg: string, f?: Record<string, unknown>) => void) {
    super(backend, prefix, parseNamespace, log, true);
  }
}
