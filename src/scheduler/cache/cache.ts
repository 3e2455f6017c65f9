/**
 * The scheduler's cluster cache (upstream `pkg/scheduler/backend/cache/cache.go`): nodes and the pods assigned to
 * them, fed by informer events, plus *assumed* pods — pods the scheduler has placed (Reserve) but whose binding the
 * apiserver has not confirmed yet — so the next pod already sees their requests.
 *
 * Assumed pod lifecycle, as upstream:
 *   assumePod (Reserve) → finishBinding (Bind returned) → the pod's add/update event with spec.nodeName confirms it
 *   → no longer assumed. If the event never comes, the pod expires `ttlMs` (30 s) after finishBinding and is removed;
 *   forgetPod (Unreserve after a failure) removes it at once. Before finishBinding an assumed pod never expires.
 *
 * The {@link Snapshot} is what a scheduling cycle reads. `updateSnapshot` copies only the NodeInfos changed since the
 * previous call (upstream compares generations along a most-recently-updated list; here the cache tracks the set of
 * dirty node names), so one bound pod costs one NodeInfo clone, not a copy of the cluster.
 */

import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { sameLabelSet } from '../../api/labels.js';
import type { Clock } from '../../client/clock.js';
import type { SnapshotLister } from '../framework/interface.js';
import { NodeInfo, NodeTable, PodInfo } from '../framework/node-info.js';

/**
 * How long an assumed pod whose binding finished may wait for its confirming informer event before the cache drops it
 * (upstream `durationToExpireAssumedPod`, historically 30 s): long enough for a slow watch, short enough that a lost
 * event does not block a node's capacity for long.
 */
export const ASSUMED_POD_TTL_MS = 30_000;

interface PodState {
  pi: PodInfo;
  nodeName: string;
  /** Set by finishBinding; the pod expires after it if still assumed. */
  deadline?: number;
}

/** Token arithmetic of the snapshot's change journal (see {@link Snapshot.changedSince}). */
const JOURNAL_EPOCH = 2 ** 26;

/** Immutable-per-cycle view of the nodes (upstream `cache.Snapshot`). */
export class Snapshot implements SnapshotLister {
  readonly nodeInfoMap = new Map<string, NodeInfo>();
  nodeInfoList: NodeInfo[] = [];
  /** The hot numbers of {@link nodeInfoList}, by position (kept in step by {@link apply}). */
  readonly table = new NodeTable();
  /**
   * The nodes with pods with (anti-)affinity terms, rebuilt on demand when `listsDirty` — with such pods landing every
   * cycle, refiltering 5,000 NodeInfos per cycle was a third of the anti-affinity workload's cycle — and how many there
   * are, kept incrementally (what the plugins' skip checks need).
   */
  private affinityList: NodeInfo[] = [];
  private antiAffinityList: NodeInfo[] = [];
  private listsDirty = false;
  private affinityCount = 0;
  private antiAffinityCount = 0;
  private readonly index = new Map<string, number>();
  /**
   * The change journal behind {@link changedSince}: positions replaced in place since the last relist. Tokens are
   * `epoch * 2^26 + sequence`, so a token from before a relist (new epoch) or before a trim is recognisably stale.
   */
  private epoch = 0;
  private journal: number[] = [];
  private journalBase = 0;

  list(): readonly NodeInfo[] {
    return this.nodeInfoList;
  }

  havePodsWithAffinityList(): readonly NodeInfo[] {
    this.rebuildLists();
    return this.affinityList;
  }

  havePodsWithRequiredAntiAffinityList(): readonly NodeInfo[] {
    this.rebuildLists();
    return this.antiAffinityList;
  }

  countNodesWithPodsWithAffinity(): number {
    return this.affinityCount;
  }

  countNodesWithPodsWithRequiredAntiAffinity(): number {
    return this.antiAffinityCount;
  }

  private rebuildLists(): void {
    if (!this.listsDirty) return;
    this.affinityList = this.nodeInfoList.filter((n) => n.podsWithAffinity.length > 0);
    this.antiAffinityList = this.nodeInfoList.filter((n) => n.podsWithRequiredAntiAffinity.length > 0);
    this.listsDirty = false;
  }

  get(nodeName: string): NodeInfo | undefined {
    return this.nodeInfoMap.get(nodeName);
  }

  changedSince(token: number | undefined): { changed?: readonly number[]; token: number } {
    const now = this.epoch * JOURNAL_EPOCH + this.journalBase + this.journal.length;
    if (token === undefined || Math.floor(token / JOURNAL_EPOCH) !== this.epoch) return { token: now };
    const seq = token % JOURNAL_EPOCH;
    if (seq < this.journalBase || seq > this.journalBase + this.journal.length) return { token: now };
    return { changed: this.journal.slice(seq - this.journalBase), token: now };
  }

