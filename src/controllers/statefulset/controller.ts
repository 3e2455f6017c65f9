/**
 * The StatefulSet controller (upstream `pkg/controller/statefulset`, `stateful_set_control.go`). One reconcile:
 * claim pods and ControllerRevisions, settle the current and update revisions, then
 * 1. replace failed/succeeded pods and create missing ordinals (PVCs first); with `OrderedReady` it creates one
 *    ordinal at a time and waits for every lower ordinal to be Running and Ready (and available for
 *    minReadySeconds); with `Parallel` it acts on all at once;
 * 2. delete ordinals beyond `replicas` from the highest, one at a time under `OrderedReady`, waiting for each to go;
 * 3. with `RollingUpdate`, delete the highest pod (ordinal ≥ partition) not on the update revision, one at a time,
 *    waiting for the replaced pod to be healthy; `OnDelete` only uses the update revision for new pods;
 * then write status and trim unused revisions beyond `revisionHistoryLimit`.
 * PVC ownerReferences follow `persistentVolumeClaimRetentionPolicy` (StatefulSetAutoDeletePVC): `whenDeleted:
 * Delete` points claims at the set, `whenScaled: Delete` points claims of condemned ordinals at their pod, so the
 * garbage collector removes them. Not implemented: `maxUnavailable` (alpha MaxUnavailableStatefulSet upstream).
 */
import type { ControllerRevision, StatefulSet, StatefulSetStatus } from 'kubernetes-types/apps/v1.js';
import type { PersistentVolumeClaim, Pod } from 'kubernetes-types/core/v1.js';
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import { controllerFor, TerminalError, type ReconcileRequest, type ReconcileResult } from '../../client/controller.js';
import { isAlreadyExists, isConflict, isNotFound } from '../../client/rest.js';
import type { EventRecorder } from '../../client/events.js';
import type { ResourceClient } from '../../client/dynamic.js';
import { matches, selectorFromLabelSelectorObject, type LabelSelector } from '../../api/labels.js';
import type { ControllerContext, Runnable } from '../types.js';
import { claimObjects } from './claim.js';
import {
  canonicalJson, computeHash, controllerRevisionName, CONTROLLER_REVISION_HASH_LABEL, equalRevision, nextRevisionNumber,
  sortRevisions, templateFromRevision, templatePatch,
} from './history.js';
import {
  claimsFor, endOrdinal, identityMatches, isMemberOf, newPod, podOrdinal, podRevision, startOrdinal, storageMatches,
  withIdentityAndStorage,
} from './identity.js';
import { controllerOf, controllerRef, isPodAvailable, isPodReady, isTerminating, msUntilAvailable } from './pod-state.js';

const API_VERSION = 'apps/v1';
const KIND = 'StatefulSet';

function runningAndReady(p: Pod): boolean {
  return p.status?.phase === 'Running' && isPodReady(p);
}
function isCreated(p: Pod): boolean {
  return !!p.status?.phase;
}
function isFinished(p: Pod): boolean {
  return p.status?.phase === 'Failed' || p.status?.phase === 'Succeeded';
}

