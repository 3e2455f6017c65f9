/**
 * The ReplicaSet controller (upstream `pkg/controller/replicaset/replica_set.go`): keeps `spec.replicas` active
 * pods for each ReplicaSet.
 *
 * - Pods are created from the template with `generateName: <rs>-` (so `<rs>-<5 chars>`), the template's labels,
 *   annotations and finalizers, and a controller ownerReference with blockOwnerDeletion.
 * - Creations go out in slow-start batches of 1, 2, 4, … and stop at the first failing batch (`slowStartBatch`),
 *   at most 500 per sync (`BurstReplicas`).
 * - Expectations (see `expectations.ts`) hold a ReplicaSet back until the informer has seen its last creates or
 *   deletes, so rapid re-syncs never create or delete twice.
 * - Scale-down deletes pods in `ActivePodsWithRanks` order (see `pod-utils.ts`), ranking pods by how many pods of
 *   sibling ReplicaSets (same controlling owner) share their node.
 * - Matching orphans are adopted, owned pods that stop matching are released (`controller-ref.ts`); pods that are
 *   terminating, Succeeded or Failed are not active and do not count.
 * - Status: replicas, fullyLabeledReplicas, readyReplicas, availableReplicas (ready for minReadySeconds),
 *   observedGeneration, and a `ReplicaFailure` condition while creates/deletes fail.
 * - Events as upstream: SuccessfulCreate `Created pod: web-abc12`, FailedCreate `Error creating: …`,
 *   SuccessfulDelete `Deleted pod: …`, FailedDelete `Error deleting: …`.
 */
import type { ReplicaSet, ReplicaSetCondition, ReplicaSetStatus } from 'kubernetes-types/apps/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { selectorFromLabelSelectorObject, selectorFromSet, matches, type LabelSelector } from '../../api/labels.js';
import { controllerFor, TerminalError, type ReconcileRequest, type ReconcileResult } from '../../client/controller.js';
import { isConflict, isNotFound } from '../../client/rest.js';
import type { ControllerContext, Runnable } from '../types.js';
import { claim, controllerOf, newControllerRef, recheckOwnerWith } from './controller-ref.js';
import { ControllerExpectations } from './expectations.js';
import { availableAt, compareForDeletion, isPodActive, isPodAvailable, isPodReady, podKey } from '../pod-utils.js';
import { rfc3339 } from '../../api/time.js';

/** Upstream `BurstReplicas`: the most pods one sync creates or deletes. */
export const BURST_REPLICAS = 500;
/** Upstream `SlowStartInitialBatchSize`. */
export const SLOW_START_INITIAL_BATCH_SIZE = 1;
/** The component name on events, as upstream. */
export const COMPONENT = 'replicaset-controller';

const RS_API_VERSION = 'apps/v1';
const RS_KIND = 'ReplicaSet';

/**
 * Runs `fn` `count` times in batches of 1, 2, 4, … (upstream `slowStartBatch`); each batch runs in parallel and
 * the next starts only if the whole batch succeeded. Returns the successes and the first error.
 */
export async function slowStartBatch(count: number, initial: number, fn: () => Promise<void>): Promise<{ successes: number; error?: unknown }> {
  let remaining = count;
  let successes = 0;
  for (let batch = Math.min(remaining, initial); batch > 0; batch = Math.min(2 * batch, remaining)) {
    const results = await Promise.allSettled(Array.from({ length: batch }, () => fn()));
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    successes += batch - failed.length;
    if (failed.length) return { successes, error: failed[0]!.reason };
    remaining -= batch;
  }
  return { successes };
}