  /** Applies changed NodeInfos (clones) from the cache; `relist` when nodes were added or removed. */
  apply(changed: Iterable<[string, NodeInfo | undefined]>, relist: boolean): void {
    let affinityChanged = false;
    for (const [name, ni] of changed) {
      const prev = this.nodeInfoMap.get(name);
      if (prev && (prev.podsWithAffinity.length || prev.podsWithRequiredAntiAffinity.length)) affinityChanged = true;
      if (!ni || !ni.node) {
        if (prev) relist = true;
        this.nodeInfoMap.delete(name);
        continue;
      }
      if (ni.podsWithAffinity.length || ni.podsWithRequiredAntiAffinity.length) affinityChanged = true;
      const c = ni.clone();
      this.nodeInfoMap.set(name, c);
      if (!prev) relist = true;
      else if (!relist) {
        const i = this.index.get(name);
        if (i !== undefined) {
          const old = this.nodeInfoList[i]!;
          this.affinityCount += (c.podsWithAffinity.length > 0 ? 1 : 0) - (old.podsWithAffinity.length > 0 ? 1 : 0);
          this.antiAffinityCount += (c.podsWithRequiredAntiAffinity.length > 0 ? 1 : 0) - (old.podsWithRequiredAntiAffinity.length > 0 ? 1 : 0);
          this.nodeInfoList[i] = c;
          this.table.set(i, c);
          this.journal.push(i);
        } else relist = true;
      }
    }
    if (relist) {
      this.nodeInfoList = [...this.nodeInfoMap.values()];
      this.index.clear();
      this.table.attach(this.nodeInfoList);
      this.affinityCount = 0;
      this.antiAffinityCount = 0;
      this.nodeInfoList.forEach((n, i) => {
        this.index.set(n.name, i);
        this.table.set(i, n);
        if (n.podsWithAffinity.length) this.affinityCount++;
        if (n.podsWithRequiredAntiAffinity.length) this.antiAffinityCount++;
      });
      affinityChanged = true;
      this.epoch++;
      this.journal = [];
      this.journalBase = 0;
    } else if (this.journal.length > 2 * this.nodeInfoList.length + 1024) {
      // Trim: readers further behind than the kept half rescan everything, which costs about the same.
      const drop = this.journal.length >> 1;
      this.journal = this.journal.slice(drop);
      this.journalBase += drop;
      if (this.journalBase + this.journal.length >= JOURNAL_EPOCH / 2) {
        this.epoch++;
        this.journal = [];
        this.journalBase = 0;
      }
    }
    if (affinityChanged) this.listsDirty = true;
  }
}

/** See the module comment. */
export class SchedulerCache {
  private readonly nodes = new Map<string, NodeInfo>();
  private readonly pods = new Map<string, PodState>();
  private readonly assumed = new Set<string>();
  private readonly dirty = new Set<string>();
  private relist = true;

  constructor(
    private readonly clock: Clock,
    private readonly ttlMs = ASSUMED_POD_TTL_MS,
    private readonly onExpire?: (pod: Pod, nodeName: string) => void,
  ) {}

  private nodeInfo(name: string): NodeInfo {
    let ni = this.nodes.get(name);
    if (!ni) {
      ni = new NodeInfo();
      this.nodes.set(name, ni);
    }
    return ni;
  }

  private touch(name: string, ni: NodeInfo): void {
    ni.generation++;
    this.dirty.add(name);
  }

  /** Number of nodes with a Node object. */
  nodeCount(): number {
    let n = 0;
    for (const ni of this.nodes.values()) if (ni.node) n++;
    return n;
  }

  addNode(node: Node): void {
    const name = node.metadata!.name!;
    const ni = this.nodeInfo(name);
    if (!ni.node) this.relist = true;
    ni.setNode(node);
    this.touch(name, ni);
  }

  updateNode(node: Node): void {
    this.addNode(node);
  }

  /** Removes the node; its NodeInfo stays (without node) while pods still reference it, as upstream. */
  removeNode(node: Node): void {
    const name = node.metadata!.name!;
    const ni = this.nodes.get(name);
    if (!ni) return;
    ni.node = undefined;
    ni.name = '';
    ni.labels = {};
    ni.taints = undefined;
    this.relist = true;
    if (ni.pods.length === 0) this.nodes.delete(name);
    this.touch(name, ni);
  }

  private place(pi: PodInfo, nodeName: string, deadline?: number): void {
    const ni = this.nodeInfo(nodeName);
    ni.addPod(pi);
    this.pods.set(pi.uid, { pi, nodeName, deadline });
    this.touch(nodeName, ni);
  }

  private unplace(uid: string): PodState | undefined {
    const st = this.pods.get(uid);
    if (!st) return undefined;
    this.pods.delete(uid);
    const ni = this.nodes.get(st.nodeName);
    if (ni) {
      ni.removePod(uid);
      if (!ni.node && ni.pods.length === 0) this.nodes.delete(st.nodeName);
      this.touch(st.nodeName, ni);
    }
    return st;
  }

