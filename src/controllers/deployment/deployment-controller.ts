/**
 * The Deployment controller (upstream `pkg/controller/deployment`): rolls a Deployment's pod template out through
 * ReplicaSets named `<deployment>-<pod-template-hash>`.
 *
 * One reconcile follows upstream `syncDeployment`: claim ReplicaSets (adopt/release by selector); a deployment
 * being deleted only gets its status synced; the Progressing condition notes pause/resume; a paused deployment or
 * a pure scaling event (a ReplicaSet's desired-replicas annotation differs from spec.replicas) is handled by
 * `sync` — proportional scaling, no new ReplicaSet; otherwise the strategy runs: RollingUpdate (`rolling.go`: scale
 * the new ReplicaSet up within maxSurge, old ones down within maxUnavailable, unhealthy old replicas first) or
 * Recreate (`recreate.go`: old ReplicaSets to 0, wait until their pods are gone, then the new one to full size).
 * Status is computed as upstream's `calculateStatus`/`syncRolloutStatus` (Available and Progressing conditions,
 * progressDeadlineSeconds with a timed requeue), then old zero-size ReplicaSets beyond revisionHistoryLimit are
 * deleted. Events: ScalingReplicaSet (`Scaled up replica set web-5d8f7 from 0 to 3`), DeploymentRollback for the
 * deprecated `deprecated.deployment.rollback.to` annotation, SelectingAll.
 *
 * Difference from upstream: kube-apiserver lets the deployment controller set the deployment's
 * `deployment.kubernetes.io/revision` annotation through the status subresource; Skiff's status subresource keeps
 * metadata, so the controller writes that annotation with a merge patch just before the status update.
 */
