/**
 * TaintToleration (upstream `plugins/tainttoleration`): Filter rejects nodes with a `NoSchedule` or `NoExecute`
 * taint the pod does not tolerate — "node(s) had untolerated taint {key: value}", UnschedulableAndUnresolvable since
 * preemption cannot remove a taint. Score prefers nodes with fewer untolerated `PreferNoSchedule` taints: the raw
 * score is their count and the normalization is reversed (fewest → 100).
 */

import type { Node, Pod, Taint, Toleration } from 'kubernetes-types/core/v1.js';
import {
  ActionType, CycleState, MAX_NODE_SCORE, Status,
  type ClusterEventWithHint, type EnqueueExtensions, type FastFilter, type FilterPlugin, type NodeInfo, type NodePositions, type NodeScore,
  type PreScorePlugin, type ScorePlugin,
} from '../../framework/interface.js';
import { NT_FILTER_TAINTS, NT_PREFER_TAINTS } from '../../framework/node-info.js';
import { findUntoleratedTaint, tolerationsTolerateTaint } from '../../framework/helpers.js';
import { defaultNormalizeScore } from '../../framework/runtime.js';

export const NAME = 'TaintToleration';
const PRE_SCORE_KEY = `PreScore${NAME}`;

/** Upstream's filter reason for the first untolerated taint. */
export const untoleratedTaintReason = (t: Taint) => `node(s) had untolerated taint {${t.key}: ${t.value ?? ''}}`;
/** Upstream `ErrReasonNotMatch`, kept for callers that do not name the taint. */
export const REASON_NOT_MATCH = "node(s) had taints that the pod didn't tolerate";

const filterEffects = (t: Taint) => t.effect === 'NoSchedule' || t.effect === 'NoExecute';

/** Filter's fast path: a node without NoSchedule/NoExecute taints passes (others go through filter). */
const noFilterTaints: FastFilter = (t, i) => (t.flags[i]! & NT_FILTER_TAINTS) === 0;

/** Builds the plugin. */
export function newTaintToleration() {
  return {
    name: NAME,
    filter(_state: CycleState, pod: Pod, ni: NodeInfo): Status | null {
      const taint = findUntoleratedTaint(ni.taints, pod.spec?.tolerations, filterEffects);
      return taint ? Status.unresolvable(untoleratedTaintReason(taint)) : null;
    },
    filterFast: () => noFilterTaints,
    preScore(state: CycleState, pod: Pod, nodes: readonly NodeInfo[] = [], at?: NodePositions): Status | null {
      // No feasible node has a PreferNoSchedule taint: every node would score the same (the maximum after the
      // reversed normalization), which cannot change the choice — skip scoring 500 nodes for a constant. The
      // NodeTable's flags answer without reading each NodeInfo.
      let any = false;
      if (at) {
        const { table, positions } = at;
        for (let i = 0; i < positions.length && !any; i++) if (table.flags[positions[i]!]! & NT_PREFER_TAINTS) any = true;
      } else {
        for (let i = 0; i < nodes.length && !any; i++) {
          const taints = nodes[i]!.taints;
          if (taints) for (const t of taints) if (t.effect === 'PreferNoSchedule') any = true;
        }
      }
      if (!any && nodes.length > 0) return Status.skip();
      // Only tolerations that can apply to PreferNoSchedule taints matter (upstream `getAllTolerationPreferNoSchedule`).
      const tols = (pod.spec?.tolerations ?? []).filter((t: Toleration) => !t.effect || t.effect === 'PreferNoSchedule');
      state.write(PRE_SCORE_KEY, tols);
      return null;
    },
    score(state: CycleState, pod: Pod, ni: NodeInfo): number {
      const tols = state.read<Toleration[]>(PRE_SCORE_KEY) ?? pod.spec?.tolerations ?? [];
      let n = 0;
      for (const taint of ni.taints ?? []) {
        if (taint.effect !== 'PreferNoSchedule') continue;
        if (!tolerationsTolerateTaint(tols, taint)) n++;
      }
      return n;
    },
    normalizeScore(_state: CycleState, _pod: Pod, scores: NodeScore[]): Status | null {
      defaultNormalizeScore(MAX_NODE_SCORE, true, scores);
      return null;
    },
    eventsToRegister(): ClusterEventWithHint[] {
      return [
        {
          event: { resource: 'Node', actionType: ActionType.Add | ActionType.UpdateNodeTaint, label: 'NodeAddOrTaintChange' },
          // Requeue only when the new node's taints are all tolerated (upstream `isSchedulableAfterNodeChange`).
          hint: (pod, _old, newObj) =>
            findUntoleratedTaint((newObj as Node | undefined)?.spec?.taints, pod.spec?.tolerations, filterEffects) ? 'QueueSkip' : 'Queue',
        },
        { event: { resource: 'Pod', actionType: ActionType.UpdatePodTolerations, label: 'PodTolerationsChange' } },
      ];
    },
  } satisfies FilterPlugin & PreScorePlugin & ScorePlugin & EnqueueExtensions;
}
