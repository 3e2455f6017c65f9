/**
 * The namespace lifecycle controller (kube-controller-manager `pkg/controller/namespace`, with
 * `deletion/namespaced_resources_deleter.go`): a namespace marked for deletion is emptied — every namespaced
 * resource is deleted with DELETECOLLECTION (or list + DELETE where the collection verb is not served), Background
 * propagation — and, once nothing is left, finalized by removing `kubernetes` from `spec.finalizers` through the
 * `finalize` subresource, after which the apiserver removes it.
 *
 * While content remains the namespace's status carries upstream's five deletion conditions
 * (NamespaceDeletionDiscoveryFailure, NamespaceDeletionGroupVersionParsingFailure, NamespaceDeletionContentFailure,
 * NamespaceContentRemaining, NamespaceFinalizersRemaining) with upstream's reasons and messages. Objects kept by
 * finalizers keep the namespace Terminating: the namespace is re-checked after upstream's estimate (15 s for
 * finalizers, /2 + 1) and, sooner, whenever an object in a terminating namespace changes (the shared informers of
 * the namespaced kinds feed the queue, so removing a finalizer finishes the namespace at once).
 *
 * Refusing to delete `default`, `kube-system` and `kube-public` is NamespaceLifecycle admission's job in the
 * apiserver, not this controller's.
 */
import type { Namespace, NamespaceCondition } from 'kubernetes-types/core/v1.js';
import { controllerFor, type ReconcileResult } from '../../client/controller.js';
import type { DynamicClient } from '../../client/dynamic.js';
import type { MetaObject } from '../../client/cache.js';
import type { Informer } from '../../client/informer.js';
import type { Logger } from '../../client/log.js';
import { isConflict, isNotFound } from '../../client/rest.js';
import { RESOURCES, type ResourceInfo } from '../../api/resources.js';
import type { ControllerContext, Runnable } from '../types.js';
import { rfc3339 } from '../../api/time.js';

/** The controller's name in kube-controller-manager (`--controllers=namespace`). */
export const NAME = 'namespace';
/** The finalizer this controller owns in `spec.finalizers` (v1.FinalizerKubernetes). */
export const FINALIZER_KUBERNETES = 'kubernetes';
/** Seconds upstream assumes objects with finalizers need (`finalizerEstimateSeconds`). */
export const FINALIZER_ESTIMATE_SECONDS = 15;

/** Condition types in upstream's order (`conditionTypes` in namespace_condition_updater.go). */
export const CONDITION_TYPES = [
  'NamespaceDeletionDiscoveryFailure',
  'NamespaceDeletionGroupVersionParsingFailure',
  'NamespaceDeletionContentFailure',
  'NamespaceContentRemaining',
  'NamespaceFinalizersRemaining',
] as const;
type ConditionType = (typeof CONDITION_TYPES)[number];

const OK: Record<ConditionType, { reason: string; message: string }> = {
  NamespaceDeletionDiscoveryFailure: { reason: 'ResourcesDiscovered', message: 'All resources successfully discovered' },
  NamespaceDeletionGroupVersionParsingFailure: { reason: 'ParsedGroupVersions', message: 'All legacy kube types successfully parsed' },
  NamespaceDeletionContentFailure: { reason: 'ContentDeleted', message: 'All content successfully deleted, may be waiting on finalization' },
  NamespaceContentRemaining: { reason: 'ContentRemoved', message: 'All content successfully removed' },
  NamespaceFinalizersRemaining: { reason: 'ContentHasNoFinalizers', message: 'All content-preserving finalizers finished' },
};

/**
 * The namespaced resources a namespace deletion empties: every served namespaced resource with the delete verb, one
 * version per storage (upstream discovers the preferred versions; HPA v1/v2 and the two event APIs share storage).
 */
