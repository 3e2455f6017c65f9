/**
 * The ResourceQuota controller (upstream `pkg/controller/resourcequota`): keeps every quota's `status.hard` equal
 * to `spec.hard` and `status.used` equal to what the namespace's objects use now (see `usage.ts` for what each
 * resource name counts). Any change to a tracked object re-evaluates the quotas of its namespace (upstream's
 * replenishment), and every quota is recomputed every 5 minutes (upstream `--resource-quota-sync-period`).
 *
 * Enforcement — refusing a create that would exceed `hard` — is the apiserver's ResourceQuota admission plugin,
 * not this controller's; it can reuse `calculateUsage`/`podUsage`.
 */
import type { ResourceQuota } from 'kubernetes-types/core/v1.js';
import { controllerFor, type ReconcileRequest } from '../../client/controller.js';
import type { Informer } from '../../client/informer.js';
import type { MetaObject } from '../../client/cache.js';
import { RESOURCES } from '../../api/resources.js';
import type { ControllerDefinition, ControllerContext, Runnable } from '../types.js';
import { stableStringify } from '../endpoints/pod-util.js';
import { calculateUsage } from './usage.js';

/** Upstream `--resource-quota-sync-period` default. */
const FULL_RESYNC_MS = 5 * 60_000;
/** Core kinds every quota can count, watched from the start (upstream's replenishment controllers). */
const CORE = [
  ['pods', 'Pod'], ['services', 'Service'], ['configmaps', 'ConfigMap'], ['secrets', 'Secret'],
  ['persistentvolumeclaims', 'PersistentVolumeClaim'], ['resourcequotas', 'ResourceQuota'],
] as const;

/** See the module comment. */
export function setupResourceQuotaController(ctx: ControllerContext): Runnable {
  const quotas = ctx.informers.for<ResourceQuota>('v1', 'ResourceQuota');
  const quotaClient = ctx.client.resource<ResourceQuota>('v1', 'ResourceQuota');
  const informers = new Map<string, Informer<MetaObject> | null>();
  const quotasIn = (o: MetaObject): ReconcileRequest[] =>
    quotas.lister.list(o.metadata?.namespace ?? '').map((q) => ({ namespace: q.metadata!.namespace, name: q.metadata!.name! }));

  let builder = controllerFor(quotas, { name: 'resourcequota', workers: ctx.config.workers, logger: ctx.logger('resourcequota-controller'), clock: ctx.clock });
  for (const [resource, kind] of CORE) {
    const inf = kind === 'ResourceQuota' ? (quotas as unknown as Informer<MetaObject>) : ctx.informers.for<MetaObject>('v1', kind);
    informers.set(`/${resource}`, inf);
    builder = builder.watches(inf, quotasIn);
  }
  const unsubscribe: Array<() => void> = [];

  /** The informer for `count/<resource>.<group>`, created on first use (upstream's discovery-driven monitors). */
  const informerFor = (resource: string, group: string): Informer<MetaObject> | null => {
    const key = `${group}/${resource}`;
    let inf = informers.get(key);
    if (inf !== undefined) return inf;
    const info = RESOURCES.find((r) => r.group === group && r.resource === resource && r.namespaced);
    inf = info ? ctx.informers.for<MetaObject>(group ? `${group}/${info.version}` : info.version, info.kind) : null;
    informers.set(key, inf);
    if (inf) {
      const enqueue = (o: MetaObject) => quotasIn(o).forEach((r) => controller.enqueue(r));
      unsubscribe.push(inf.addEventHandler({ onAdd: enqueue, onUpdate: (_, o) => enqueue(o), onDelete: enqueue }));
      inf.start();
    }
    return inf;
  };

  const controller = builder.complete({
    async reconcile({ namespace, name }) {
      const q = quotas.lister.get(namespace, name);
      if (!q) return;
      const used = calculateUsage(
        q,
        (resource, group, ns) => {
          const inf = informerFor(resource, group);
          if (!inf) return null;
          if (!inf.hasSynced()) return undefined;
          return inf.lister.list(ns);
        },
        ctx.clock.now(),
      );
      if (!used) return { requeueAfter: 200 };
      const status = { hard: { ...(q.spec?.hard ?? {}) }, used };
      if (stableStringify(q.status?.hard ?? {}) !== stableStringify(status.hard) || stableStringify(q.status?.used ?? {}) !== stableStringify(used)) {
        await quotaClient.updateStatus(namespace, { ...q, status });
      }
      return { requeueAfter: FULL_RESYNC_MS };
    },
  });

  return {
    start: async () => {
      await controller.start();
    },
    async stop() {
      for (const u of unsubscribe.splice(0)) u();
      await controller.stop();
    },
  };
}

/** The ResourceQuota controller's registration (kube-controller-manager's `resourcequota`). */
export const resourceQuotaControllerDefinition: ControllerDefinition = { name: 'resourcequota', setup: setupResourceQuotaController };