/** Builds the controller; see the module comment. */
export function newReplicaSetController(ctx: ControllerContext): Runnable {
  const rsInf = ctx.informers.for<ReplicaSet>(RS_API_VERSION, RS_KIND);
  const podInf = ctx.informers.for<Pod>('v1', 'Pod');
  const rsClient = ctx.client.resource<ReplicaSet>(RS_API_VERSION, RS_KIND);
  const podClient = ctx.client.resource<Pod>('v1', 'Pod');
  const recorder = ctx.recorder(COMPONENT);
  const log = ctx.logger(COMPONENT);
  const expectations = new ControllerExpectations(ctx.clock);

  /** The key of the ReplicaSet controlling `pod`, if it exists with that uid (upstream `resolveControllerRef`). */
  const ownerKey = (pod: Pod): string | undefined => {
    const ref = controllerOf(pod);
    if (!ref || ref.kind !== RS_KIND || !ref.apiVersion?.startsWith('apps/')) return undefined;
    const rs = rsInf.lister.get(pod.metadata?.namespace, ref.name);
    if (!rs || rs.metadata?.uid !== ref.uid) return undefined;
    return `${pod.metadata?.namespace}/${ref.name}`;
  };
  const observeDeletion = (pod: Pod) => {
    const key = ownerKey(pod);
    if (key) expectations.deletionObserved(key, podKey(pod));
  };
  // Expectations are lowered in the informer's own (synchronous) notification, before any reconcile can run.
  podInf.addEventHandler({
    onAdd(pod) {
      if (pod.metadata?.deletionTimestamp) return observeDeletion(pod);
      const key = ownerKey(pod);
      if (key) expectations.creationObserved(key);
    },
    onUpdate(oldPod, pod) {
      if (pod.metadata?.deletionTimestamp) {
        observeDeletion(pod);
        if (controllerOf(oldPod)?.uid !== controllerOf(pod)?.uid) observeDeletion(oldPod);
      }
    },
    onDelete: observeDeletion,
  });
  rsInf.addEventHandler({ onDelete: (rs) => expectations.delete(`${rs.metadata?.namespace}/${rs.metadata?.name}`) });

  /** Pods map to their controlling ReplicaSet, orphans to every ReplicaSet whose selector matches them. */
  const podToReplicaSets = (pod: Pod): ReconcileRequest[] => {
    const ns = pod.metadata?.namespace;
    const ref = controllerOf(pod);
    if (ref) return ref.kind === RS_KIND ? [{ namespace: ns, name: ref.name }] : [];
    if (pod.metadata?.deletionTimestamp) return [];
    const out: ReconcileRequest[] = [];
    for (const rs of rsInf.lister.list(ns)) {
      let sel: LabelSelector;
      try {
        sel = selectorFromLabelSelectorObject(rs.spec?.selector);
      } catch {
        continue;
      }
      if (sel.requirements.length > 0 && matches(sel, pod.metadata?.labels)) out.push({ namespace: ns, name: rs.metadata!.name! });
    }
    return out;
  };

  const createPod = async (rs: ReplicaSet): Promise<void> => {
    const t = rs.spec?.template;
    const pod: Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        generateName: `${rs.metadata!.name}-`,
        namespace: rs.metadata!.namespace,
        labels: { ...(t?.metadata?.labels ?? {}) },
        ...(t?.metadata?.annotations ? { annotations: { ...t.metadata.annotations } } : {}),
        ...(t?.metadata?.finalizers ? { finalizers: [...t.metadata.finalizers] } : {}),
        ownerReferences: [newControllerRef({ apiVersion: RS_API_VERSION, kind: RS_KIND, metadata: rs.metadata })],
      },
      spec: structuredClone(t?.spec) as Pod['spec'],
    };
    const subject = { apiVersion: RS_API_VERSION, kind: RS_KIND, metadata: rs.metadata };
    if (Object.keys(pod.metadata!.labels!).length === 0) throw new Error('unable to create pods, no labels');
    try {
      const created = await podClient.create(rs.metadata!.namespace, pod);
      recorder.event(subject, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata?.name}`);
    } catch (err) {
      recorder.event(subject, 'Warning', 'FailedCreate', `Error creating: ${(err as Error).message}`);
      throw err;
    }
  };

  /** Pods of ReplicaSets controlled by the same owner as `rs` (upstream `getIndirectlyRelatedPods`). */
  const relatedPods = (rs: ReplicaSet): Pod[] => {
    const owner = controllerOf(rs);
    if (!owner) return [];
    const ns = rs.metadata?.namespace;
    const siblings = new Set(rsInf.lister.list(ns).filter((r) => controllerOf(r)?.uid === owner.uid).map((r) => r.metadata?.uid));
    return podInf.lister.list(ns).filter((p) => isPodActive(p) && siblings.has(controllerOf(p)?.uid));
  };

  const podsToDelete = (rs: ReplicaSet, pods: Pod[], n: number): Pod[] => {
    if (n >= pods.length) return pods.slice();
    const onNode = new Map<string, number>();
    for (const p of relatedPods(rs)) {
      const node = p.spec?.nodeName;
      if (node) onNode.set(node, (onNode.get(node) ?? 0) + 1);
    }
    const rank = (p: Pod) => (p.spec?.nodeName ? onNode.get(p.spec.nodeName) ?? 0 : 0);
    return pods
      .map((p) => ({ p, r: rank(p) }))
      .sort((a, b) => compareForDeletion(a.p, b.p, a.r, b.r))
      .slice(0, n)
      .map((x) => x.p);
  };

  /** Creates or deletes pods toward spec.replicas (upstream `manageReplicas`). Throws the first failure. */
  const manageReplicas = async (key: string, rs: ReplicaSet, pods: Pod[]): Promise<void> => {
    const diff = pods.length - (rs.spec?.replicas ?? 1);
    if (diff < 0) {
      const n = Math.min(-diff, BURST_REPLICAS);
      expectations.expectCreations(key, n);
      const { successes, error } = await slowStartBatch(n, SLOW_START_INITIAL_BATCH_SIZE, () => createPod(rs));
      // The informer will never see the pods that were not created: stop expecting them.
      for (let i = successes; i < n; i++) expectations.creationObserved(key);
      if (error) throw error;
    } else if (diff > 0) {
      const victims = podsToDelete(rs, pods, Math.min(diff, BURST_REPLICAS));
      expectations.expectDeletions(key, victims.map(podKey));
      const subject = { apiVersion: RS_API_VERSION, kind: RS_KIND, metadata: rs.metadata };
      const errs: unknown[] = [];
      await Promise.all(
        victims.map(async (p) => {
          try {
            await podClient.delete(p.metadata?.namespace, p.metadata!.name!);
            recorder.event(subject, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.metadata?.name}`);
          } catch (err) {
            expectations.deletionObserved(key, podKey(p));
            if (!isNotFound(err)) {
              recorder.event(subject, 'Warning', 'FailedDelete', `Error deleting: ${(err as Error).message}`);
              errs.push(err);
            }
          }
        }),
      );
      if (errs.length) throw errs[0];
    }
  };

  const calculateStatus = (rs: ReplicaSet, pods: Pod[], manageErr: unknown, now: number): ReplicaSetStatus => {
    const templateSel = selectorFromSet(rs.spec?.template?.metadata?.labels);
    const minReady = rs.spec?.minReadySeconds ?? 0;
    const status: ReplicaSetStatus = { replicas: pods.length };
    const fully = pods.filter((p) => matches(templateSel, p.metadata?.labels)).length;
    const ready = pods.filter(isPodReady).length;
    const available = pods.filter((p) => isPodAvailable(p, minReady, now)).length;
    if (fully) status.fullyLabeledReplicas = fully;
    if (ready) status.readyReplicas = ready;
    if (available) status.availableReplicas = available;
    status.observedGeneration = rs.metadata?.generation;
    let conditions: ReplicaSetCondition[] = [...(rs.status?.conditions ?? [])];
    const failure = conditions.find((c) => c.type === 'ReplicaFailure');
    if (manageErr && !failure) {
      const reason = pods.length < (rs.spec?.replicas ?? 1) ? 'FailedCreate' : 'FailedDelete';
      conditions.push({ type: 'ReplicaFailure', status: 'True', reason, message: (manageErr as Error).message ?? String(manageErr), lastTransitionTime: rfc3339(now) });
    } else if (!manageErr && failure) {
      conditions = conditions.filter((c) => c.type !== 'ReplicaFailure');
    }
    if (conditions.length) status.conditions = conditions;
    return status;
  };

  const sameStatus = (a: ReplicaSetStatus | undefined, b: ReplicaSetStatus, generation: number | undefined): boolean =>
    (a?.replicas ?? 0) === b.replicas &&
    (a?.fullyLabeledReplicas ?? 0) === (b.fullyLabeledReplicas ?? 0) &&
    (a?.readyReplicas ?? 0) === (b.readyReplicas ?? 0) &&
    (a?.availableReplicas ?? 0) === (b.availableReplicas ?? 0) &&
    a?.observedGeneration === generation &&
    JSON.stringify(a?.conditions ?? []) === JSON.stringify(b.conditions ?? []);

  /** Writes status through the subresource, re-reading once on conflict (upstream `updateReplicaSetStatus`). */
  const updateStatus = async (rs: ReplicaSet, status: ReplicaSetStatus): Promise<void> => {
    if (sameStatus(rs.status, status, rs.metadata?.generation)) return;
    try {
      await rsClient.updateStatus(rs.metadata?.namespace, { ...rs, status });
    } catch (err) {
      if (!isConflict(err)) throw err;
      const fresh = await rsClient.get(rs.metadata?.namespace, rs.metadata!.name!);
      await rsClient.updateStatus(rs.metadata?.namespace, { ...fresh, status: { ...status, observedGeneration: status.observedGeneration } });
    }
  };

  const reconcile = async (req: ReconcileRequest): Promise<ReconcileResult | void> => {
    const key = `${req.namespace}/${req.name}`;
    const rs = rsInf.lister.get(req.namespace, req.name);
    if (!rs) {
      expectations.delete(key);
      return;
    }
    const needsSync = expectations.satisfied(key);
    let selector: LabelSelector;
    try {
      selector = selectorFromLabelSelectorObject(rs.spec?.selector);
    } catch (err) {
      throw new TerminalError(`invalid selector of ReplicaSet ${key}: ${(err as Error).message}`);
    }
    const owner = { apiVersion: RS_API_VERSION, kind: RS_KIND, metadata: rs.metadata };
    const active = podInf.lister.list(req.namespace).filter(isPodActive);
    const pods = await claim({
      owner,
      selector,
      objects: active,
      client: podClient,
      recheckOwner: recheckOwnerWith(() => rsClient.get(req.namespace, req.name), owner),
    });
    let manageErr: unknown;
    if (needsSync && !rs.metadata?.deletionTimestamp) {
      try {
        await manageReplicas(key, rs, pods);
      } catch (err) {
        manageErr = err;
      }
    }
    const now = ctx.clock.now();
    const status = calculateStatus(rs, pods, manageErr, now);
    await updateStatus(rs, status);
    if (manageErr) throw manageErr;
    // Requeue when the next ready pod crosses minReadySeconds, so availableReplicas advances without a pod event.
    const minReady = rs.spec?.minReadySeconds ?? 0;
    if (minReady > 0) {
      const pending = pods.map((p) => availableAt(p, minReady)).filter((t): t is number => t !== undefined && t > now);
      if (pending.length) return { requeueAfter: Math.min(...pending) - now + 10 };
    }
    log.debug({ key, replicas: status.replicas }, 'synced replica set');
  };

  return controllerFor(rsInf, { name: COMPONENT, workers: ctx.config.workers, clock: ctx.clock, logger: log })
    .watches(podInf, podToReplicaSets)
    .complete({ reconcile });
}