/** Builds the controller's Runnable from the shared informers (see the module comment for behaviour). */
export function newStatefulSetController(ctx: ControllerContext): Runnable {
  const sets = ctx.informers.for<StatefulSet>(API_VERSION, KIND);
  const pods = ctx.informers.for<Pod>('v1', 'Pod');
  const claims = ctx.informers.for<PersistentVolumeClaim>('v1', 'PersistentVolumeClaim');
  const revisions = ctx.informers.for<ControllerRevision>(API_VERSION, 'ControllerRevision');
  const setClient = ctx.client.resource<StatefulSet>(API_VERSION, KIND);
  const podClient = ctx.client.resource<Pod>('v1', 'Pod');
  const pvcClient = ctx.client.resource<PersistentVolumeClaim>('v1', 'PersistentVolumeClaim');
  const revClient = ctx.client.resource<ControllerRevision>(API_VERSION, 'ControllerRevision');
  const recorder = ctx.recorder('statefulset-controller');
  const clock = ctx.clock;

  /** Orphans wake every set in their namespace whose selector matches, so adoption happens (upstream `getPodStatefulSets`). */
  const orphanToSets = (o: Pod | ControllerRevision): ReconcileRequest[] => {
    if (controllerOf(o)) return [];
    const ns = o.metadata?.namespace;
    return sets.lister
      .list(ns)
      .filter((s) => {
        try {
          return matches(selectorFromLabelSelectorObject(s.spec?.selector), o.metadata?.labels);
        } catch {
          return false; // an invalid selector is reported when that set itself reconciles
        }
      })
      .map((s) => ({ namespace: ns, name: s.metadata!.name! }));
  };

  const reconciler = {
    async reconcile(key: ReconcileRequest): Promise<ReconcileResult | void> {
      const cached = sets.lister.get(key.namespace, key.name);
      if (!cached) return;
      const set: StatefulSet = { ...structuredClone(cached), apiVersion: API_VERSION, kind: KIND };
      let selector: LabelSelector;
      try {
        selector = selectorFromLabelSelectorObject(set.spec?.selector);
      } catch (e) {
        throw new TerminalError(`invalid selector on StatefulSet ${key.namespace}/${key.name}: ${String(e)}`);
      }
      const ns = set.metadata!.namespace!;
      const owned = await claimObjects({
        owner: set, ownerApiVersion: API_VERSION, ownerKind: KIND, selector, client: podClient,
        candidates: pods.lister.list(ns), filter: (p) => isMemberOf(set, p),
      });
      const revs = sortRevisions(
        await claimObjects({ owner: set, ownerApiVersion: API_VERSION, ownerKind: KIND, selector, client: revClient, candidates: revisions.lister.list(ns) }),
      );
      const sync = new SetSync(set, owned, revs, { pvcLister: claims.lister, podClient, pvcClient, revClient, recorder, now: clock.now() });
      await sync.settleRevisions();
      await sync.run();
      await writeStatus(set, sync.status());
      await sync.truncateHistory(set.spec?.revisionHistoryLimit ?? 10);
      const wait = sync.nextAvailabilityCheck();
      return wait !== undefined ? { requeueAfter: wait } : undefined;
    },
  };

  async function writeStatus(set: StatefulSet, status: StatefulSetStatus): Promise<void> {
    if (canonicalJson(set.status ?? {}) === canonicalJson(status)) return;
    let cur = set;
    for (let attempt = 0; ; attempt++) {
      try {
        await setClient.updateStatus(cur.metadata!.namespace, { ...cur, status });
        return;
      } catch (e) {
        if (!isConflict(e) || attempt >= 2) throw e;
        cur = await setClient.get(cur.metadata!.namespace, cur.metadata!.name!);
      }
    }
  }

  return controllerFor(sets, { name: 'statefulset', workers: ctx.config.workers, logger: ctx.logger('statefulset-controller'), clock })
    .owns(pods)
    .owns(revisions)
    .watches(pods, orphanToSets)
    .watches(revisions, orphanToSets)
    .watches(claims, () => [])
    .complete(reconciler);
}

interface SyncDeps {
  pvcLister: { get(ns: string, name: string): PersistentVolumeClaim | undefined };
  podClient: ResourceClient<Pod>;
  pvcClient: ResourceClient<PersistentVolumeClaim>;
  revClient: ResourceClient<ControllerRevision>;
  recorder: EventRecorder;
  now: number;
}

/** One reconcile's view of a set: its pods, revisions and the decisions taken on them. */
class SetSync {
  private current!: ControllerRevision;
  private update!: ControllerRevision;
  private collisionCount: number;
  private readonly ns: string;

  constructor(
    private readonly set: StatefulSet,
    private readonly pods: Pod[],
    private revisions: ControllerRevision[],
    private readonly d: SyncDeps,
  ) {
    this.ns = set.metadata!.namespace!;
    this.collisionCount = set.status?.collisionCount ?? 0;
  }

  private get minReadySeconds(): number {
    return this.set.spec?.minReadySeconds ?? 0;
  }

  private available(p: Pod): boolean {
    return runningAndReady(p) && isPodAvailable(p, this.minReadySeconds, this.d.now);
  }

  /** A revision object for the set's current template (upstream `newRevision`). */
  private buildRevision(revision: number): ControllerRevision {
    const data = templatePatch(this.set.spec?.template);
    const hash = computeHash(data, this.collisionCount);
    return {
      apiVersion: API_VERSION,
      kind: 'ControllerRevision',
      metadata: {
        name: controllerRevisionName(this.set.metadata!.name!, hash),
        namespace: this.ns,
        labels: { ...(this.set.spec?.template?.metadata?.labels ?? {}), [CONTROLLER_REVISION_HASH_LABEL]: hash },
        ...(this.set.metadata?.annotations ? { annotations: { ...this.set.metadata.annotations } } : {}),
        ownerReferences: [controllerRef(this.set, API_VERSION, KIND)],
      },
      data,
      revision,
    };
  }

