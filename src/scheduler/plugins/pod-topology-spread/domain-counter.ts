/**
 * Matching-pod counts per topology domain, kept *incrementally* across scheduling cycles. Upstream PodTopologySpread
 * recounts every pod on every node in each PreFilter/PreScore (parallelized over 16 goroutines); at 5,000 nodes that
 * recount alone would cap Skiff well below its 1,000 pods/s target on two cores. Snapshot NodeInfos are immutable — the
 * cache replaces a node's NodeInfo with a fresh clone when anything on it changes — so a counter remembers which
 * NodeInfo object it counted at each position of the node list and, on the next cycle, recounts only the positions
 * whose object changed (typically the one node the previous pod landed on). A counter is keyed by everything that
 * decides a node's contribution (namespace, selector, topology key, required keys, node inclusion policies), so the
 * replicas of one workload share it.
 */

import type { Node } from 'kubernetes-types/core/v1.js';
import { isEmpty, matches, type LabelSelector } from '../../../api/labels.js';
import type { SnapshotLister } from '../../framework/interface.js';
import type { NodeInfo, PodInfo } from '../../framework/node-info.js';

/** What one counter counts. */
export interface CounterSpec {
  namespace: string;
  selector: LabelSelector;
  topologyKey: string;
  /** Node label keys that must all exist for the node to count (upstream `nodeLabelsMatchSpreadConstraints`). */
  requiredKeys: readonly string[];
  /** The node inclusion policies (nodeAffinityPolicy / nodeTaintsPolicy) for the incoming pod. */
  eligible(node: Node): boolean;
}

/**
 * Pods in `namespace` matching `selector`, terminating pods excluded (upstream `countPodsMatchSelector`; an empty
 * selector counts nothing).
 */
export function countPodsMatchSelector(pods: readonly PodInfo[], selector: LabelSelector, namespace: string): number {
  if (isEmpty(selector) || selector.nothing) return 0;
  let n = 0;
  for (const p of pods) {
    const m = p.pod.metadata;
    if (m?.deletionTimestamp || (m?.namespace ?? '') !== namespace) continue;
    if (matches(selector, m?.labels)) n++;
  }
  return n;
}

/** See the module comment. `matchNum` holds an entry (maybe 0) for every domain with at least one eligible node. */
export class DomainCounter {
  /** domain value → matching pods on its eligible nodes. */
  readonly matchNum = new Map<string, number>();
  private readonly nodesPerDomain = new Map<string, number>();
  private refs: Array<NodeInfo | undefined> = [];
  private podLens: number[] = [];
  private domains: Array<string | undefined> = [];
  /**
   * Per position, the index of its domain in {@link domainNames} (−1 where `domains` is undefined): Filter's fast path
   * reads these small integers instead of hashing a domain string per node.
   */
  private domainIdx = new Int32Array(0);
  /** Domain index → value; an index, once given, stays (the list only grows with new domain values). */
  private readonly names: string[] = [];
  private readonly indexOf = new Map<string, number>();
  private counts: number[] = [];
  private minValue = Infinity;
  private atMin = 0;
  private minDirty = true;
  /** The snapshot (and its journal token) the counts were last synced with. */
  private synced?: { snapshot: SnapshotLister; list: readonly NodeInfo[]; token: number };

  constructor(private readonly spec: CounterSpec) {}

  /**
   * Brings the counts up to date with `nodes` (the snapshot's node list). With `snapshot` (whose `list()` is `nodes`)
   * and its change journal, only the positions replaced since the previous sync are recounted; otherwise every
   * position is compared with the NodeInfo counted there.
   */
  sync(nodes: readonly NodeInfo[], snapshot?: SnapshotLister): void {
    if (snapshot?.changedSince && snapshot.list() === nodes) {
      const prev = this.synced;
      const { changed, token } = snapshot.changedSince(prev && prev.snapshot === snapshot && prev.list === nodes ? prev.token : undefined);
      this.synced = { snapshot, list: nodes, token };
      if (changed && this.refs.length === nodes.length) {
        for (const i of changed) {
          const ni = nodes[i]!;
          if (this.refs[i] === ni && this.podLens[i] === ni.pods.length) continue;
          this.drop(i);
          this.count(i, ni);
        }
        return;
      }
    } else {
      this.synced = undefined;
    }
    const n = nodes.length;
    if (this.domainIdx.length < n) this.resizeIdx(n);
    for (let i = 0; i < n; i++) {
      const ni = nodes[i]!;
      if (this.refs[i] === ni && this.podLens[i] === ni.pods.length) continue;
      this.drop(i);
      this.count(i, ni);
    }
    for (let i = n; i < this.refs.length; i++) this.drop(i);
    this.refs.length = this.podLens.length = this.domains.length = this.counts.length = n;
    if (this.domainIdx.length !== n) this.resizeIdx(n);
  }