export function namespacedDeletableResources(): ResourceInfo[] {
  const seen = new Set<string>();
  const out: ResourceInfo[] = [];
  for (const r of RESOURCES) {
    if (!r.namespaced || !r.verbs.includes('delete')) continue;
    const key = `${r.storageGroup}/${r.storageResource}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(r);
  }
  return out;
}

interface Obj extends MetaObject {
  metadata?: MetaObject['metadata'] & { finalizers?: string[]; deletionTimestamp?: string };
  spec?: { terminationGracePeriodSeconds?: number };
  status?: { phase?: string };
}

interface GvrResult {
  remaining: number;
  finalizers: Map<string, number>;
  estimateSeconds: number;
}

/** Content is still going away (upstream `ResourcesRemainingError`): re-check after the estimate. */
class ResourcesRemaining {
  constructor(readonly estimateSeconds: number) {}
}

function apiVersionOf(r: ResourceInfo): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

/** Empties and finalizes terminating namespaces; see the module comment. */
export class NamespaceDeleter {
  private readonly resources = namespacedDeletableResources();

  constructor(private readonly client: DynamicClient, private readonly log: Logger, private readonly now: () => number = Date.now) {}

  /** Upstream `namespacedResourcesDeleter.Delete`; returns the seconds to wait when content remains. */
  async delete(name: string): Promise<ResourcesRemaining | undefined> {
    const nsClient = this.client.resource<Namespace>('v1', 'Namespace');
    let ns: Namespace;
    try {
      ns = await nsClient.get(undefined, name);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    if (!ns.metadata?.deletionTimestamp) return undefined;
    ns = await this.ensureTerminating(ns);
    if (!(ns.spec?.finalizers ?? []).includes(FINALIZER_KUBERNETES)) return undefined;
    const { estimate, ns: latest } = await this.deleteAllContent(ns);
    if (estimate > 0) return new ResourcesRemaining(estimate);
    await this.finalize(latest);
    return undefined;
  }

  private async ensureTerminating(ns: Namespace): Promise<Namespace> {
    const nsClient = this.client.resource<Namespace>('v1', 'Namespace');
    for (let attempt = 0; ; attempt++) {
      if (ns.status?.phase === 'Terminating') return ns;
      try {
        return await nsClient.updateStatus(undefined, { ...ns, status: { ...(ns.status ?? {}), phase: 'Terminating' } });
      } catch (err) {
        if (!isConflict(err) || attempt >= 4) throw err;
        ns = await nsClient.get(undefined, ns.metadata!.name!);
      }
    }
  }

  /** Removes `kubernetes` from spec.finalizers through PUT .../finalize (upstream `finalizeNamespace`). */
  private async finalize(ns: Namespace): Promise<void> {
    const nsClient = this.client.resource<Namespace>('v1', 'Namespace');
    for (let attempt = 0; ; attempt++) {
      const body: Namespace = { ...ns, spec: { ...(ns.spec ?? {}), finalizers: (ns.spec?.finalizers ?? []).filter((f) => f !== FINALIZER_KUBERNETES) } };
      try {
        await nsClient.updateSubresource(undefined, ns.metadata!.name!, 'finalize', body);
        this.log.info({ namespace: ns.metadata?.name }, 'namespace emptied and finalized');
        return;
      } catch (err) {
        if (isNotFound(err)) return;
        if (!isConflict(err) || attempt >= 4) throw err;
        ns = await nsClient.get(undefined, ns.metadata!.name!);
      }
    }
  }

  /** Upstream `deleteAllContent`: every resource in parallel, then the conditions; errors aggregated. */
  private async deleteAllContent(ns: Namespace): Promise<{ estimate: number; ns: Namespace }> {
    const name = ns.metadata!.name!;
    const deletedAt = Date.parse(ns.metadata!.deletionTimestamp!);
    const errors: string[] = [];
    const remainingByResource = new Map<string, number>();
    const remainingByFinalizer = new Map<string, number>();
    let estimate = 0;
    await Promise.all(this.resources.map(async (r) => {
      try {
        const res = await this.deleteAllContentFor(r, name, deletedAt);
        estimate = Math.max(estimate, res.estimateSeconds);
        if (res.remaining > 0) {
          remainingByResource.set(`${r.resource}.${r.group}`, res.remaining);
          for (const [f, n] of res.finalizers) remainingByFinalizer.set(f, (remainingByFinalizer.get(f) ?? 0) + n);
        }
      } catch (err) {
        errors.push(err instanceof Error ? err.message : String(err));
      }
    }));
    const conditions = new Map<ConditionType, { reason: string; message: string }>();
    if (remainingByResource.size > 0) {
      const parts = [...remainingByResource].map(([gr, n]) => `${gr} has ${n} resource instances`).sort();
      conditions.set('NamespaceContentRemaining', { reason: 'SomeResourcesRemain', message: `Some resources are remaining: ${parts.join(', ')}` });
    }
    if (remainingByFinalizer.size > 0) {
      const parts = [...remainingByFinalizer].map(([f, n]) => `${f} in ${n} resource instances`).sort();
      conditions.set('NamespaceFinalizersRemaining', { reason: 'SomeFinalizersRemain', message: `Some content in the namespace has finalizers remaining: ${parts.join(', ')}` });
    }
    if (errors.length > 0) {
      errors.sort();
      conditions.set('NamespaceDeletionContentFailure', { reason: 'ContentDeletionFailed', message: `Failed to delete all resource types, ${errors.length} remaining: ${errors.join(', ')}` });
    }
    const latest = await this.updateConditions(ns, conditions);
    if (errors.length > 0) throw new Error(`namespace ${name}: ${errors.join('; ')}`);
    return { estimate, ns: latest };
  }

  /** Upstream `deleteAllContentForGroupVersionResource`. */
  private async deleteAllContentFor(r: ResourceInfo, ns: string, deletedAt: number): Promise<GvrResult> {
    const rc = this.client.resource<Obj>({ group: r.group, version: r.version, resource: r.resource, kind: r.kind, namespaced: true });
    const estimate = r.kind === 'Pod' && r.group === '' ? await this.estimatePods(ns, deletedAt) : 0;
    if (r.verbs.includes('deletecollection')) {
      await rc.deleteCollection(ns, { propagationPolicy: 'Background' });
    } else {
      const list = await rc.listAll(ns);
      for (const o of list.items) {
        try {
          await rc.delete(ns, o.metadata!.name!, { propagationPolicy: 'Background' });
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      }
    }
    const left = (await rc.listAll(ns)).items;
    if (left.length === 0) return { remaining: 0, finalizers: new Map(), estimateSeconds: 0 };
    const finalizers = new Map<string, number>();
    for (const o of left) for (const f of o.metadata?.finalizers ?? []) finalizers.set(f, (finalizers.get(f) ?? 0) + 1);
    if (estimate > 0) return { remaining: left.length, finalizers, estimateSeconds: estimate };
    if (finalizers.size > 0) return { remaining: left.length, finalizers, estimateSeconds: FINALIZER_ESTIMATE_SECONDS };
    throw new Error(`unexpected items still remain in namespace: ${ns} for gvr: ${r.group}/${r.version}, Resource=${r.resource}`);
  }

  /** Upstream `estimateGracefulTerminationForPods`, less the time already passed since the namespace deletion. */
  private async estimatePods(ns: string, deletedAt: number): Promise<number> {
    const pods = await this.client.resource<Obj>('v1', 'Pod').listAll(ns);
    let estimate = 0;
    for (const p of pods.items) {
      if (p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') continue;
      estimate = Math.max(estimate, p.spec?.terminationGracePeriodSeconds ?? 0);
    }
    return this.now() - deletedAt >= estimate * 1000 ? 0 : estimate;
  }

  /** Upstream `updateConditions`: every type present, ok variants where nothing failed; writes only on change. */
  private async updateConditions(ns: Namespace, failing: Map<ConditionType, { reason: string; message: string }>): Promise<Namespace> {
    const conditions: NamespaceCondition[] = [...(ns.status?.conditions ?? [])].map((c) => ({ ...c }));
    let changed = false;
    const nowIso = rfc3339(this.now());
    for (const type of CONDITION_TYPES) {
      const bad = failing.get(type);
      const want = { type, status: bad ? 'True' : 'False', reason: (bad ?? OK[type]).reason, message: (bad ?? OK[type]).message };
      const old = conditions.find((c) => c.type === type);
      if (!old) {
        conditions.push({ ...want, lastTransitionTime: nowIso });
        changed = true;
      } else if (old.status !== want.status || old.reason !== want.reason || old.message !== want.message) {
        if (old.status !== want.status) old.lastTransitionTime = nowIso;
        Object.assign(old, want);
        changed = true;
      }
    }
    if (!changed) return ns;
    try {
      return await this.client.resource<Namespace>('v1', 'Namespace').updateStatus(undefined, { ...ns, status: { ...(ns.status ?? {}), conditions } });
    } catch (err) {
      // As upstream: a failed condition update is reported, not fatal; the next pass writes it again.
      this.log.warn({ namespace: ns.metadata?.name, err: String(err) }, 'failed to update namespace deletion conditions');
      return ns;
    }
  }
}

/** Builds the namespace controller on the shared informers. */
export function newNamespaceController(ctx: ControllerContext): Runnable {
  const log = ctx.logger(NAME);
  const namespaces = ctx.informers.for<Namespace & MetaObject>('v1', 'Namespace');
  const deleter = new NamespaceDeleter(ctx.client, log, () => ctx.clock.now());
  const terminating = (name: string | undefined): boolean => Boolean(name && namespaces.lister.get(undefined, name)?.metadata?.deletionTimestamp);
  let builder = controllerFor(namespaces, { name: NAME, workers: ctx.config.workers, logger: log, clock: ctx.clock });
  for (const r of namespacedDeletableResources()) {
    const inf = ctx.informers.for<Obj>(apiVersionOf(r), r.kind) as Informer<Obj>;
    builder = builder.watches(inf, (o) => (terminating(o.metadata?.namespace) ? [{ name: o.metadata!.namespace! }] : []));
  }
  return builder.complete({
    async reconcile(req): Promise<ReconcileResult | void> {
      const ns = namespaces.lister.get(undefined, req.name);
      if (!ns?.metadata?.deletionTimestamp) return;
      const remaining = await deleter.delete(req.name);
      if (remaining) return { requeueAfter: (Math.floor(remaining.estimateSeconds / 2) + 1) * 1000 };
    },
  });
}
