/**
 * The DaemonSet controller (upstream `pkg/controller/daemon`): one pod per eligible node (see `eligibility.ts`).
 * One reconcile: claim pods and ControllerRevisions, settle the revision of the current template (its hash labels
 * new pods as `controller-revision-hash`, with `pod-template-generation`), then
 * - manage: create a pod for each eligible node without one; delete failed/succeeded pods (failed ones with a
 *   per-node backoff, as upstream); delete every pod on a node that is no longer eligible; keep the oldest of
 *   duplicates; delete unbound pods whose target node is gone;
 * - rolling update (once earlier writes are observed): replace old pods within `maxUnavailable` (int or %, rounded
 *   up), or with `maxSurge` start the new pod first and delete the old one once the new one is available;
 *   `OnDelete` replaces nothing;
 * - trim unused revisions beyond `revisionHistoryLimit` and write status.
 * Pods target their node with a required `metadata.name` matchFields node affinity and are left for the scheduler to
 * bind, as upstream since 1.12 (ScheduleDaemonSetPods). {@link DaemonSetControllerOptions.bindDirectly} also sets
 * `spec.nodeName`, for clusters without a scheduler. Bound pods whose node object disappears are left to pod GC, as
 * upstream.
 */
import type { ControllerRevision, DaemonSet, DaemonSetStatus } from 'kubernetes-types/apps/v1.js';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { controllerFor, TerminalError, type ReconcileRequest, type ReconcileResult } from '../../client/controller.js';
import type { ResourceClient } from '../../client/dynamic.js';
import type { EventRecorder } from '../../client/events.js';
import { isAlreadyExists, isConflict, isNotFound } from '../../client/rest.js';
import { isEmpty, matches, selectorFromLabelSelectorObject, type LabelSelector } from '../../api/labels.js';
import type { ControllerContext, Runnable } from '../types.js';
import { claimObjects } from '../statefulset/claim.js';
import {
  canonicalJson, computeHash, controllerRevisionName, CONTROLLER_REVISION_HASH_LABEL, equalRevision, nextRevisionNumber,
  sortRevisions, templatePatch,
} from '../statefulset/history.js';
import { controllerOf, controllerRef, isPodAvailable, isPodReady, msUntilAvailable, scaledValue } from '../statefulset/pod-state.js';
import { daemonPodSpec, nodeShouldRunDaemonPod, targetNodeName } from './eligibility.js';

const API_VERSION = 'apps/v1';
const KIND = 'DaemonSet';
/** Upstream `extensions.DaemonSetTemplateGenerationKey`. */
export const TEMPLATE_GENERATION_LABEL = 'pod-template-generation';
const TEMPLATE_GENERATION_ANNOTATION = 'deprecated.daemonset.template.generation';
/** Upstream `controller.ExpectationsTimeout`. */
const EXPECTATIONS_TIMEOUT_MS = 5 * 60_000;
const FAILED_BACKOFF_START_MS = 1_000;
const FAILED_BACKOFF_MAX_MS = 15 * 60_000;

/** Options of {@link createDaemonSetController}. */
export interface DaemonSetControllerOptions {
  /**
   * Also set `spec.nodeName` on created pods, binding them without a scheduler. Upstream does not (the scheduler
   * binds through the node affinity); default false. Meant for clusters running without a scheduler.
   */
  bindDirectly?: boolean;
}

/** Writes the controller made that the informer has not shown yet (upstream `ControllerExpectations`, by name). */
interface Expectation {
  adds: Set<string>;
  dels: Set<string>;
  at: number;
}