  private resizeIdx(n: number): void {
    const idx = new Int32Array(n).fill(-1);
    idx.set(this.domainIdx.length > n ? this.domainIdx.subarray(0, n) : this.domainIdx);
    this.domainIdx = idx;
  }

  /**
   * Per position of the node list last synced: the node's domain when it counts (has the required keys and is
   * eligible), else undefined. Live view, valid until the next sync; read-only for callers.
   */
  get domainsByPosition(): ReadonlyArray<string | undefined> {
    return this.domains;
  }

  /**
   * {@link domainsByPosition} as indexes into {@link domainNames} (−1: undefined there). Live view, valid until the
   * next sync; read-only for callers.
   */
  get domainIndexByPosition(): Int32Array {
    return this.domainIdx;
  }

  /** Domain index → domain value, for {@link domainIndexByPosition}. Live view; read-only for callers. */
  get domainNames(): readonly string[] {
    return this.names;
  }

  /** The node list the counts were last synced with (undefined when synced without a snapshot journal). */
  get syncedList(): readonly NodeInfo[] | undefined {
    return this.synced?.list;
  }

  /** The smallest count over all domains (Infinity when there is none). */
  min(): number {
    if (this.minDirty) {
      this.minValue = Infinity;
      this.atMin = 0;
      for (const v of this.matchNum.values()) {
        if (v < this.minValue) {
          this.minValue = v;
          this.atMin = 1;
        } else if (v === this.minValue) this.atMin++;
      }
      this.minDirty = false;
    }
    return this.minValue;
  }

  private drop(i: number): void {
    const d = this.domains[i];
    this.refs[i] = undefined;
    this.domains[i] = undefined;
    if (i < this.domainIdx.length) this.domainIdx[i] = -1;
    if (d === undefined) return;
    const nodes = this.nodesPerDomain.get(d)! - 1;
    if (nodes === 0) {
      this.nodesPerDomain.delete(d);
      this.matchNum.delete(d);
      this.minDirty = true;
    } else {
      this.nodesPerDomain.set(d, nodes);
      this.add(d, -this.counts[i]!);
    }
  }

  private count(i: number, ni: NodeInfo): void {
    this.refs[i] = ni;
    this.podLens[i] = ni.pods.length;
    const node = ni.node;
    const labels = node?.metadata?.labels;
    if (!node || !labels) return;
    for (const k of this.spec.requiredKeys) if (labels[k] === undefined) return;
    if (!this.spec.eligible(node)) return;
    const d = labels[this.spec.topologyKey] ?? '';
    const c = countPodsMatchSelector(ni.pods, this.spec.selector, this.spec.namespace);
    this.domains[i] = d;
    this.counts[i] = c;
    let di = this.indexOf.get(d);
    if (di === undefined) {
      di = this.names.length;
      this.names.push(d);
      this.indexOf.set(d, di);
    }
    if (i >= this.domainIdx.length) this.resizeIdx(i + 1);
    this.domainIdx[i] = di;
    const nodes = this.nodesPerDomain.get(d) ?? 0;
    this.nodesPerDomain.set(d, nodes + 1);
    if (nodes === 0) {
      this.matchNum.set(d, 0);
      this.noteChange(Infinity, 0);
    }
    this.add(d, c);
  }

  private add(d: string, delta: number): void {
    if (delta === 0) return;
    const old = this.matchNum.get(d)!;
    this.matchNum.set(d, old + delta);
    this.noteChange(old, old + delta);
  }

  /** Keeps `min` current in O(1) unless the last domain at the minimum grew. */
  private noteChange(old: number, now: number): void {
    if (this.minDirty) return;
    if (now < this.minValue) {
      this.minValue = now;
      this.atMin = 1;
    } else if (now === this.minValue && old !== now) this.atMin++;
    if (old === this.minValue && now !== old && --this.atMin === 0) this.minDirty = true;
  }
}
