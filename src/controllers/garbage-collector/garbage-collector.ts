/**
 * The garbage collector (kube-controller-manager `pkg/controller/garbagecollector/garbagecollector.go`): deletes
 * objects whose owners are all gone, and carries out the Foreground and Orphan propagation policies.
 *
 * - Every served resource that supports list, watch and delete is watched through the shared informers (events
 *   excepted, as upstream's default ignored resources); the {@link DependencyGraph} is kept from their events.
 * - `attemptToDelete` (keyed by UID) re-examines one object: it re-reads it live, classifies each owner reference as
 *   *solid*, *dangling* (owner absent: 404 or another UID, confirmed by a live GET, remembered in the absent-owner
 *   cache) or *waiting for dependents deletion* (owner being deleted in the foreground). No solid owner → delete it
 *   (Foreground when an owner waits for it and it has dependents of its own, otherwise by its own finalizers);
 *   solid and non-solid owners → only the non-solid references are removed.
 * - An owner being deleted with the `foregroundDeletion` finalizer keeps it until no dependent with
 *   `blockOwnerDeletion: true` remains, then the collector removes the finalizer and the apiserver deletes it.
 * - `attemptToOrphan`: an owner being deleted with the `orphan` finalizer has its references removed from every
 *   dependent, then the finalizer.
 */
import { isConflict, isNotFound } from '../../client/rest.js';
import { BucketRateLimiter, ItemExponentialRateLimiter, MaxOfRateLimiter, WorkQueue, type RateLimiter } from '../../client/workqueue.js';
import type { DynamicClient, ResourceClient } from '../../client/dynamic.js';
import type { EventRecorder } from '../../client/events.js';
import type { Logger } from '../../client/log.js';
import type { MetaObject } from '../../client/cache.js';
import { findKind, parseApiVersion, RESOURCES, type ResourceInfo } from '../../api/resources.js';
import type { ControllerContext, Runnable } from '../types.js';
import {
  DependencyGraph, FOREGROUND_FINALIZER, identityString, ORPHAN_FINALIZER, ownerRefsOf,
  type GraphNode, type Identity, type ObjectMeta, type OwnerReference,
} from './graph.js';

/** The controller's name in kube-controller-manager (`--controllers=garbage-collector`). */
export const NAME = 'garbage-collector';
/** Component name on the events it records. */
export const COMPONENT = 'garbage-collector-controller';

/** Resources upstream's collector never watches (`DefaultIgnoredResources`). */
const IGNORED = new Set(['/events', 'events.k8s.io/events']);

/**
 * The resources the collector watches: list, watch and delete verbs (upstream `GetDeletableResources`), one version
 * per storage (HPA autoscaling/v1 and v2 share one), minus the ignored ones.
 */