  /**
   * Finds or creates the update revision and resolves the current one (upstream `getStatefulSetRevisions`): an
   * equal revision that is not the newest gets the next revision number; a name clash with different data bumps
   * `collisionCount` and tries the next hash.
   */
  async settleRevisions(): Promise<void> {
    const next = nextRevisionNumber(this.revisions);
    let update = this.buildRevision(next);
    const equal = this.revisions.filter((r) => equalRevision(r, update));
    const latest = this.revisions[this.revisions.length - 1];
    if (equal.length && equal[equal.length - 1] === latest) {
      update = latest!;
    } else if (equal.length) {
      const e = equal[equal.length - 1]!;
      update = (await this.d.revClient.patch(this.ns, e.metadata!.name!, 'merge', { revision: next })) ;
      this.revisions = sortRevisions(this.revisions.map((r) => (r === e ? update : r)));
    } else {
      update = await this.createRevision(next);
      this.revisions = sortRevisions([...this.revisions, update]);
    }
    this.update = update;
    this.current = this.revisions.find((r) => r.metadata?.name === this.set.status?.currentRevision) ?? update;
  }

  private async createRevision(revision: number): Promise<ControllerRevision> {
    for (;;) {
      const rev = this.buildRevision(revision);
      try {
        return await this.d.revClient.create(this.ns, rev);
      } catch (e) {
        if (!isAlreadyExists(e)) throw e;
        const existing = (await this.d.revClient.get(this.ns, rev.metadata!.name!)) ;
        if (equalRevision(existing, rev) && controllerOf(existing)?.uid === this.set.metadata?.uid) return existing;
        this.collisionCount++;
      }
    }
  }

  /** The set with a revision's template applied (upstream `ApplyRevision`). */
  private setAt(rev: ControllerRevision): StatefulSet {
    return { ...this.set, spec: { ...this.set.spec!, template: templateFromRevision(rev) } };
  }

