/**
 * NodeName (upstream `plugins/nodename`): a pod that names a node in `spec.nodeName` fits only that node. The
 * scheduler only picks up pods without a nodeName, so this matters for preemption and simulations, as upstream.
 */

import type { Pod } from 'kubernetes-types/core/v1.js';
import { ActionType, CycleState, Status, type ClusterEventWithHint, type EnqueueExtensions, type FilterPlugin, type NodeInfo } from '../../framework/interface.js';

export const NAME = 'NodeName';
/** Upstream `ErrReason`. */
export const REASON = "node(s) didn't match the requested node name";

/** Upstream `Fits`. */
export function fits(pod: Pod, ni: NodeInfo): boolean {
  const want = pod.spec?.nodeName;
  return !want || want === ni.name;
}

/** Builds the plugin. */
export function newNodeName() {
  return {
    name: NAME,
    filter(_state: CycleState, pod: Pod, ni: NodeInfo): Status | null {
      return fits(pod, ni) ? null : Status.unresolvable(REASON);
    },
    /** Without spec.nodeName every node passes; with one, no fast path. */
    filterFast: (_state: CycleState, pod: Pod) => (pod.spec?.nodeName ? undefined : null),
    eventsToRegister(): ClusterEventWithHint[] {
      return [{ event: { resource: 'Node', actionType: ActionType.Add, label: 'NodeAdd' } }];
    },
  } satisfies FilterPlugin & EnqueueExtensions;
}
