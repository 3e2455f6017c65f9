/**
 * NodeUnschedulable (upstream `plugins/nodeunschedulable`): a cordoned node (`spec.unschedulable: true`, what
 * `kubectl cordon` sets) takes only pods that tolerate the `node.kubernetes.io/unschedulable:NoSchedule` taint
 * (DaemonSet pods get that toleration). UnschedulableAndUnresolvable: preemption cannot uncordon a node.
 */

import type { Node, Pod, Taint } from 'kubernetes-types/core/v1.js';
import { ActionType, CycleState, Status, type ClusterEventWithHint, type EnqueueExtensions, type FastFilter, type FilterPlugin, type NodeInfo } from '../../framework/interface.js';
import { NT_UNSCHEDULABLE } from '../../framework/node-info.js';
import { tolerationsTolerateTaint } from '../../framework/helpers.js';

export const NAME = 'NodeUnschedulable';
/** Upstream `ErrReasonUnschedulable`. */
export const REASON_UNSCHEDULABLE = 'node(s) were unschedulable';
/** Upstream `ErrReasonUnknownCondition`: the NodeInfo has no Node object. */
export const REASON_UNKNOWN_CONDITION = 'node(s) had unknown conditions';
/** The taint a cordoned node is treated as having (upstream `v1.TaintNodeUnschedulable`). */
export const TAINT_NODE_UNSCHEDULABLE: Taint = { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' };

/** Filter's fast path: a schedulable node passes (a cordoned one goes through filter for the toleration check). */
const schedulable: FastFilter = (t, i) => (t.flags[i]! & NT_UNSCHEDULABLE) === 0;

/** Builds the plugin. */
export function newNodeUnschedulable() {
  return {
    name: NAME,
    filter(_state: CycleState, pod: Pod, ni: NodeInfo): Status | null {
      const node = ni.node;
      if (!node) return Status.unresolvable(REASON_UNKNOWN_CONDITION);
      if (!ni.unschedulable) return null; // NodeInfo's copy of spec.unschedulable: no Node/spec dereference per node
      return tolerationsTolerateTaint(pod.spec?.tolerations, TAINT_NODE_UNSCHEDULABLE) ? null : Status.unresolvable(REASON_UNSCHEDULABLE);
    },
    filterFast: () => schedulable,
    eventsToRegister(): ClusterEventWithHint[] {
      return [{
        event: { resource: 'Node', actionType: ActionType.Add | ActionType.UpdateNodeTaint, label: 'NodeAddOrTaintChange' },
        // Only a node that is (now) schedulable can help (upstream `isSchedulableAfterNodeChange`).
        hint: (_pod, _old, newObj) => ((newObj as Node | undefined)?.spec?.unschedulable ? 'QueueSkip' : 'Queue'),
      }];
    },
  } satisfies FilterPlugin & EnqueueExtensions;
}