  /** A pod for `ordinal` on the revision upstream's `newVersionedStatefulSetPod` picks (below the partition: current). */
  private newVersionedPod(ordinal: number): Pod {
    const strategy = this.set.spec?.updateStrategy;
    const rolling = (strategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
    const partition = strategy?.rollingUpdate?.partition;
    const below = partition !== undefined && partition !== null
      ? ordinal < startOrdinal(this.set) + partition
      : ordinal < startOrdinal(this.set) + (this.set.status?.currentReplicas ?? 0);
    if (rolling && below) return newPod(this.setAt(this.current), ordinal, this.current.metadata!.name!);
    return newPod(this.setAt(this.update), ordinal, this.update.metadata!.name!);
  }

  private event(type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.d.recorder.event(this.set, type, reason, message);
  }

  /** Upstream `recordPodEvent`. */
  private podEvent(verb: string, pod: Pod, err?: unknown): void {
    const v = verb[0]!.toUpperCase() + verb.slice(1);
    const name = pod.metadata!.name;
    if (err === undefined) this.event('Normal', `Successful${v}`, `${verb} Pod ${name} in StatefulSet ${this.set.metadata!.name} successful`);
    else this.event('Warning', `Failed${v}`, `${verb} Pod ${name} in StatefulSet ${this.set.metadata!.name} failed error: ${errText(err)}`);
  }

  /**
   * The ownerReferences a claim should have under the retention policy (upstream
   * `updateClaimOwnerRefForSetAndPod`): the set for whenDeleted=Delete while the ordinal is in range, the pod for
   * whenScaled=Delete once it is condemned; other refs are kept.
   */
  private claimRefs(claim: PersistentVolumeClaim, pod: Pod | undefined, ordinal: number): OwnerReference[] {
    const policy = this.set.spec?.persistentVolumeClaimRetentionPolicy;
    const inRange = ordinal >= startOrdinal(this.set) && ordinal < endOrdinal(this.set);
    const setUid = this.set.metadata!.uid;
    const podUid = pod?.metadata?.uid;
    const wantSet = policy?.whenDeleted === 'Delete' && (inRange || policy.whenScaled !== 'Delete');
    const wantPod = policy?.whenScaled === 'Delete' && !inRange && !!podUid;
    const refs = ((claim.metadata?.ownerReferences ?? []) as OwnerReference[]).filter((r) => r.uid !== setUid && (!podUid || r.uid !== podUid));
    if (wantSet) refs.push({ apiVersion: API_VERSION, kind: KIND, name: this.set.metadata!.name!, uid: setUid! });
    if (wantPod) refs.push({ apiVersion: 'v1', kind: 'Pod', name: pod!.metadata!.name!, uid: podUid! });
    return refs;
  }

  /** Patches existing claims of `pod` whose ownerReferences disagree with the retention policy. */
  private async fixClaimRefs(pod: Pod): Promise<void> {
    const ord = podOrdinal(pod);
    for (const c of claimsFor(this.set, ord).values()) {
      const existing = this.d.pvcLister.get(this.ns, c.metadata!.name!);
      if (!existing) continue;
      const want = this.claimRefs(existing, pod, ord);
      if (canonicalJson(want) === canonicalJson(existing.metadata?.ownerReferences ?? [])) continue;
      try {
        await this.d.pvcClient.patch(this.ns, c.metadata!.name!, 'merge', { metadata: { ownerReferences: want } });
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
  }

  /** Creates the claims of `pod` that do not exist yet (upstream `createPersistentVolumeClaims`). */
  private async createClaims(pod: Pod): Promise<void> {
    const ord = podOrdinal(pod);
    for (const c of claimsFor(this.set, ord).values()) {
      const existing = this.d.pvcLister.get(this.ns, c.metadata!.name!);
      if (existing) {
        if (isTerminating(existing)) throw new Error(`pvc ${c.metadata!.name} is being deleted`);
        continue;
      }
      c.metadata!.ownerReferences = this.claimRefs(c, pod, ord);
      if (!c.metadata!.ownerReferences.length) delete c.metadata!.ownerReferences;
      try {
        await this.d.pvcClient.create(this.ns, c);
        this.event('Normal', 'SuccessfulCreate', `create Claim ${c.metadata!.name} Pod ${pod.metadata!.name} in StatefulSet ${this.set.metadata!.name} success`);
      } catch (e) {
        if (isAlreadyExists(e)) continue;
        this.event('Warning', 'FailedCreate', `create Claim ${c.metadata!.name} for Pod ${pod.metadata!.name} in StatefulSet ${this.set.metadata!.name} failed error: ${errText(e)}`);
        throw e;
      }
    }
  }

  /** Creates claims then the pod. Returns false when the pod already exists (a stale cache): wait for the informer. */
  private async createPod(pod: Pod): Promise<boolean> {
    await this.createClaims(pod);
    try {
      await this.d.podClient.create(this.ns, pod);
    } catch (e) {
      if (isAlreadyExists(e)) return false;
      this.podEvent('create', pod, e);
      throw e;
    }
    this.podEvent('create', pod);
    return true;
  }

  private async deletePod(pod: Pod): Promise<void> {
    try {
      await this.d.podClient.delete(this.ns, pod.metadata!.name!, { preconditions: { uid: pod.metadata!.uid } });
    } catch (e) {
      if (isNotFound(e) || isConflict(e)) return; // already gone, or replaced by a newer pod of that name
      this.podEvent('delete', pod, e);
      throw e;
    }
    this.podEvent('delete', pod);
  }

  /** Restores identity/storage labels and volumes and creates missing claims (upstream `UpdateStatefulPod`). */
  private async updatePod(pod: Pod): Promise<void> {
    const fixed = withIdentityAndStorage(this.set, pod);
    await this.createClaims(fixed);
    try {
      await this.d.podClient.update(this.ns, fixed);
    } catch (e) {
      if (isNotFound(e)) return;
      this.podEvent('update', pod, e);
      throw e;
    }
    this.podEvent('update', pod);
  }

  /** Steps 1–3 of the module comment. */
  async run(): Promise<void> {
    if (this.set.metadata?.deletionTimestamp) return;
    const start = startOrdinal(this.set);
    const end = endOrdinal(this.set);
    const monotonic = (this.set.spec?.podManagementPolicy ?? 'OrderedReady') !== 'Parallel';
    const replicas: Array<Pod | undefined> = Array.from({ length: Math.max(0, end - start) });
    const condemned: Pod[] = [];
    for (const p of this.pods) {
      const ord = podOrdinal(p);
      if (ord >= start && ord < end) replicas[ord - start] = p;
      else if (ord >= 0) condemned.push(p);
    }
    condemned.sort((a, b) => podOrdinal(b) - podOrdinal(a));
    const unhealthy = (p: Pod) => !runningAndReady(p) || isTerminating(p);
    const firstUnhealthy = (replicas.find((p) => p && unhealthy(p)) ?? condemned.find(unhealthy))?.metadata?.name;

    // 1. replicas in ascending ordinal order
    for (let i = 0; i < replicas.length; i++) {
      const ord = start + i;
      let pod = replicas[i];
      if (pod && isFinished(pod)) {
        if (!isTerminating(pod)) await this.deletePod(pod);
        if (monotonic) return;
        continue; // recreated once the informer has seen it go
      }
      if (!pod) {
        pod = this.newVersionedPod(ord);
        const created = await this.createPod(pod);
        if (monotonic || !created) return;
        replicas[i] = pod;
        continue;
      }
      if (isTerminating(pod)) {
        if (monotonic) return;
        continue;
      }
      if (monotonic && !this.available(pod)) return;
      await this.fixClaimRefs(pod);
      if (!identityMatches(this.set, pod) || !storageMatches(this.set, pod)) await this.updatePod(pod);
    }

    // claims of condemned pods get the pod as owner before the pod goes (whenScaled: Delete)
    for (const p of condemned) await this.fixClaimRefs(p);

    // 2. condemned from the highest ordinal
    for (const pod of condemned) {
      if (isTerminating(pod)) {
        if (monotonic) return;
        continue;
      }
      if (monotonic && !this.available(pod) && pod.metadata?.name !== firstUnhealthy) return;
      await this.deletePod(pod);
      if (monotonic) return;
    }

    // 3. rolling update from the highest ordinal down to the partition
    const strategy = this.set.spec?.updateStrategy;
    if ((strategy?.type ?? 'RollingUpdate') !== 'RollingUpdate') return;
    const updateMin = Math.max(0, strategy?.rollingUpdate?.partition ?? 0);
    const target = this.update.metadata!.name!;
    for (let i = replicas.length - 1; i >= updateMin; i--) {
      const pod = replicas[i];
      if (!pod) return;
      if (podRevision(pod) !== target && !isTerminating(pod)) {
        await this.deletePod(pod);
        return;
      }
      if (!runningAndReady(pod) || isTerminating(pod)) return;
    }
  }

  /** Status from the observed pods (upstream `computeReplicaStatus` + `completeRollingUpdate`). */
  status(): StatefulSetStatus {
    const s: StatefulSetStatus = {
      observedGeneration: this.set.metadata?.generation,
      replicas: 0, readyReplicas: 0, availableReplicas: 0, currentReplicas: 0, updatedReplicas: 0,
      currentRevision: this.current.metadata!.name,
      updateRevision: this.update.metadata!.name,
      collisionCount: this.collisionCount,
    };
    for (const p of this.pods) {
      if (isCreated(p)) s.replicas++;
      if (runningAndReady(p)) {
        s.readyReplicas!++;
        if (isPodAvailable(p, this.minReadySeconds, this.d.now)) s.availableReplicas!++;
      }
      if (isCreated(p) && !isTerminating(p)) {
        if (podRevision(p) === s.currentRevision) s.currentReplicas!++;
        if (podRevision(p) === s.updateRevision) s.updatedReplicas!++;
      }
    }
    const rolling = (this.set.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
    if (rolling && s.updatedReplicas === s.replicas && s.readyReplicas === s.replicas) {
      s.currentReplicas = s.updatedReplicas;
      s.currentRevision = s.updateRevision;
    }
    if (this.set.status?.conditions) s.conditions = this.set.status.conditions;
    return s;
  }

  /** Deletes the oldest revisions no pod, current or update revision uses, beyond `limit` (upstream `truncateHistory`). */
  async truncateHistory(limit: number): Promise<void> {
    const live = new Set([this.current.metadata!.name, this.update.metadata!.name, ...this.pods.map(podRevision)]);
    const history = this.revisions.filter((r) => !live.has(r.metadata!.name));
    for (const r of history.slice(0, Math.max(0, history.length - limit))) {
      try {
        await this.d.revClient.delete(this.ns, r.metadata!.name!);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
  }

  /** When a ready pod turns available (minReadySeconds), so status can be refreshed then. */
  nextAvailabilityCheck(): number | undefined {
    let min: number | undefined;
    for (const p of this.pods) {
      if (p.status?.phase !== 'Running') continue;
      const ms = msUntilAvailable(p, this.minReadySeconds, this.d.now);
      if (ms !== undefined && (min === undefined || ms < min)) min = ms;
    }
    return min === undefined ? undefined : min + 50;
  }
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