/** Builds the controller's Runnable from the shared informers (see the module comment for behaviour). */
export function newDaemonSetController(ctx: ControllerContext, opts: DaemonSetControllerOptions = {}): Runnable {
  const dss = ctx.informers.for<DaemonSet>(API_VERSION, KIND);
  const pods = ctx.informers.for<Pod>('v1', 'Pod');
  const nodes = ctx.informers.for<Node>('v1', 'Node');
  const revisions = ctx.informers.for<ControllerRevision>(API_VERSION, 'ControllerRevision');
  const dsClient = ctx.client.resource<DaemonSet>(API_VERSION, KIND);
  const podClient = ctx.client.resource<Pod>('v1', 'Pod');
  const revClient = ctx.client.resource<ControllerRevision>(API_VERSION, 'ControllerRevision');
  const recorder = ctx.recorder('daemonset-controller');
  const clock = ctx.clock;
  const expectations = new Map<string, Expectation>();
  const failedBackoff = new Map<string, { delay: number; next: number }>();

  const selectorOf = (ds: DaemonSet): LabelSelector | undefined => {
    try {
      return selectorFromLabelSelectorObject(ds.spec?.selector);
    } catch {
      return undefined;
    }
  };
  /** Orphans wake matching DaemonSets so they are adopted (upstream `getDaemonSetsForPod`). */
  const orphanToDaemonSets = (o: Pod | ControllerRevision): ReconcileRequest[] => {
    if (controllerOf(o)) return [];
    const ns = o.metadata?.namespace;
    return dss.lister.list(ns).filter((d) => {
      const sel = selectorOf(d);
      return sel && !isEmpty(sel) && matches(sel, o.metadata?.labels);
    }).map((d) => ({ namespace: ns, name: d.metadata!.name! }));
  };
  /** Node changes concern every DaemonSet (upstream re-evaluates all sets on node add/update/delete). */
  const allDaemonSets = (): ReconcileRequest[] => dss.lister.list().map((d) => ({ namespace: d.metadata!.namespace, name: d.metadata!.name! }));

  function satisfied(key: string): boolean {
    const e = expectations.get(key);
    if (!e) return true;
    if (clock.now() - e.at > EXPECTATIONS_TIMEOUT_MS) {
      expectations.delete(key);
      return true;
    }
    for (const n of [...e.adds]) if (pods.lister.get(key.split('/')[0], n)) e.adds.delete(n);
    for (const n of [...e.dels]) {
      const p = pods.lister.get(key.split('/')[0], n);
      if (!p || p.metadata?.deletionTimestamp) e.dels.delete(n);
    }
    if (e.adds.size || e.dels.size) return false;
    expectations.delete(key);
    return true;
  }

  const reconciler = {
    async reconcile(req: ReconcileRequest): Promise<ReconcileResult | void> {
      const cached = dss.lister.get(req.namespace, req.name);
      const key = `${req.namespace}/${req.name}`;
      if (!cached) {
        expectations.delete(key);
        return;
      }
      const ds: DaemonSet = { ...structuredClone(cached), apiVersion: API_VERSION, kind: KIND };
      let selector: LabelSelector;
      try {
        selector = selectorFromLabelSelectorObject(ds.spec?.selector);
      } catch (e) {
        throw new TerminalError(`invalid selector on DaemonSet ${key}: ${String(e)}`);
      }
      if (isEmpty(selector)) {
        recorder.event(ds, 'Warning', 'SelectingAll', 'This daemon set is selecting all pods. A non-empty selector is required.');
        return;
      }
      const ns = ds.metadata!.namespace!;
      const owned = await claimObjects({ owner: ds, ownerApiVersion: API_VERSION, ownerKind: KIND, selector, client: podClient, candidates: pods.lister.list(ns) });
      const revs = await claimObjects({ owner: ds, ownerApiVersion: API_VERSION, ownerKind: KIND, selector, client: revClient, candidates: revisions.lister.list(ns) });
      const sync = new DaemonSync(ds, owned, nodes.lister.list(), { podClient, revClient, dsClient, recorder, now: clock.now(), bindDirectly: !!opts.bindDirectly, failedBackoff });
      const { hash, old } = await sync.constructHistory(sortRevisions(revs));
      let requeue: number | undefined;
      if (satisfied(key) && !ds.metadata?.deletionTimestamp) {
        const exp: Expectation = { adds: new Set(), dels: new Set(), at: clock.now() };
        expectations.set(key, exp);
        try {
          requeue = await sync.manage(hash, exp);
          if (!exp.adds.size && !exp.dels.size && (ds.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate') {
            await sync.rollingUpdate(hash, exp);
          }
        } finally {
          if (!exp.adds.size && !exp.dels.size) expectations.delete(key);
        }
        await sync.cleanupHistory(old);
      }
      await sync.writeStatus(hash);
      const avail = sync.nextAvailabilityCheck();
      const wait = [requeue, avail].filter((x): x is number => x !== undefined);
      return wait.length ? { requeueAfter: Math.min(...wait) } : undefined;
    },
  };

  return controllerFor(dss, { name: 'daemonset', workers: ctx.config.workers, logger: ctx.logger('daemonset-controller'), clock })
    .owns(pods)
    .owns(revisions)
    .watches(pods, orphanToDaemonSets)
    .watches(revisions, orphanToDaemonSets)
    .watches(nodes, allDaemonSets)
    .complete(reconciler);
}

interface SyncDeps {
  podClient: ResourceClient<Pod>;
  revClient: ResourceClient<ControllerRevision>;
  dsClient: ResourceClient<DaemonSet>;
  recorder: EventRecorder;
  now: number;
  bindDirectly: boolean;
  failedBackoff: Map<string, { delay: number; next: number }>;
}

function creationOrder(a: Pod, b: Pod): number {
  // upstream podByCreationTimestampAndPhase: oldest first, then Running before others, then name
  const t = String(a.metadata?.creationTimestamp ?? '').localeCompare(String(b.metadata?.creationTimestamp ?? ''));
  if (t) return t;
  const ra = a.status?.phase === 'Running' ? 0 : 1;
  const rb = b.status?.phase === 'Running' ? 0 : 1;
  return ra - rb || String(a.metadata?.name).localeCompare(String(b.metadata?.name));
}

/** One reconcile's view of a DaemonSet: its pods by node, the nodes, and the writes decided on them. */
class DaemonSync {
  private readonly ns: string;
  private readonly byNode = new Map<string, Pod[]>();
  private collisionCount: number;

  constructor(
    private readonly ds: DaemonSet,
    private readonly pods: Pod[],
    private readonly nodes: Node[],
    private readonly d: SyncDeps,
  ) {
    this.ns = ds.metadata!.namespace!;
    this.collisionCount = ds.status?.collisionCount ?? 0;
    for (const p of pods) {
      if (p.metadata?.deletionTimestamp && (p.status?.phase === 'Failed' || p.status?.phase === 'Succeeded')) continue;
      const n = targetNodeName(p.spec);
      if (!n) continue;
      const list = this.byNode.get(n) ?? [];
      list.push(p);
      this.byNode.set(n, list);
    }
  }

  private get minReadySeconds(): number {
    return this.ds.spec?.minReadySeconds ?? 0;
  }

  /** The template generation pods are labelled with (the deprecated annotation upstream's apiserver keeps, else metadata.generation). */
  private get templateGeneration(): string {
    return this.ds.metadata?.annotations?.[TEMPLATE_GENERATION_ANNOTATION] ?? String(this.ds.metadata?.generation ?? 1);
  }

  /** Upstream `util.IsPodUpdated`: the pod carries the current hash, or the template generation upstream's apiserver records. */
  private isUpdated(p: Pod, hash: string): boolean {
    if (p.metadata?.labels?.[CONTROLLER_REVISION_HASH_LABEL] === hash) return true;
    const gen = this.ds.metadata?.annotations?.[TEMPLATE_GENERATION_ANNOTATION];
    return gen !== undefined && p.metadata?.labels?.[TEMPLATE_GENERATION_LABEL] === gen;
  }

  private event(type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.d.recorder.event(this.ds, type, reason, message);
  }

  /**
   * Finds or creates the revision of the current template (upstream `constructHistory`): the current one gets the
   * highest revision number, duplicates are removed, a name clash with other data bumps `collisionCount`.
   */
  async constructHistory(revs: ControllerRevision[]): Promise<{ hash: string; old: ControllerRevision[] }> {
    const data = templatePatch(this.ds.spec?.template);
    const hash = computeHash(this.ds.spec?.template ?? {}, this.collisionCount);
    const probe = { data, revision: 0 } as unknown as ControllerRevision;
    const current = revs.filter((r) => r.metadata?.labels?.[CONTROLLER_REVISION_HASH_LABEL] === hash || equalRevision(r, probe));
    const old = revs.filter((r) => !current.includes(r));
    const maxOld = old.length ? nextRevisionNumber(old) : 1;
    let cur: ControllerRevision;
    if (!current.length) {
      cur = await this.createRevision(data, maxOld);
    } else {
      cur = current[current.length - 1]!;
      for (const dup of current.slice(0, -1)) await this.deleteRevision(dup);
      if ((cur.revision ?? 0) < maxOld) cur = await this.d.revClient.patch(this.ns, cur.metadata!.name!, 'merge', { revision: maxOld });
    }
    return { hash: cur.metadata?.labels?.[CONTROLLER_REVISION_HASH_LABEL] ?? hash, old };
  }

  private async createRevision(data: ReturnType<typeof templatePatch>, revision: number): Promise<ControllerRevision> {
    for (;;) {
      const hash = computeHash(this.ds.spec?.template ?? {}, this.collisionCount);
      const rev: ControllerRevision = {
        apiVersion: API_VERSION,
        kind: 'ControllerRevision',
        metadata: {
          name: controllerRevisionName(this.ds.metadata!.name!, hash),
          namespace: this.ns,
          labels: { ...(this.ds.spec?.template?.metadata?.labels ?? {}), [CONTROLLER_REVISION_HASH_LABEL]: hash },
          ...(this.ds.metadata?.annotations ? { annotations: { ...this.ds.metadata.annotations } } : {}),
          ownerReferences: [controllerRef(this.ds, API_VERSION, KIND)],
        },
        data,
        revision,
      };
      try {
        return await this.d.revClient.create(this.ns, rev);
      } catch (e) {
        if (!isAlreadyExists(e)) throw e;
        const existing = await this.d.revClient.get(this.ns, rev.metadata!.name!);
        if (equalRevision(existing, rev) && controllerOf(existing)?.uid === this.ds.metadata?.uid) return existing;
        this.collisionCount++;
      }
    }
  }

  private async deleteRevision(r: ControllerRevision): Promise<void> {
    try {
      await this.d.revClient.delete(this.ns, r.metadata!.name!);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  /** Upstream `manage` + `podsShouldBeOnNode`. Returns a requeue delay while a failed pod's node is backing off. */
  async manage(hash: string, exp: Expectation): Promise<number | undefined> {
    const create: string[] = [];
    const del: Pod[] = [];
    let requeue: number | undefined;
    const surge = this.allowsSurge();
    const nodeNames = new Set<string>();
    for (const node of this.nodes) {
      const name = node.metadata!.name!;
      nodeNames.add(name);
      const { shouldRun, shouldContinueRunning } = nodeShouldRunDaemonPod(node, this.ds);
      const here = this.byNode.get(name);
      if (shouldRun && !here) {
        create.push(name);
      } else if (shouldContinueRunning && here) {
        const running: Pod[] = [];
        for (const p of here) {
          if (p.metadata?.deletionTimestamp) continue;
          if (p.status?.phase === 'Failed') {
            const bk = `${this.ns}/${this.ds.metadata!.name}/${name}`;
            const b = this.d.failedBackoff.get(bk);
            if (b && this.d.now < b.next) {
              requeue = Math.min(requeue ?? Infinity, b.next - this.d.now);
              continue;
            }
            const delay = b ? Math.min(b.delay * 2, FAILED_BACKOFF_MAX_MS) : FAILED_BACKOFF_START_MS;
            this.d.failedBackoff.set(bk, { delay, next: this.d.now + delay });
            this.event('Warning', 'FailedDaemonPod', `Found failed daemon pod ${this.ns}/${p.metadata!.name} on node ${name}, will try to kill it`);
            del.push(p);
          } else if (p.status?.phase === 'Succeeded') {
            del.push(p);
          } else {
            running.push(p);
          }
        }
        if (running.length <= 1) continue;
        running.sort(creationOrder);
        if (!surge) {
          del.push(...running.slice(1));
          continue;
        }
        // with surge: keep the oldest new and oldest old pod; the old one goes once the new one is available
        let oldestNew: Pod | undefined;
        let oldestOld: Pod | undefined;
        for (const p of running) {
          if (p.metadata?.labels?.[CONTROLLER_REVISION_HASH_LABEL] === hash) {
            if (!oldestNew) { oldestNew = p; continue; }
          } else if (!oldestOld) { oldestOld = p; continue; }
          del.push(p);
        }
        if (oldestNew && oldestOld && (!isPodReady(oldestOld) || isPodAvailable(oldestNew, this.minReadySeconds, this.d.now))) del.push(oldestOld);
      } else if (!shouldContinueRunning && here) {
        for (const p of here) if (!p.metadata?.deletionTimestamp) del.push(p);
      }
    }
    // unbound pods aimed at nodes that no longer exist (upstream getUnscheduledPodsWithoutNode)
    for (const [name, list] of this.byNode) {
      if (nodeNames.has(name)) continue;
      for (const p of list) if (!p.spec?.nodeName && !p.metadata?.deletionTimestamp) del.push(p);
    }
    await this.syncNodes(del, create, hash, exp);
    return requeue;
  }

  /** Upstream `util.AllowsSurge`: a RollingUpdate whose maxSurge scaled against one node is not zero. */
  private allowsSurge(): boolean {
    const us = this.ds.spec?.updateStrategy;
    if ((us?.type ?? 'RollingUpdate') !== 'RollingUpdate') return false;
    return scaledValue(us?.rollingUpdate?.maxSurge as number | string | undefined, 1, 0) !== 0;
  }

  /** A pod for `nodeName` (upstream `syncNodes` template + `CreatePodTemplate`). */
  private newPod(nodeName: string, hash: string): Pod {
    const t = this.ds.spec?.template ?? {};
    const spec = daemonPodSpec(this.ds, nodeName);
    if (this.d.bindDirectly) spec.nodeName = nodeName;
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        generateName: `${this.ds.metadata!.name}-`,
        namespace: this.ns,
        labels: { ...(t.metadata?.labels ?? {}), [TEMPLATE_GENERATION_LABEL]: this.templateGeneration, [CONTROLLER_REVISION_HASH_LABEL]: hash },
        ...(t.metadata?.annotations ? { annotations: { ...t.metadata.annotations } } : {}),
        ownerReferences: [controllerRef(this.ds, API_VERSION, KIND)],
      },
      spec,
    };
  }

  /** Creates (slow-start batches, stopping at the first failure) and deletes, recording expectations and events. */
  private async syncNodes(del: Pod[], create: string[], hash: string, exp: Expectation): Promise<void> {
    const errors: unknown[] = [];
    await Promise.all(del.map(async (p) => {
      try {
        await this.d.podClient.delete(this.ns, p.metadata!.name!, { preconditions: { uid: p.metadata!.uid } });
        exp.dels.add(p.metadata!.name!);
        this.event('Normal', 'SuccessfulDelete', `Deleted pod: ${p.metadata!.name}`);
      } catch (e) {
        if (isNotFound(e) || isConflict(e)) return;
        this.event('Warning', 'FailedDelete', `Error deleting: ${errText(e)}`);
        errors.push(e);
      }
    }));
    let batch = 1;
    for (let i = 0; i < create.length && !errors.length; i += batch, batch *= 2) {
      await Promise.all(create.slice(i, i + batch).map(async (node) => {
        try {
          const created = await this.d.podClient.create(this.ns, this.newPod(node, hash));
          exp.adds.add(created.metadata!.name!);
          this.event('Normal', 'SuccessfulCreate', `Created pod: ${created.metadata!.name}`);
        } catch (e) {
          this.event('Warning', 'FailedCreate', `Error creating: ${errText(e)}`);
          errors.push(e);
        }
      }));
    }
    if (errors.length) throw errors[0];
  }

  /** Upstream `rollingUpdate` (update.go): see the module comment. */
  async rollingUpdate(hash: string, exp: Expectation): Promise<void> {
    const byNode = new Map<string, Pod[]>();
    let desired = 0;
    for (const node of this.nodes) {
      if (!nodeShouldRunDaemonPod(node, this.ds).shouldRun) continue;
      desired++;
      byNode.set(node.metadata!.name!, this.byNode.get(node.metadata!.name!) ?? []);
    }
    const ru = this.ds.spec?.updateStrategy?.rollingUpdate;
    let maxUnavailable = scaledValue(ru?.maxUnavailable as number | string | undefined, desired, 1);
    const maxSurge = scaledValue(ru?.maxSurge as number | string | undefined, desired, 0);
    if (desired > 0 && maxUnavailable === 0 && maxSurge === 0) maxUnavailable = 1;
    const avail = (p: Pod) => isPodAvailable(p, this.minReadySeconds, this.d.now);
    const split = (list: Pod[]): { newPod?: Pod; oldPod?: Pod; ok: boolean } => {
      let newPod: Pod | undefined;
      let oldPod: Pod | undefined;
      for (const p of list) {
        if (p.metadata?.deletionTimestamp) continue;
        if (this.isUpdated(p, hash)) {
          if (newPod) return { ok: false };
          newPod = p;
        } else {
          if (oldPod) return { ok: false };
          oldPod = p;
        }
      }
      return { newPod, oldPod, ok: true };
    };
    const toDelete: Pod[] = [];
    const toCreate: string[] = [];
    if (maxSurge === 0) {
      let unavailable = 0;
      const replaceNow: Pod[] = [];
      const candidates: Pod[] = [];
      for (const list of byNode.values()) {
        const { newPod, oldPod, ok } = split(list);
        if (!ok || (!newPod && !oldPod) || (newPod && oldPod)) unavailable++;
        else if (newPod) {
          if (!avail(newPod)) unavailable++;
        } else if (!avail(oldPod!)) replaceNow.push(oldPod!);
        else if (unavailable < maxUnavailable) candidates.push(oldPod!);
      }
      const room = Math.min(Math.max(0, maxUnavailable - unavailable), candidates.length);
      toDelete.push(...replaceNow, ...candidates.slice(0, room));
    } else {
      let surged = 0;
      for (const [node, list] of byNode) {
        const { newPod, oldPod, ok } = split(list);
        if (!ok || !oldPod) continue;
        if (!newPod) {
          if (!avail(oldPod)) toCreate.push(node);
          else if (surged < maxSurge) { toCreate.push(node); surged++; }
        } else if (!avail(newPod)) surged++;
        else toDelete.push(oldPod);
      }
    }
    await this.syncNodes(toDelete, toCreate, hash, exp);
  }

  /** Deletes the oldest unused revisions beyond `revisionHistoryLimit` (upstream `cleanupHistory`). */
  async cleanupHistory(old: ControllerRevision[]): Promise<void> {
    let toKill = old.length - (this.ds.spec?.revisionHistoryLimit ?? 10);
    if (toKill <= 0) return;
    const live = new Set(this.pods.map((p) => p.metadata?.labels?.[CONTROLLER_REVISION_HASH_LABEL]).filter(Boolean));
    for (const r of sortRevisions(old)) {
      if (toKill <= 0) break;
      if (live.has(r.metadata?.labels?.[CONTROLLER_REVISION_HASH_LABEL])) continue;
      await this.deleteRevision(r);
      toKill--;
    }
  }

  /** Upstream `updateDaemonSetStatus`, written only when it changed. */
  async writeStatus(hash: string): Promise<void> {
    const s: DaemonSetStatus = {
      currentNumberScheduled: 0, desiredNumberScheduled: 0, numberMisscheduled: 0, numberReady: 0,
      numberAvailable: 0, numberUnavailable: 0, updatedNumberScheduled: 0,
      observedGeneration: this.ds.metadata?.generation,
    };
    for (const node of this.nodes) {
      const here = this.byNode.get(node.metadata!.name!) ?? [];
      const { shouldRun } = nodeShouldRunDaemonPod(node, this.ds);
      if (!shouldRun) {
        if (here.length) s.numberMisscheduled++;
        continue;
      }
      s.desiredNumberScheduled++;
      if (!here.length) continue;
      s.currentNumberScheduled++;
      const pod = [...here].sort(creationOrder)[0]!;
      if (isPodReady(pod)) {
        s.numberReady++;
        if (isPodAvailable(pod, this.minReadySeconds, this.d.now)) s.numberAvailable!++;
      }
      if (this.isUpdated(pod, hash)) s.updatedNumberScheduled!++;
    }
    s.numberUnavailable = s.desiredNumberScheduled - s.numberAvailable!;
    if (this.collisionCount) s.collisionCount = this.collisionCount;
    if (this.ds.status?.conditions) s.conditions = this.ds.status.conditions;
    if (canonicalJson(this.ds.status ?? {}) === canonicalJson(s)) return;
    let cur = this.ds;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.d.dsClient.updateStatus(this.ns, { ...cur, status: s });
        return;
      } catch (e) {
        if (!isConflict(e) || attempt >= 2) throw e;
        cur = await this.d.dsClient.get(this.ns, cur.metadata!.name!);
      }
    }
  }

  /** When a ready pod turns available (minReadySeconds), so status and the rollout move on then. */
  nextAvailabilityCheck(): number | undefined {
    let min: number | undefined;
    for (const p of this.pods) {
      const ms = msUntilAvailable(p, this.minReadySeconds, this.d.now);
      if (ms !== undefined && (min === undefined || ms < min)) min = ms;
    }
    return min === undefined ? undefined : min + 50;
  }
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
