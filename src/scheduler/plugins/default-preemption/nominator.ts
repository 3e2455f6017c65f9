/**
 * Which unbound pods were promised which node by preemption (upstream `PodNominator` in the scheduling queue): fed by
 * the PostFilter result of this scheduler and by `status.nominatedNodeName` of pending pods seen through the informer
 * (another replica's nomination), cleared when the pod binds, is deleted or loses its nomination. Filter consults it
 * through `Handle.nominatedPodsForNode` so capacity freed for a preemptor is not taken by equal or lower priority pods.
 */
import type { Pod } from 'kubernetes-types/core/v1.js';
import { PodInfo } from '../../framework/node-info.js';

const EMPTY: readonly PodInfo[] = [];
const uidOf = (p: Pod) => p.metadata?.uid ?? `${p.metadata?.namespace}/${p.metadata?.name}`;

/** See the module comment. */
export class Nominator {
  private readonly byNode = new Map<string, PodInfo[]>();
  private readonly nodeOf = new Map<string, string>();

  /** Number of nominated pods (the scheduler skips the nominated-pods filter pass while it is 0). */
  get size(): number {
    return this.nodeOf.size;
  }

  /** Records `pod` as nominated to `nodeName` (replacing an earlier nomination); `''`/undefined removes it. */
  add(pod: Pod, nodeName: string | undefined): void {
    this.delete(pod);
    if (!nodeName || pod.spec?.nodeName) return;
    const pi = new PodInfo(pod);
    this.nodeOf.set(pi.uid, nodeName);
    const list = this.byNode.get(nodeName);
    if (list) list.push(pi);
    else this.byNode.set(nodeName, [pi]);
  }

  /** An informer add/update of an unbound pod: follows its status.nominatedNodeName (upstream `AddNominatedPod` on update). */
  update(pod: Pod): void {
    const nnn = pod.status?.nominatedNodeName;
    if (pod.spec?.nodeName || pod.metadata?.deletionTimestamp || !nnn) return this.delete(pod);
    if (this.nodeOf.get(uidOf(pod)) === nnn) return;
    this.add(pod, nnn);
  }

  delete(pod: Pod): void {
    const uid = uidOf(pod);
    const node = this.nodeOf.get(uid);
    if (node === undefined) return;
    this.nodeOf.delete(uid);
    const list = this.byNode.get(node)?.filter((p) => p.uid !== uid) ?? [];
    if (list.length) this.byNode.set(node, list);
    else this.byNode.delete(node);
  }

  /** The node `pod` is nominated to, if any. */
  nominatedNode(pod: Pod): string | undefined {
    return this.nodeOf.get(uidOf(pod));
  }

  podsForNode(nodeName: string): readonly PodInfo[] {
    return this.byNode.get(nodeName) ?? EMPTY;
  }
}