export function garbageCollectableResources(): ResourceInfo[] {
  const seen = new Set<string>();
  const out: ResourceInfo[] = [];
  for (const r of RESOURCES) {
    if (!['list', 'watch', 'delete'].every((v) => r.verbs.includes(v))) continue;
    if (IGNORED.has(`${r.group}/${r.resource}`) || IGNORED.has(`${r.storageGroup}/${r.storageResource}`)) continue;
    const key = `${r.storageGroup}/${r.storageResource}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(r);
  }
  return out;
}

type Obj = MetaObject & { metadata?: ObjectMeta & { resourceVersion?: string } };

/** Returned (as upstream's sentinel errors) when retrying cannot help: the item is dropped from the queue. */
class DropItem extends Error {}

/** The object was confirmed absent: the graph was told, no retry. */
const VIRTUAL_DELETE = new DropItem('virtual delete event enqueued');

const MAX_CONFLICT_RETRIES = 5;

/** A rate limiter like upstream's GC queues: per-item backoff, with an overall token bucket. */
function gcRateLimiter(): RateLimiter {
  return new MaxOfRateLimiter(new ItemExponentialRateLimiter(5, 1_000_000), new BucketRateLimiter(10, 100));
}

/** See the module comment. */
export class GarbageCollector implements Runnable {
  readonly graph: DependencyGraph;
  private readonly deleteQueue = new WorkQueue({ name: 'garbage_collector_attempt_to_delete', rateLimiter: gcRateLimiter() });
  private readonly orphanQueue = new WorkQueue({ name: 'garbage_collector_attempt_to_orphan', rateLimiter: gcRateLimiter() });
  private readonly workers: Promise<void>[] = [];
  private readonly unsubscribe: Array<() => void> = [];
  private readonly client: DynamicClient;
  private readonly recorder: EventRecorder;
  private readonly log: Logger;
  private readonly workerCount: number;

  constructor(ctx: ControllerContext) {
    this.client = ctx.client;
    this.recorder = ctx.recorder(COMPONENT);
    this.log = ctx.logger(NAME);
    this.workerCount = Math.max(1, ctx.config.workers);
    this.graph = new DependencyGraph({
      attemptToDelete: (n) => this.deleteQueue.add(n.identity.uid),
      attemptToDeleteRateLimited: (n) => this.deleteQueue.addRateLimited(n.identity.uid),
      attemptToOrphan: (n) => this.orphanQueue.add(n.identity.uid),
      reportInvalidNamespaceOwnerRef: (dep, ownerUid) => this.reportInvalidNamespaceOwnerRef(dep, ownerUid),
    });
    for (const info of garbageCollectableResources()) {
      const apiVersion = info.group ? `${info.group}/${info.version}` : info.version;
      const inf = ctx.informers.for<Obj>(apiVersion, info.kind);
      const idOf = (o: Obj): Identity | undefined => {
        const m = o.metadata;
        if (!m?.uid || !m.name) return undefined;
        return { apiVersion, kind: info.kind, name: m.name, uid: m.uid, namespace: m.namespace ?? '' };
      };
      this.unsubscribe.push(inf.addEventHandler({
        onAdd: (o) => {
          const id = idOf(o);
          if (id) this.graph.observe(id, o.metadata!);
        },
        onUpdate: (old, o) => {
          const id = idOf(o);
          if (id) this.graph.observe(id, o.metadata!, old.metadata);
        },
        onDelete: (o) => {
          const id = idOf(o);
          if (id) this.graph.observeDelete(id);
        },
      }));
    }
  }

  start(): void {
    for (let i = 0; i < this.workerCount; i++) this.workers.push(this.run(this.deleteQueue, (uid) => this.attemptToDeleteWorker(uid)));
    for (let i = 0; i < Math.max(1, Math.floor(this.workerCount / 2)); i++) this.workers.push(this.run(this.orphanQueue, (uid) => this.attemptToOrphanWorker(uid)));
    this.log.info({ workers: this.workerCount, nodes: this.graph.size }, 'garbage collector started');
  }

  async stop(): Promise<void> {
    for (const u of this.unsubscribe.splice(0)) u();
    this.deleteQueue.shutDown();
    this.orphanQueue.shutDown();
    await Promise.all(this.workers);
  }

  private async run(queue: WorkQueue, handle: (uid: string) => Promise<'forget' | 'requeue'>): Promise<void> {
    for (;;) {
      const uid = await queue.get();
      if (uid === undefined) return;
      try {
        const action = await handle(uid);
        if (action === 'requeue') queue.addRateLimited(uid);
        else queue.forget(uid);
      } catch (err) {
        this.log.warn({ err: String(err), uid, queue: queue.name }, 'garbage collector item failed; retrying with backoff');
        queue.addRateLimited(uid);
      } finally {
        queue.done(uid);
      }
    }
  }

  /** Upstream `attemptToDeleteWorker`. */
  private async attemptToDeleteWorker(uid: string): Promise<'forget' | 'requeue'> {
    const n = this.graph.get(uid);
    if (!n) return 'forget';
    try {
      await this.attemptToDeleteItem(n);
    } catch (err) {
      if (err instanceof DropItem) return 'forget';
      throw err;
    }
    // A virtual node that exists: wait for the informer to observe it (kubernetes#56121).
    return this.graph.get(uid)?.virtual ? 'requeue' : 'forget';
  }

  /** The client for an identity's kind; an unknown kind is an error retried with backoff, as upstream's RESTMapping. */
  private clientFor(apiVersion: string, kind: string): { rc: ResourceClient<Obj>; info: ResourceInfo } {
    const { group, version } = parseApiVersion(apiVersion);
    const info = findKind(group, version, kind);
    if (!info) throw new Error(`unable to get REST mapping for ${apiVersion}/${kind}`);
    return { rc: this.client.resource<Obj>(apiVersion, kind), info };
  }

  private nsFor(info: ResourceInfo, namespace: string): string | undefined {
    if (!info.namespaced) return undefined;
    if (!namespace) throw new DropItem(`cluster-scoped object references a namespaced owner of kind ${info.kind}`);
    return namespace;
  }

  private async getObject(id: Identity): Promise<Obj | undefined> {
    const { rc, info } = this.clientFor(id.apiVersion, id.kind);
    try {
      return await rc.get(this.nsFor(info, id.namespace), id.name);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Upstream `attemptToDeleteItem`. */
  private async attemptToDeleteItem(item: GraphNode): Promise<void> {
    if (item.beingDeleted && !item.deletingDependents) return;
    const id = item.identity;
    const latest = await this.getObject(id);
    if (!latest || latest.metadata?.uid !== id.uid) {
      const { info } = this.clientFor(id.apiVersion, id.kind);
      this.graph.virtualDelete(info.namespaced ? id : { ...id, namespace: '' });
      throw VIRTUAL_DELETE;
    }
    if (item.deletingDependents) return this.processDeletingDependentsItem(item);
    const refs = ownerRefsOf(latest.metadata);
    if (refs.length === 0) return;
    const { solid, dangling, waiting } = await this.classifyReferences(item, refs);
    if (solid.length > 0) {
      if (dangling.length === 0 && waiting.length === 0) return;
      const drop = new Set([...dangling, ...waiting].map((r) => r.uid));
      this.log.debug({ item: identityString(id), drop: [...drop] }, 'removing dangling and waiting owner references');
      await this.patchOwnerRefs(item, latest, (r) => !drop.has(r.uid) ? r : undefined);
      return;
    }
    if (waiting.length > 0 && item.dependents.size > 0) {
      for (const dep of item.dependents) {
        if (dep.deletingDependents) {
          // A dependent of ours is itself deleting its dependents: unblock our references to avoid a deadlock cycle.
          await this.patchOwnerRefs(item, latest, (r) => (r.blockOwnerDeletion ? { ...r, blockOwnerDeletion: false } : r));
          break;
        }
      }
      await this.deleteObject(id, 'Foreground');
      return;
    }
    const fins = latest.metadata?.finalizers ?? [];
    const policy = fins.includes(ORPHAN_FINALIZER) ? 'Orphan' : fins.includes(FOREGROUND_FINALIZER) ? 'Foreground' : 'Background';
    this.log.debug({ item: identityString(id), policy }, 'deleting object whose owners are all gone');
    await this.deleteObject(id, policy);
  }

  /** Upstream `processDeletingDependentsItem`: the owner goes once no blocking dependent remains. */
  private async processDeletingDependentsItem(item: GraphNode): Promise<void> {
    const blocking = item.blockingDependents();
    if (blocking.length === 0) {
      await this.removeFinalizer(item, FOREGROUND_FINALIZER);
      return;
    }
    for (const dep of blocking) if (!dep.deletingDependents) this.deleteQueue.add(dep.identity.uid);
  }

  private async classifyReferences(item: GraphNode, refs: OwnerReference[]): Promise<{ solid: OwnerReference[]; dangling: OwnerReference[]; waiting: OwnerReference[] }> {
    const solid: OwnerReference[] = [];
    const dangling: OwnerReference[] = [];
    const waiting: OwnerReference[] = [];
    for (const r of refs) {
      const owner = await this.ownerOf(r, item);
      if (!owner) dangling.push(r);
      else if (owner.metadata?.deletionTimestamp && (owner.metadata.finalizers ?? []).includes(FOREGROUND_FINALIZER)) waiting.push(r);
      else solid.push(r);
    }
    return { solid, dangling, waiting };
  }

  /**
   * Upstream `isDangling`: the live owner, or undefined when it is absent (404 or another UID). Owners of a
   * namespaced kind are looked up in the dependent's namespace; a cluster-scoped dependent naming a namespaced
   * kind is invalid and dropped after an `OwnerRefInvalidNamespace` event.
   */
  private async ownerOf(r: OwnerReference, item: GraphNode): Promise<Obj | undefined> {
    const coords = { apiVersion: r.apiVersion, kind: r.kind, name: r.name, uid: r.uid };
    if (this.graph.absentOwners.has({ ...coords, namespace: '' })) return undefined;
    if (this.graph.absentOwners.has({ ...coords, namespace: item.identity.namespace })) return undefined;
    const { rc, info } = this.clientFor(r.apiVersion, r.kind);
    if (info.namespaced && !item.identity.namespace) {
      this.reportInvalidNamespaceOwnerRef(item, r.uid);
      throw new DropItem(`cluster-scoped ${identityString(item.identity)} references namespaced owner ${r.kind} ${r.name}`);
    }
    const absentKey = { ...coords, namespace: info.namespaced ? item.identity.namespace : '' };
    let owner: Obj;
    try {
      owner = await rc.get(info.namespaced ? item.identity.namespace : undefined, r.name);
    } catch (err) {
      if (isNotFound(err)) {
        this.graph.absentOwners.add(absentKey);
        return undefined;
      }
      throw err;
    }
    if (owner.metadata?.uid !== r.uid) {
      this.graph.absentOwners.add(absentKey);
      return undefined;
    }
    return owner;
  }

  private async deleteObject(id: Identity, policy: 'Foreground' | 'Background' | 'Orphan'): Promise<void> {
    const { rc, info } = this.clientFor(id.apiVersion, id.kind);
    try {
      await rc.delete(this.nsFor(info, id.namespace), id.name, { propagationPolicy: policy, preconditions: { uid: id.uid } });
    } catch (err) {
      if (isNotFound(err)) return; // already gone: the informer reports the delete
      throw err;
    }
  }

  /** Rewrites an object's owner references (a merge patch guarded by the resourceVersion just read). */
  private async patchOwnerRefs(item: GraphNode, latest: Obj, map: (r: OwnerReference) => OwnerReference | undefined): Promise<void> {
    const { rc, info } = this.clientFor(item.identity.apiVersion, item.identity.kind);
    const next = ((latest.metadata?.ownerReferences ?? []) as OwnerReference[]).map((r) => map(r)).filter((r): r is OwnerReference => r !== undefined);
    await rc.patch(this.nsFor(info, item.identity.namespace), item.identity.name, 'merge', {
      metadata: { ownerReferences: next.length ? next : null, resourceVersion: latest.metadata?.resourceVersion },
    });
  }

  /** Upstream `removeFinalizer`: re-read, drop the finalizer, write guarded by resourceVersion; retried on conflict. */
  private async removeFinalizer(item: GraphNode, finalizer: string): Promise<void> {
    const { rc, info } = this.clientFor(item.identity.apiVersion, item.identity.kind);
    const ns = this.nsFor(info, item.identity.namespace);
    for (let attempt = 0; ; attempt++) {
      const cur = await this.getObject(item.identity);
      if (!cur || cur.metadata?.uid !== item.identity.uid) return;
      const fins = cur.metadata?.finalizers ?? [];
      if (!fins.includes(finalizer)) return;
      const next = fins.filter((f) => f !== finalizer);
      try {
        await rc.patch(ns, item.identity.name, 'merge', { metadata: { finalizers: next.length ? next : null, resourceVersion: cur.metadata?.resourceVersion } });
        return;
      } catch (err) {
        if (isNotFound(err)) return;
        if (isConflict(err) && attempt < MAX_CONFLICT_RETRIES) continue;
        throw err;
      }
    }
  }

  /** Upstream `attemptToOrphanWorker`: strip the owner's references from its dependents, then its finalizer. */
  private async attemptToOrphanWorker(uid: string): Promise<'forget' | 'requeue'> {
    const owner = this.graph.get(uid);
    if (!owner) return 'forget';
    const failures: string[] = [];
    await Promise.all([...owner.dependents].map(async (dep) => {
      try {
        await this.removeOwnerReference(dep, owner.identity.uid);
      } catch (err) {
        failures.push(`${identityString(dep.identity)}: ${String(err)}`);
      }
    }));
    if (failures.length) throw new Error(`failed to orphan dependents of ${identityString(owner.identity)}: ${failures.join('; ')}`);
    await this.removeFinalizer(owner, ORPHAN_FINALIZER);
    return 'forget';
  }

  private async removeOwnerReference(dep: GraphNode, ownerUid: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const cur = await this.getObject(dep.identity);
      if (!cur || cur.metadata?.uid !== dep.identity.uid) return;
      if (!ownerRefsOf(cur.metadata).some((r) => r.uid === ownerUid)) return;
      try {
        await this.patchOwnerRefs(dep, cur, (r) => (r.uid === ownerUid ? undefined : r));
        return;
      } catch (err) {
        if (isNotFound(err)) return;
        if (isConflict(err) && attempt < MAX_CONFLICT_RETRIES) continue;
        throw err;
      }
    }
  }

  /** Upstream `reportInvalidNamespaceOwnerRef`: a Warning event on the dependent. */
  private reportInvalidNamespaceOwnerRef(dep: GraphNode, ownerUid: string): void {
    const ref = dep.owners.find((r) => r.uid === ownerUid);
    if (!ref) return;
    const invalid: Identity = { apiVersion: ref.apiVersion, kind: ref.kind, name: ref.name, uid: ref.uid, namespace: dep.identity.namespace };
    this.recorder.event(
      { apiVersion: dep.identity.apiVersion, kind: dep.identity.kind, metadata: { name: dep.identity.name, namespace: dep.identity.namespace || undefined, uid: dep.identity.uid } },
      'Warning', 'OwnerRefInvalidNamespace',
      `ownerRef ${identityString(invalid)} does not exist in namespace "${dep.identity.namespace}"`,
    );
  }
}
