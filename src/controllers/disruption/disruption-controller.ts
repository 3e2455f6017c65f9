/**
 * The disruption controller (upstream `pkg/controller/disruption`): keeps each PodDisruptionBudget's status —
 * `expectedPods`, `currentHealthy`, `desiredHealthy`, `disruptionsAllowed`, `observedGeneration` and the
 * `DisruptionAllowed` condition (`SufficientPods` / `InsufficientPods`) — which the apiserver's eviction
 * subresource consults before letting a pod go. `disruptedPods` (written by the eviction subresource) is kept as
 * is; pods listed there within the last 2 minutes are not counted as healthy, as upstream.
 *
 * Scale: an integer `minAvailable` is compared with the number of selected pods; a percentage, and any
 * `maxUnavailable`, is relative to the scale of the pods' controllers (a Deployment through its ReplicaSet, a
 * ReplicaSet, a StatefulSet), as upstream `getExpectedScale`. Where upstream fails the sync for a pod without a
 * (known) controller (`NoControllerRef`), Skiff counts such a pod as one expected replica instead, so PDBs over
 * bare pods still work.
 */
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { PodDisruptionBudget, PodDisruptionBudgetStatus } from 'kubernetes-types/policy/v1.js';
import type { Deployment, ReplicaSet, StatefulSet } from 'kubernetes-types/apps/v1.js';
import type { Condition } from 'kubernetes-types/meta/v1.js';
import { controllerFor, type ReconcileRequest } from '../../client/controller.js';
import { selectorFromLabelSelectorObject, matches } from '../../api/labels.js';
import type { MetaObject } from '../../client/cache.js';
import type { ControllerDefinition, ControllerContext, Runnable } from '../types.js';
import { isPodReady, stableStringify } from '../endpoints/pod-util.js';
import { rfc3339 } from '../../api/time.js';

/** Upstream `DeletionTimeout`: how long a pod in `disruptedPods` is assumed to be on its way out. */
const DELETION_TIMEOUT_MS = 2 * 60_000;

/** Upstream `intstr.GetScaledValueFromIntOrPercent`: an int as is, "N%" of `total` rounded up or down. */
export function scaledValue(v: number | string, total: number, roundUp: boolean): number {
  if (typeof v === 'number') return v;
  const m = /^(\d+)%$/.exec(v);
  if (!m) {
    if (/^\d+$/.test(v)) return Number(v);
    throw new Error(`invalid value for IntOrString: invalid value "${v}"`);
  }
  const x = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(x) : Math.floor(x);
}

/**
 * Upstream `getExpectedPodCount`: how many pods should exist and how many must be healthy.
 * `scale` gives the expected scale of the selected pods' controllers.
 */
export function expectedCounts(pdb: PodDisruptionBudget, podCount: number, scale: () => number): { expectedCount: number; desiredHealthy: number } {
  const min = pdb.spec?.minAvailable;
  const max = pdb.spec?.maxUnavailable;
  if (max !== undefined && max !== null) {
    const expectedCount = scale();
    const maxUnavailable = scaledValue(max, expectedCount, true);
    return { expectedCount, desiredHealthy: Math.max(0, expectedCount - maxUnavailable) };
  }
  if (min !== undefined && min !== null) {
    if (typeof min === 'number' || /^\d+$/.test(min)) return { expectedCount: podCount, desiredHealthy: scaledValue(min, podCount, true) };
    const expectedCount = scale();
    return { expectedCount, desiredHealthy: scaledValue(min, expectedCount, true) };
  }
  return { expectedCount: 0, desiredHealthy: 0 };
}