  /** Reserve: the pod (with `nodeName`) counts on that node from now on. Throws if the pod is already in the cache. */
  assumePod(pod: Pod, nodeName: string, podInfo?: PodInfo): void {
    const pi = podInfo ?? new PodInfo(pod);
    if (this.pods.has(pi.uid)) throw new Error(`pod ${pi.key}(${pi.uid}) is in the cache, so can't be assumed`);
    this.place(pi, nodeName);
    this.assumed.add(pi.uid);
  }

  /** Bind returned: start the expiry clock of the assumed pod. */
  finishBinding(pod: Pod): void {
    const uid = pod.metadata?.uid ?? '';
    const st = this.pods.get(uid);
    if (st && this.assumed.has(uid)) st.deadline = this.clock.now() + this.ttlMs;
  }

  /** Unreserve: drop an assumed pod. */
  forgetPod(pod: Pod): void {
    const uid = pod.metadata?.uid ?? '';
    if (!this.assumed.has(uid)) return;
    this.assumed.delete(uid);
    this.unplace(uid);
  }

  isAssumed(pod: Pod): boolean {
    return this.assumed.has(pod.metadata?.uid ?? '');
  }

  /** The node a pod is (assumed to be) on, if the cache has it. */
  nodeOf(pod: Pod): string | undefined {
    return this.pods.get(pod.metadata?.uid ?? '')?.nodeName;
  }

  /** An assigned pod appeared (informer add): confirms an assumed pod or adds it. */
  addPod(pod: Pod): void {
    const uid = pod.metadata?.uid ?? '';
    const nodeName = pod.spec?.nodeName ?? '';
    if (!nodeName) return;
    const st = this.pods.get(uid);
    if (st && this.assumed.has(uid)) {
      this.assumed.delete(uid);
      // The common case — our own binding confirmed on the node we assumed, the pod otherwise as it was scheduled:
      // the node's sums and pod lists stay as they are, only the object behind the PodInfo becomes the real one.
      if (st.nodeName === nodeName && this.confirmInPlace(st, pod)) return;
      // Replace the assumed copy by the real object (it may even have landed elsewhere).
      this.unplace(uid);
    } else if (st) {
      this.unplace(uid);
    }
    this.place(new PodInfo(pod), nodeName);
  }

  /**
   * Swaps the confirmed `pod` in for the assumed copy when everything the plugins read from an existing pod is the
   * same (the PodInfo fields come from the spec, which is immutable while a pod is pending, except the labels and a
   * deletion). The NodeInfo is not marked changed: what the snapshot holds — the assumed copy — is equivalent for
   * scheduling, and upstream's extra NodeInfo copy per bound pod (remove + add, a new generation) is saved. The cache's
   * NodeInfo holds the new PodInfo, so the next copy of that node carries the real object.
   */
  private confirmInPlace(st: PodState, pod: Pod): boolean {
    const old = st.pi.pod;
    if (pod.metadata?.deletionTimestamp || !sameLabelSet(old.metadata?.labels, pod.metadata?.labels)) return false;
    const ni = this.nodes.get(st.nodeName);
    if (!ni) return false;
    const pi = new PodInfo(pod, st.pi);
    if (!ni.replacePod(st.pi, pi)) return false;
    st.pi = pi;
    st.deadline = undefined;
    return true;
  }

  /** An assigned pod changed. */
  updatePod(pod: Pod): void {
    this.addPod(pod);
  }

  /** An assigned pod was deleted (or became terminal). */
  removePod(pod: Pod): void {
    const uid = pod.metadata?.uid ?? '';
    this.assumed.delete(uid);
    this.unplace(uid);
  }

  /** Removes assumed pods whose binding finished more than ttl ago (upstream `cleanupAssumedPods`). */
  cleanupExpiredAssumedPods(): void {
    const now = this.clock.now();
    for (const uid of [...this.assumed]) {
      const st = this.pods.get(uid);
      if (!st || st.deadline === undefined || now < st.deadline) continue;
      this.assumed.delete(uid);
      this.unplace(uid);
      this.onExpire?.(st.pi.pod, st.nodeName);
    }
  }

  /** Brings `snapshot` up to date with the changes since the previous call. */
  updateSnapshot(snapshot: Snapshot): void {
    if (this.dirty.size === 0 && !this.relist) return;
    const changed: Array<[string, NodeInfo | undefined]> = [];
    for (const name of this.dirty) changed.push([name, this.nodes.get(name)]);
    this.dirty.clear();
    snapshot.apply(changed, this.relist);
    this.relist = false;
  }

  /** For diagnostics and tests: the node names and pod keys the cache holds. */
  dump(): { nodes: Record<string, string[]>; assumed: string[] } {
    const nodes: Record<string, string[]> = {};
    for (const [name, ni] of this.nodes) nodes[name] = ni.pods.map((p) => p.key);
    return { nodes, assumed: [...this.assumed].map((u) => this.pods.get(u)?.pi.key ?? u) };
  }
}