import type { Deployment, DeploymentStatus, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { Pod, PodTemplateSpec } from 'kubernetes-types/core/v1.js';
import { matches, selectorFromLabelSelectorObject, type LabelSelector } from '../../api/labels.js';
import { controllerFor, TerminalError, type ReconcileRequest, type ReconcileResult } from '../../client/controller.js';
import type { ResourceClient } from '../../client/dynamic.js';
import type { EventRecorder } from '../../client/events.js';
import type { Informer } from '../../client/informer.js';
import { isAlreadyExists, isNotFound } from '../../client/rest.js';
import type { Clock } from '../../client/clock.js';
import type { ControllerContext, Runnable } from '../types.js';
import { claim, controllerOf, newControllerRef, recheckOwnerWith } from '../replicaset/controller-ref.js';
import {
  activeReplicaSets, actualReplicas, availableReplicas, byCreation, byRevision, bySizeNewer, bySizeOlder, computeHash,
  deploymentComplete, deploymentProgressing, deploymentTimedOut, desiredReplicasAnnotation, equalIgnoreHash,
  findNewReplicaSet, getCondition, hasProgressDeadline, isRollingUpdate, isSaturated, maxRevision, maxSurge,
  maxUnavailable, newCondition, newRSNewReplicas, POD_TEMPLATE_HASH, readyReplicas, REASONS, removeCondition,
  replicaSetProportion, replicasAnnotationsNeedUpdate, replicasOf, REVISION_ANNOTATION, revisionOf,
  ROLLBACK_TO_ANNOTATION, setCondition, setNewReplicaSetAnnotations, setReplicasAnnotations, specReplicas,
} from './util.js';

/** The component name on events, as upstream. */
export const COMPONENT = 'deployment-controller';
const API_VERSION = 'apps/v1';

interface Deps {
  deployments: ResourceClient<Deployment>;
  replicaSets: ResourceClient<ReplicaSet>;
  rsLister: Informer<ReplicaSet>['lister'];
  podLister: Informer<Pod>['lister'];
  recorder: EventRecorder;
  clock: Clock;
}

const subjectOf = (d: Deployment) => ({ apiVersion: API_VERSION, kind: 'Deployment', metadata: d.metadata });

/** One sync of one deployment: a working copy of it plus the ReplicaSets it owns. */
class DeploymentSync {
  private persistedRevision: string | undefined;
  requeueAfter?: number;

  constructor(
    private readonly c: Deps,
    public d: Deployment,
    private readonly rsList: ReplicaSet[],
  ) {
    this.persistedRevision = d.metadata?.annotations?.[REVISION_ANNOTATION];
  }

  private get ns(): string {
    return this.d.metadata!.namespace!;
  }

  private now(): number {
    return this.c.clock.now();
  }

  /** Writes status (and the revision annotation first, see the module comment). */
  private async writeStatus(): Promise<void> {
    const rev = this.d.metadata?.annotations?.[REVISION_ANNOTATION];
    if (rev !== undefined && rev !== this.persistedRevision) {
      const patched = await this.c.deployments.patch(this.ns, this.d.metadata!.name!, 'merge', { metadata: { annotations: { [REVISION_ANNOTATION]: rev } } });
      this.persistedRevision = rev;
      this.setResourceVersion(patched.metadata?.resourceVersion);
    }
    const out = await this.c.deployments.updateStatus(this.ns, this.d);
    this.setResourceVersion(out.metadata?.resourceVersion);
  }

  private setResourceVersion(rv: string | undefined): void {
    (this.d.metadata as { resourceVersion?: string }).resourceVersion = rv;
  }

  /** Upstream `SetDeploymentRevision`. */
  private setDeploymentRevision(rev: string): boolean {
    const ann = (this.d.metadata!.annotations ??= {});
    if (ann[REVISION_ANNOTATION] === rev) return false;
    ann[REVISION_ANNOTATION] = rev;
    return true;
  }

  /** Upstream `getAllReplicaSetsAndSyncRevision`: the new ReplicaSet (created if asked) and all old ones. */
  async getAllAndSyncRevision(create: boolean): Promise<{ newRS?: ReplicaSet; oldRSs: ReplicaSet[] }> {
    const current = findNewReplicaSet(this.d, this.rsList);
    const oldRSs = this.rsList.filter((rs) => rs.metadata?.uid !== current?.metadata?.uid);
    const newRS = await this.getNewReplicaSet(current, oldRSs, create);
    return { newRS, oldRSs };
  }

  private async getNewReplicaSet(existing: ReplicaSet | undefined, oldRSs: ReplicaSet[], create: boolean): Promise<ReplicaSet | undefined> {
    const d = this.d;
    const newRevision = maxRevision(oldRSs) + 1;
    if (existing) {
      const rsCopy = structuredClone(existing);
      const annotationsUpdated = setNewReplicaSetAnnotations(d, rsCopy, newRevision, true);
      const minReady = d.spec?.minReadySeconds ?? 0;
      if (annotationsUpdated || (rsCopy.spec?.minReadySeconds ?? 0) !== minReady) {
        rsCopy.spec!.minReadySeconds = minReady;
        return this.replaceRS(await this.c.replicaSets.update(this.ns, rsCopy));
      }
      let needsUpdate = this.setDeploymentRevision(rsCopy.metadata?.annotations?.[REVISION_ANNOTATION] ?? '');
      if (hasProgressDeadline(d) && !getCondition(d.status, 'Progressing')) {
        setCondition((d.status ??= {}), newCondition('Progressing', 'True', REASONS.FoundNewRS, `Found new replica set "${rsCopy.metadata?.name}"`, this.now()));
        needsUpdate = true;
      }
      if (needsUpdate) await this.writeStatus();
      return rsCopy;
    }
    if (!create) return undefined;

    const template = structuredClone(d.spec!.template!) as PodTemplateSpec;
    const hash = computeHash(d.spec?.template, d.status?.collisionCount);
    template.metadata = { ...(template.metadata ?? {}), labels: { ...(template.metadata?.labels ?? {}), [POD_TEMPLATE_HASH]: hash } };
    const selector = structuredClone(d.spec!.selector);
    selector.matchLabels = { ...(selector.matchLabels ?? {}), [POD_TEMPLATE_HASH]: hash };
    const newRS: ReplicaSet = {
      apiVersion: API_VERSION,
      kind: 'ReplicaSet',
      metadata: {
        name: `${d.metadata!.name}-${hash}`,
        namespace: this.ns,
        ownerReferences: [newControllerRef({ apiVersion: API_VERSION, kind: 'Deployment', metadata: d.metadata })],
        labels: { ...template.metadata.labels },
      },
      spec: { replicas: 0, minReadySeconds: d.spec?.minReadySeconds ?? 0, selector, template },
    };
    const newReplicas = newRSNewReplicas(d, [...oldRSs, newRS], newRS);
    newRS.spec!.replicas = newReplicas;
    setNewReplicaSetAnnotations(d, newRS, newRevision, false);

    let createdRS: ReplicaSet;
    let alreadyExists = false;
    try {
      createdRS = await this.c.replicaSets.create(this.ns, newRS);
    } catch (err) {
      if (isAlreadyExists(err)) {
        const rs = this.c.rsLister.get(this.ns, newRS.metadata!.name!) ?? (await this.c.replicaSets.get(this.ns, newRS.metadata!.name!));
        if (controllerOf(rs)?.uid === d.metadata?.uid && equalIgnoreHash(d.spec?.template, rs.spec?.template)) {
          createdRS = rs;
          alreadyExists = true;
        } else {
          // A hash collision: bump collisionCount so the next sync computes another name (upstream does the same).
          d.status = { ...(d.status ?? {}), collisionCount: (d.status?.collisionCount ?? 0) + 1 };
          await this.writeStatus();
          throw err;
        }
      } else {
        const msg = `Failed to create new replica set "${newRS.metadata!.name}": ${(err as Error).message}`;
        if (hasProgressDeadline(d)) {
          setCondition((d.status ??= {}), newCondition('Progressing', 'False', REASONS.FailedRSCreate, msg, this.now()));
          await this.writeStatus().catch(() => undefined);
        }
        this.c.recorder.event(subjectOf(d), 'Warning', REASONS.FailedRSCreate, msg);
        throw err;
      }
    }
    this.rsList.push(createdRS);
    if (!alreadyExists && newReplicas > 0) {
      this.c.recorder.event(subjectOf(d), 'Normal', 'ScalingReplicaSet', `Scaled up replica set ${createdRS.metadata?.name} from 0 to ${newReplicas}`);
    }
    let needsUpdate = this.setDeploymentRevision(String(newRevision));
    if (!alreadyExists && hasProgressDeadline(d)) {
      setCondition((d.status ??= {}), newCondition('Progressing', 'True', REASONS.NewRSCreated, `Created new replica set "${createdRS.metadata?.name}"`, this.now()));
      needsUpdate = true;
    }
    if (needsUpdate) await this.writeStatus();
    return createdRS;
  }

  private replaceRS(rs: ReplicaSet): ReplicaSet {
    const i = this.rsList.findIndex((x) => x.metadata?.uid === rs.metadata?.uid);
    if (i >= 0) this.rsList[i] = rs;
    return rs;
  }

  /** Upstream `scaleReplicaSet`: writes size and replica annotations; records ScalingReplicaSet when size changed. */
  private async scaleRS(rs: ReplicaSet, newScale: number, op: string): Promise<{ scaled: boolean; rs: ReplicaSet }> {
    const d = this.d;
    const desired = replicasOf(d);
    const max = desired + maxSurge(d);
    const oldScale = rs.spec?.replicas ?? 1;
    const sizeNeedsUpdate = oldScale !== newScale;
    if (!sizeNeedsUpdate && !replicasAnnotationsNeedUpdate(rs, desired, max)) return { scaled: false, rs };
    const copy = structuredClone(rs);
    copy.spec!.replicas = newScale;
    setReplicasAnnotations(copy, desired, max);
    const out = this.replaceRS(await this.c.replicaSets.update(this.ns, copy));
    if (sizeNeedsUpdate) {
      this.c.recorder.event(subjectOf(d), 'Normal', 'ScalingReplicaSet', `Scaled ${op} replica set ${out.metadata?.name} from ${oldScale} to ${newScale}`);
    }
    return { scaled: sizeNeedsUpdate, rs: out };
  }

  /** Upstream `scaleReplicaSetAndRecordEvent`. */
  private async scaleRSAndRecord(rs: ReplicaSet, newScale: number): Promise<{ scaled: boolean; rs: ReplicaSet }> {
    const cur = rs.spec?.replicas ?? 1;
    if (cur === newScale) return { scaled: false, rs };
    return this.scaleRS(rs, newScale, cur < newScale ? 'up' : 'down');
  }

  /** Upstream `isScalingEvent`: an active ReplicaSet was sized for another spec.replicas. */
  async isScalingEvent(): Promise<boolean> {
    const { newRS, oldRSs } = await this.getAllAndSyncRevision(false);
    return activeReplicaSets([...oldRSs, newRS]).some((rs) => {
      const desired = desiredReplicasAnnotation(rs);
      return desired !== undefined && desired !== replicasOf(this.d);
    });
  }

  /** Upstream `sync`: scaling and paused deployments — no new ReplicaSet, proportional scaling, status. */
  async sync(): Promise<void> {
    const { newRS, oldRSs } = await this.getAllAndSyncRevision(false);
    await this.scale(newRS, oldRSs);
    if (this.d.spec?.paused && !this.d.metadata?.annotations?.[ROLLBACK_TO_ANNOTATION]) await this.cleanup(oldRSs);
    await this.syncDeploymentStatus(this.current([...oldRSs, newRS]), this.current([newRS])[0]);
  }

  /** The latest copies (after our own writes) of these ReplicaSets. */
  private current(rss: Array<ReplicaSet | undefined>): ReplicaSet[] {
    return rss.filter((r): r is ReplicaSet => !!r).map((r) => this.rsList.find((x) => x.metadata?.uid === r.metadata?.uid) ?? r);
  }

  /** Upstream `scale`: one active ReplicaSet takes it all; a saturated new one empties the old; else proportional. */
  private async scale(newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[]): Promise<void> {
    const d = this.d;
    const want = replicasOf(d);
    const activeOrLatest = findActiveOrLatest(newRS, oldRSs);
    if (activeOrLatest) {
      if ((activeOrLatest.spec?.replicas ?? 1) === want) return;
      await this.scaleRSAndRecord(activeOrLatest, want);
      return;
    }
    if (isSaturated(d, newRS)) {
      for (const old of activeReplicaSets(oldRSs)) await this.scaleRSAndRecord(old, 0);
      return;
    }
    if (!isRollingUpdate(d)) return;
    const all = activeReplicaSets([...oldRSs, newRS]);
    const allowed = want > 0 ? want + maxSurge(d) : 0;
    const toAdd = allowed - specReplicas(all);
    let op = '';
    if (toAdd > 0) {
      all.sort(bySizeNewer);
      op = 'up';
    } else if (toAdd < 0) {
      all.sort(bySizeOlder);
      op = 'down';
    }
    const sizes = new Map<ReplicaSet, number>();
    let added = 0;
    for (const rs of all) {
      if (toAdd !== 0) {
        const p = replicaSetProportion(rs, d, toAdd, added);
        sizes.set(rs, (rs.spec?.replicas ?? 1) + p);
        added += p;
      } else sizes.set(rs, rs.spec?.replicas ?? 1);
    }
    for (let i = 0; i < all.length; i++) {
      const rs = all[i]!;
      if (i === 0 && toAdd !== 0) sizes.set(rs, Math.max(0, sizes.get(rs)! + toAdd - added));
      await this.scaleRS(rs, sizes.get(rs)!, op);
    }
  }

  /** Upstream `rolloutRolling`. */
  async rolloutRolling(): Promise<void> {
    const got = await this.getAllAndSyncRevision(true);
    const newRS = got.newRS!;
    const oldRSs = got.oldRSs;
    const all = [...oldRSs, newRS];
    if (await this.reconcileNewReplicaSet(all, newRS)) return this.syncRolloutStatus(this.current(all), this.current([newRS])[0]);
    if (await this.reconcileOldReplicaSets(this.current(all), activeReplicaSets(this.current(oldRSs)), this.current([newRS])[0]!)) {
      return this.syncRolloutStatus(this.current(all), this.current([newRS])[0]);
    }
    if (deploymentComplete(this.d, this.d.status ?? {})) await this.cleanup(this.current(oldRSs));
    return this.syncRolloutStatus(this.current(all), this.current([newRS])[0]);
  }

  private async reconcileNewReplicaSet(all: ReplicaSet[], newRS: ReplicaSet): Promise<boolean> {
    const want = replicasOf(this.d);
    const cur = newRS.spec?.replicas ?? 1;
    if (cur === want) return false;
    if (cur > want) return (await this.scaleRSAndRecord(newRS, want)).scaled;
    return (await this.scaleRSAndRecord(newRS, newRSNewReplicas(this.d, all, newRS))).scaled;
  }

  private async reconcileOldReplicaSets(all: ReplicaSet[], oldRSs: ReplicaSet[], newRS: ReplicaSet): Promise<boolean> {
    if (specReplicas(oldRSs) === 0) return false;
    const minAvailable = replicasOf(this.d) - maxUnavailable(this.d);
    const newUnavailable = (newRS.spec?.replicas ?? 1) - (newRS.status?.availableReplicas ?? 0);
    const maxScaledDown = specReplicas(all) - minAvailable - newUnavailable;
    if (maxScaledDown <= 0) return false;
    const { rss, cleaned } = await this.cleanupUnhealthyReplicas(oldRSs, maxScaledDown);
    const scaledDown = await this.scaleDownOldForRollingUpdate([...rss, newRS], rss);
    return cleaned + scaledDown > 0;
  }

  /** Upstream `cleanupUnhealthyReplicas`: scale old ReplicaSets down by their unavailable replicas first. */
  private async cleanupUnhealthyReplicas(oldRSs: ReplicaSet[], maxCleanup: number): Promise<{ rss: ReplicaSet[]; cleaned: number }> {
    const rss = [...oldRSs].sort(byCreation);
    let total = 0;
    for (let i = 0; i < rss.length; i++) {
      if (total >= maxCleanup) break;
      const rs = rss[i]!;
      const cur = rs.spec?.replicas ?? 1;
      const avail = rs.status?.availableReplicas ?? 0;
      if (cur === 0 || cur === avail) continue;
      const n = Math.min(maxCleanup - total, cur - avail);
      // The ReplicaSet's status can lag its spec (just scaled down, pods not yet deleted: available > replicas);
      // "cleaning up" would then scale it back up. Upstream refuses and retries, and so does this.
      if (cur - n > cur) {
        throw new Error(`when cleaning up unhealthy replicas, got invalid request to scale down ${this.ns}/${rs.metadata?.name} ${cur} -> ${cur - n}`);
      }
      rss[i] = (await this.scaleRSAndRecord(rs, cur - n)).rs;
      total += n;
    }
    return { rss, cleaned: total };
  }

  /** Upstream `scaleDownOldReplicaSetsForRollingUpdate`: never below spec.replicas - maxUnavailable available. */
  private async scaleDownOldForRollingUpdate(all: ReplicaSet[], oldRSs: ReplicaSet[]): Promise<number> {
    const minAvailable = replicasOf(this.d) - maxUnavailable(this.d);
    const available = availableReplicas(all);
    if (available <= minAvailable) return 0;
    const target = available - minAvailable;
    let total = 0;
    for (const rs of [...oldRSs].sort(byCreation)) {
      if (total >= target) break;
      const cur = rs.spec?.replicas ?? 1;
      if (cur === 0) continue;
      const n = Math.min(cur, target - total);
      await this.scaleRSAndRecord(rs, cur - n);
      total += n;
    }
    return total;
  }

  /** Upstream `rolloutRecreate`. */
  async rolloutRecreate(podsByRS: Map<string, Pod[]>): Promise<void> {
    let { newRS, oldRSs } = await this.getAllAndSyncRevision(false);
    let all = [...oldRSs, newRS];
    let scaledDown = false;
    for (const rs of activeReplicaSets(oldRSs)) if ((await this.scaleRSAndRecord(rs, 0)).scaled) scaledDown = true;
    if (scaledDown) return this.syncRolloutStatus(this.current(all), this.current([newRS])[0]);
    if (oldPodsRunning(newRS, this.current(oldRSs), podsByRS)) return this.syncRolloutStatus(this.current(all), this.current([newRS])[0]);
    if (!newRS) {
      ({ newRS, oldRSs } = await this.getAllAndSyncRevision(true));
      all = [...oldRSs, newRS];
    }
    await this.scaleRSAndRecord(this.current([newRS])[0]!, replicasOf(this.d));
    if (deploymentComplete(this.d, this.d.status ?? {})) await this.cleanup(this.current(oldRSs));
    return this.syncRolloutStatus(this.current(all), this.current([newRS])[0]);
  }

  /** Upstream `cleanupDeployment`: delete the oldest empty old ReplicaSets beyond revisionHistoryLimit. */
  private async cleanup(oldRSs: ReplicaSet[]): Promise<void> {
    const limit = this.d.spec?.revisionHistoryLimit;
    if (limit === undefined || limit === null) return;
    const cleanable = oldRSs.filter((rs) => !rs.metadata?.deletionTimestamp);
    const diff = cleanable.length - limit;
    if (diff <= 0) return;
    cleanable.sort(byRevision);
    for (const rs of cleanable.slice(0, diff)) {
      if ((rs.status?.replicas ?? 0) !== 0 || (rs.spec?.replicas ?? 1) !== 0) continue;
      if ((rs.metadata?.generation ?? 0) > (rs.status?.observedGeneration ?? 0)) continue;
      try {
        await this.c.replicaSets.delete(this.ns, rs.metadata!.name!);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
  }

  /** Upstream `calculateStatus`. */
  private calculateStatus(all: ReplicaSet[], newRS: ReplicaSet | undefined): DeploymentStatus {
    const d = this.d;
    const available = availableReplicas(all);
    const status: DeploymentStatus = {
      observedGeneration: d.metadata?.generation,
      replicas: actualReplicas(all),
      updatedReplicas: actualReplicas([newRS]),
      readyReplicas: readyReplicas(all),
      availableReplicas: available,
      unavailableReplicas: Math.max(0, specReplicas(all) - available),
    };
    if (d.status?.collisionCount !== undefined) status.collisionCount = d.status.collisionCount;
    if (d.status?.conditions?.length) status.conditions = d.status.conditions.map((c) => ({ ...c }));
    if (available >= replicasOf(d) - maxUnavailable(d)) {
      setCondition(status, newCondition('Available', 'True', REASONS.MinimumReplicasAvailable, 'Deployment has minimum availability.', this.now()));
    } else {
      setCondition(status, newCondition('Available', 'False', REASONS.MinimumReplicasUnavailable, 'Deployment does not have minimum availability.', this.now()));
    }
    return status;
  }

  /** Upstream `syncDeploymentStatus`: write calculated status if it changed. */
  async syncDeploymentStatus(all: ReplicaSet[], newRS: ReplicaSet | undefined): Promise<void> {
    const status = this.calculateStatus(all, newRS);
    if (sameStatus(this.d.status, status)) return;
    this.d.status = status;
    await this.writeStatus();
  }

  /** Upstream `syncRolloutStatus`: status plus the Progressing condition and the progress-deadline requeue. */
  private async syncRolloutStatus(all: ReplicaSet[], newRS: ReplicaSet | undefined): Promise<void> {
    const d = this.d;
    const s = this.calculateStatus(all, newRS);
    const now = this.now();
    if (!hasProgressDeadline(d)) removeCondition(s, 'Progressing');
    const cur = getCondition(d.status, 'Progressing');
    const complete = s.replicas === s.updatedReplicas && cur?.reason === REASONS.NewRSAvailable;
    if (hasProgressDeadline(d) && !complete) {
      const name = newRS?.metadata?.name;
      if (deploymentComplete(d, s)) {
        const msg = name ? `ReplicaSet "${name}" has successfully progressed.` : `Deployment "${d.metadata?.name}" has successfully progressed.`;
        setCondition(s, newCondition('Progressing', 'True', REASONS.NewRSAvailable, msg, now));
      } else if (deploymentProgressing(d, s)) {
        const msg = name ? `ReplicaSet "${name}" is progressing.` : `Deployment "${d.metadata?.name}" is progressing.`;
        const cond = newCondition('Progressing', 'True', REASONS.ReplicaSetUpdated, msg, now);
        if (cur?.status === 'True') cond.lastTransitionTime = cur.lastTransitionTime;
        removeCondition(s, 'Progressing');
        s.conditions = [...(s.conditions ?? []), cond];
      } else if (deploymentTimedOut(d, s, now)) {
        const msg = name ? `ReplicaSet "${name}" has timed out progressing.` : `Deployment "${d.metadata?.name}" has timed out progressing.`;
        setCondition(s, newCondition('Progressing', 'False', REASONS.TimedOut, msg, now));
      }
    }
    const failure = all.flatMap((rs) => rs.status?.conditions ?? []).find((c) => c.type === 'ReplicaFailure' && c.status === 'True');
    if (failure) {
      setCondition(s, { type: 'ReplicaFailure', status: failure.status, reason: failure.reason, message: failure.message, lastUpdateTime: failure.lastTransitionTime, lastTransitionTime: failure.lastTransitionTime });
    } else removeCondition(s, 'ReplicaFailure');
    if (sameStatus(d.status, s)) {
      this.requeueStuck(s);
      return;
    }
    d.status = s;
    await this.writeStatus();
  }

  /** Upstream `requeueStuckDeployment`: come back when the progress deadline would pass. */
  private requeueStuck(s: DeploymentStatus): void {
    const d = this.d;
    const cur = getCondition(d.status, 'Progressing');
    if (!hasProgressDeadline(d) || !cur) return;
    if (deploymentComplete(d, s) || cur.reason === REASONS.TimedOut) return;
    const after = (Date.parse(cur.lastUpdateTime ?? '') || 0) + d.spec!.progressDeadlineSeconds! * 1000 - this.now();
    this.requeueAfter = Math.max(after, 0) + 1000;
  }

  /** Upstream `checkPausedConditions`: Progressing Unknown with DeploymentPaused / DeploymentResumed. */
  async checkPausedConditions(): Promise<void> {
    const d = this.d;
    if (!hasProgressDeadline(d)) return;
    const cond = getCondition(d.status, 'Progressing');
    if (cond?.reason === REASONS.TimedOut) return;
    const pausedCond = cond?.reason === REASONS.Paused;
    let update = false;
    if (d.spec?.paused && !pausedCond) {
      setCondition((d.status ??= {}), newCondition('Progressing', 'Unknown', REASONS.Paused, 'Deployment is paused', this.now()));
      update = true;
    } else if (!d.spec?.paused && pausedCond) {
      setCondition((d.status ??= {}), newCondition('Progressing', 'Unknown', REASONS.Resumed, 'Deployment is resumed', this.now()));
      update = true;
    }
    if (update) await this.writeStatus();
  }

  /** Upstream `rollback` for the deprecated `deprecated.deployment.rollback.to` annotation. */
  async rollback(): Promise<void> {
    const d = this.d;
    const { newRS, oldRSs } = await this.getAllAndSyncRevision(true);
    let target = Number(d.metadata?.annotations?.[ROLLBACK_TO_ANNOTATION] ?? '0') || 0;
    const all = [...oldRSs, ...(newRS ? [newRS] : [])];
    if (target === 0) {
      const revs = [...new Set(all.map(revisionOf))].sort((a, b) => b - a);
      target = revs[1] ?? 0;
      if (target === 0) {
        this.c.recorder.event(subjectOf(d), 'Warning', 'DeploymentRollbackRevisionNotFound', 'Unable to find last revision.');
        return this.clearRollbackTo();
      }
    }
    const rs = oldRSs.find((r) => revisionOf(r) === target);
    if (!rs) {
      this.c.recorder.event(subjectOf(d), 'Warning', 'DeploymentRollbackRevisionNotFound', 'Unable to find the revision to rollback to.');
      return this.clearRollbackTo();
    }
    if (equalIgnoreHash(d.spec?.template, rs.spec?.template)) {
      this.c.recorder.event(subjectOf(d), 'Warning', 'DeploymentRollbackTemplateUnchanged', `The rollback revision contains the same template as current deployment "${d.metadata?.name}"`);
      return this.clearRollbackTo();
    }
    const template = structuredClone(rs.spec!.template!);
    if (template.metadata?.labels) delete template.metadata.labels[POD_TEMPLATE_HASH];
    d.spec!.template = template;
    await this.clearRollbackTo();
    this.c.recorder.event(subjectOf(d), 'Normal', 'DeploymentRollback', `Rolled back deployment "${d.metadata?.name}" to revision ${target}`);
  }

  private async clearRollbackTo(): Promise<void> {
    delete this.d.metadata!.annotations![ROLLBACK_TO_ANNOTATION];
    const { status: _s, ...body } = this.d;
    await this.c.deployments.update(this.ns, body as Deployment);
  }
}

/** Upstream `FindActiveOrLatest`: the only active ReplicaSet, or the newest when none is active. */
function findActiveOrLatest(newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[]): ReplicaSet | undefined {
  if (!newRS && oldRSs.length === 0) return undefined;
  const olds = [...oldRSs].sort((a, b) => byCreation(b, a));
  const active = activeReplicaSets([...olds, newRS]);
  if (active.length === 0) return newRS ?? olds[0];
  if (active.length === 1) return active[0];
  return undefined;
}

/** Upstream `oldPodsRunning`: any old ReplicaSet reports pods, or a non-terminal pod of an old one still exists. */
function oldPodsRunning(newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[], podsByRS: Map<string, Pod[]>): boolean {
  if (actualReplicas(oldRSs) > 0) return true;
  for (const [uid, pods] of podsByRS) {
    if (newRS && newRS.metadata?.uid === uid) continue;
    if (pods.some((p) => p.status?.phase !== 'Failed' && p.status?.phase !== 'Succeeded')) return true;
  }
  return false;
}

/** Status equality ignoring key order and absent-versus-zero counters. */
function sameStatus(a: DeploymentStatus | undefined, b: DeploymentStatus): boolean {
  const norm = (s: DeploymentStatus | undefined) => {
    const o: Record<string, unknown> = {};
    for (const k of ['observedGeneration', 'replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas', 'unavailableReplicas'] as const) o[k] = s?.[k] ?? 0;
    o.collisionCount = s?.collisionCount ?? null;
    o.conditions = (s?.conditions ?? []).map((c) => [c.type, c.status, c.reason ?? '', c.message ?? '', c.lastUpdateTime ?? '', c.lastTransitionTime ?? '']);
    return JSON.stringify(o);
  };
  return norm(a) === norm(b);
}

/** Builds the controller; see the module comment. */
export function newDeploymentController(ctx: ControllerContext): Runnable {
  const dInf = ctx.informers.for<Deployment>(API_VERSION, 'Deployment');
  const rsInf = ctx.informers.for<ReplicaSet>(API_VERSION, 'ReplicaSet');
  const podInf = ctx.informers.for<Pod>('v1', 'Pod');
  const deps: Deps = {
    deployments: ctx.client.resource<Deployment>(API_VERSION, 'Deployment'),
    replicaSets: ctx.client.resource<ReplicaSet>(API_VERSION, 'ReplicaSet'),
    rsLister: rsInf.lister,
    podLister: podInf.lister,
    recorder: ctx.recorder(COMPONENT),
    clock: ctx.clock,
  };
  const log = ctx.logger(COMPONENT);

  const selectorOf = (d: Deployment): LabelSelector | undefined => {
    try {
      return selectorFromLabelSelectorObject(d.spec?.selector);
    } catch {
      return undefined;
    }
  };

  /** ReplicaSets map to their controlling Deployment; orphans to every Deployment whose selector matches. */
  const rsToDeployments = (rs: ReplicaSet): ReconcileRequest[] => {
    const ns = rs.metadata?.namespace;
    const ref = controllerOf(rs);
    if (ref) return ref.kind === 'Deployment' ? [{ namespace: ns, name: ref.name }] : [];
    if (rs.metadata?.deletionTimestamp) return [];
    return dInf.lister.list(ns).filter((d) => {
      const sel = selectorOf(d);
      return sel && sel.requirements.length > 0 && matches(sel, rs.metadata?.labels);
    }).map((d) => ({ namespace: ns, name: d.metadata!.name! }));
  };

  /** Pods matter only to Recreate deployments, which wait for old pods to be gone (upstream `deletePod`). */
  const podToDeployment = (pod: Pod): ReconcileRequest[] => {
    const ref = controllerOf(pod);
    if (!ref || ref.kind !== 'ReplicaSet') return [];
    const ns = pod.metadata?.namespace;
    const rs = rsInf.lister.get(ns, ref.name);
    const dref = rs && controllerOf(rs);
    if (!dref || dref.kind !== 'Deployment') return [];
    const d = dInf.lister.get(ns, dref.name);
    return d && !isRollingUpdate(d) ? [{ namespace: ns, name: dref.name }] : [];
  };

  const reconcile = async (req: ReconcileRequest): Promise<ReconcileResult | void> => {
    const cached = dInf.lister.get(req.namespace, req.name);
    if (!cached) return;
    const d = structuredClone(cached);
    const ns = req.namespace!;
    const sel = d.spec?.selector;
    if (sel && Object.keys(sel.matchLabels ?? {}).length === 0 && !sel.matchExpressions?.length) {
      deps.recorder.event(subjectOf(d), 'Warning', 'SelectingAll', 'This deployment is selecting all pods. A non-empty selector is required.');
      if ((d.status?.observedGeneration ?? 0) < (d.metadata?.generation ?? 0)) {
        await deps.deployments.updateStatus(ns, { ...d, status: { ...(d.status ?? {}), observedGeneration: d.metadata?.generation } });
      }
      return;
    }
    let selector: LabelSelector;
    try {
      selector = selectorFromLabelSelectorObject(sel);
    } catch (err) {
      throw new TerminalError(`invalid selector of Deployment ${ns}/${req.name}: ${(err as Error).message}`);
    }
    const owner = { apiVersion: API_VERSION, kind: 'Deployment', metadata: d.metadata };
    const rsList = await claim({
      owner,
      selector,
      objects: rsInf.lister.list(ns),
      client: deps.replicaSets,
      recheckOwner: recheckOwnerWith(() => deps.deployments.get(ns, req.name), owner),
    });
    const s = new DeploymentSync(deps, d, rsList.map((r) => structuredClone(r)));
    if (d.metadata?.deletionTimestamp) {
      const { newRS, oldRSs } = await s.getAllAndSyncRevision(false);
      await s.syncDeploymentStatus([...oldRSs, ...(newRS ? [newRS] : [])], newRS);
      return;
    }
    await s.checkPausedConditions();
    if (d.spec?.paused) await s.sync();
    else if (d.metadata?.annotations?.[ROLLBACK_TO_ANNOTATION] !== undefined) await s.rollback();
    else if (await s.isScalingEvent()) await s.sync();
    else if (isRollingUpdate(d)) await s.rolloutRolling();
    else {
      const uids = new Set(rsList.map((r) => r.metadata?.uid));
      const podsByRS = new Map<string, Pod[]>();
      for (const p of podInf.lister.list(ns, selector)) {
        const uid = controllerOf(p)?.uid;
        if (!uid || !uids.has(uid)) continue;
        const arr = podsByRS.get(uid) ?? [];
        arr.push(p);
        podsByRS.set(uid, arr);
      }
      await s.rolloutRecreate(podsByRS);
    }
    log.debug({ deployment: `${ns}/${req.name}` }, 'synced deployment');
    return s.requeueAfter !== undefined ? { requeueAfter: s.requeueAfter } : undefined;
  };

  return controllerFor(dInf, { name: COMPONENT, workers: ctx.config.workers, clock: ctx.clock, logger: log })
    .watches(rsInf, rsToDeployments)
    .watches(podInf, podToDeployment)
    .complete({ reconcile });
}