/** See the module comment. */
export function setupDisruptionController(ctx: ControllerContext): Runnable {
  const pdbs = ctx.informers.for<PodDisruptionBudget>('policy/v1', 'PodDisruptionBudget');
  const pods = ctx.informers.for<Pod>('v1', 'Pod');
  const rss = ctx.informers.for<ReplicaSet>('apps/v1', 'ReplicaSet');
  const deployments = ctx.informers.for<Deployment>('apps/v1', 'Deployment');
  const statefulsets = ctx.informers.for<StatefulSet>('apps/v1', 'StatefulSet');
  const pdbClient = ctx.client.resource<PodDisruptionBudget>('policy/v1', 'PodDisruptionBudget');
  const recorder = ctx.recorder('controllermanager');

  const pdbsFor = (pod: Pod): ReconcileRequest[] =>
    pdbs.lister
      .list(pod.metadata?.namespace ?? '')
      .filter((p) => p.spec?.selector && matches(selectorFromLabelSelectorObject(p.spec.selector), pod.metadata?.labels))
      .map((p) => ({ namespace: p.metadata!.namespace, name: p.metadata!.name! }));
  const allIn = (o: MetaObject): ReconcileRequest[] =>
    pdbs.lister.list(o.metadata?.namespace ?? '').map((p) => ({ namespace: p.metadata!.namespace, name: p.metadata!.name! }));

  /** The expected replicas of a pod's controller, keyed by the controller's uid; undefined when unknown. */
  const controllerScale = (pod: Pod): { uid: string; replicas: number } | undefined => {
    const ref = pod.metadata?.ownerReferences?.find((r) => r.controller === true);
    if (!ref) return undefined;
    const ns = pod.metadata?.namespace;
    if (ref.kind === 'ReplicaSet' && ref.apiVersion?.startsWith('apps/')) {
      const rs = rss.lister.get(ns, ref.name);
      if (!rs || rs.metadata?.uid !== ref.uid) return undefined;
      const dref = rs.metadata?.ownerReferences?.find((r) => r.controller === true && r.kind === 'Deployment');
      if (dref) {
        const d = deployments.lister.get(ns, dref.name);
        if (d && d.metadata?.uid === dref.uid) return { uid: d.metadata!.uid!, replicas: d.spec?.replicas ?? 1 };
      }
      return { uid: rs.metadata!.uid!, replicas: rs.spec?.replicas ?? 1 };
    }
    if (ref.kind === 'StatefulSet' && ref.apiVersion?.startsWith('apps/')) {
      const s = statefulsets.lister.get(ns, ref.name);
      if (!s || s.metadata?.uid !== ref.uid) return undefined;
      return { uid: s.metadata!.uid!, replicas: s.spec?.replicas ?? 1 };
    }
    return undefined;
  };

  const controller = controllerFor(pdbs, { name: 'disruption', workers: ctx.config.workers, logger: ctx.logger('disruption-controller'), clock: ctx.clock })
    .watches(pods, pdbsFor)
    .watches(rss, allIn)
    .watches(deployments, allIn)
    .watches(statefulsets, allIn)
    .complete({
      async reconcile({ namespace, name }) {
        const pdb = pdbs.lister.get(namespace, name);
        if (!pdb) return;
        // policy/v1: an empty selector selects every pod of the namespace, a missing one none.
        const selected = pdb.spec?.selector ? pods.lister.list(namespace, selectorFromLabelSelectorObject(pdb.spec.selector)) : [];
        if (selected.length === 0) {
          recorder.event({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: pdb.metadata }, 'Normal', 'NoPods', 'No matching pods found');
        }
        const now = ctx.clock.now();
        const scale = () => {
          const seen = new Map<string, number>();
          let bare = 0;
          for (const p of selected) {
            const c = controllerScale(p);
            if (c) seen.set(c.uid, c.replicas);
            else bare++;
          }
          return [...seen.values()].reduce((a, b) => a + b, 0) + bare;
        };
        let counts: { expectedCount: number; desiredHealthy: number };
        try {
          counts = expectedCounts(pdb, selected.length, scale);
        } catch (err) {
          recorder.event({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: pdb.metadata }, 'Warning', 'CalculateExpectedPodCountFailed', `Failed to calculate the number of expected pods: ${(err as Error).message}`);
          throw err;
        }
        const disrupted = pdb.status?.disruptedPods ?? {};
        let currentHealthy = 0;
        let nextCheck: number | undefined;
        for (const p of selected) {
          if (p.metadata?.deletionTimestamp) continue;
          const at = disrupted[p.metadata!.name!];
          if (at) {
            const until = Date.parse(at) + DELETION_TIMEOUT_MS;
            if (until > now) {
              nextCheck = Math.min(nextCheck ?? Infinity, until - now);
              continue;
            }
          }
          if (isPodReady(p)) currentHealthy++;
        }
        let disruptionsAllowed = currentHealthy - counts.desiredHealthy;
        if (counts.expectedCount <= 0 || disruptionsAllowed <= 0) disruptionsAllowed = 0;

        const prevCond = pdb.status?.conditions?.find((c) => c.type === 'DisruptionAllowed');
        const condStatus = disruptionsAllowed > 0 ? 'True' : 'False';
        const cond: Condition = {
          type: 'DisruptionAllowed',
          status: condStatus,
          reason: disruptionsAllowed > 0 ? 'SufficientPods' : 'InsufficientPods',
          message: '',
          lastTransitionTime: prevCond && prevCond.status === condStatus ? prevCond.lastTransitionTime : rfc3339(now),
        };
        const status: PodDisruptionBudgetStatus = {
          ...(pdb.status ?? {}),
          observedGeneration: pdb.metadata?.generation,
          disruptionsAllowed,
          currentHealthy,
          desiredHealthy: counts.desiredHealthy,
          expectedPods: counts.expectedCount,
          conditions: [...(pdb.status?.conditions ?? []).filter((c) => c.type !== 'DisruptionAllowed'), cond],
        };
        if (stableStringify(status) !== stableStringify(pdb.status ?? {})) {
          await pdbClient.updateStatus(namespace, { ...pdb, status });
        }
        return nextCheck !== undefined ? { requeueAfter: nextCheck + 1 } : undefined;
      },
    });
  return {
    start: async () => {
      await controller.start();
    },
    stop: () => controller.stop(),
  };
}

/** The disruption controller's registration (kube-controller-manager's `disruption`). */
export const disruptionControllerDefinition: ControllerDefinition = { name: 'disruption', setup: setupDisruptionController };
