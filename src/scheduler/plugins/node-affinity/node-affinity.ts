/**
 * NodeAffinity (upstream `plugins/nodeaffinity`): Filter requires `spec.nodeSelector` and the required
 * `nodeAffinity` terms (terms ORed, expressions within a term ANDed; `matchFields` on `metadata.name`) to match the
 * node — "node(s) didn't match Pod's node affinity/selector", UnschedulableAndUnresolvable. PreFilter compiles the
 * selectors once per pod and, when every required term pins `metadata.name`, narrows the nodes to those names (as
 * upstream's PreFilterResult). Score sums the weights of matching preferred terms, normalized to 0–100.
 */

import type { Node, NodeSelectorTerm, Pod } from 'kubernetes-types/core/v1.js';
import {
  ActionType, CycleState, MAX_NODE_SCORE, Status,
  type ClusterEventWithHint, type EnqueueExtensions, type FastFilter, type FilterPlugin, type Handle, type NodeInfo, type NodeScore,
  type PreFilterPlugin, type PreFilterResult, type PreScorePlugin, type ScorePlugin,
} from '../../framework/interface.js';
import { CompiledPreferredTerms, RequiredNodeAffinity } from '../../framework/helpers.js';
import { defaultNormalizeScore } from '../../framework/runtime.js';

export const NAME = 'NodeAffinity';
const PRE_FILTER_KEY = `PreFilter${NAME}`;
const PRE_SCORE_KEY = `PreScore${NAME}`;

/** Upstream `ErrReasonPod`. */
export const REASON_POD = "node(s) didn't match Pod's node affinity/selector";

/** Node names every required term pins through `matchFields metadata.name In`, or undefined (upstream PreFilter). */
function pinnedNodeNames(terms: readonly NodeSelectorTerm[]): Set<string> | undefined {
  let names: Set<string> | undefined;
  for (const t of terms) {
    let termNames: Set<string> | undefined;
    for (const f of t.matchFields ?? []) {
      if (f.key !== 'metadata.name' || f.operator !== 'In') continue;
      const vals = new Set(f.values ?? []);
      termNames = termNames ? new Set([...termNames].filter((n) => vals.has(n))) : vals;
    }
    if (!termNames) return undefined; // a term without a name pin can match any node
    names = names ?? new Set();
    for (const n of termNames) names.add(n);
  }
  return names;
}

/** Builds the plugin. `handle.snapshot().table` serves Filter's fast path (label columns). */
export function newNodeAffinity(handle?: Pick<Handle, 'snapshot'>) {
  const requiredOf = (state: CycleState, pod: Pod): RequiredNodeAffinity => {
    let r = state.read<RequiredNodeAffinity>(PRE_FILTER_KEY);
    if (!r) {
      r = new RequiredNodeAffinity(pod);
      state.write(PRE_FILTER_KEY, r);
    }
    return r;
  };
  return {
    name: NAME,
    preFilter(state: CycleState, pod: Pod): { status: Status | null; result?: PreFilterResult } {
      const req = new RequiredNodeAffinity(pod);
      if (req.empty) return { status: Status.skip() };
      state.write(PRE_FILTER_KEY, req);
      const terms = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
      const names = terms?.length ? pinnedNodeNames(terms) : undefined;
      if (names && names.size === 0) return { status: Status.unresolvable(REASON_POD) };
      return { status: null, result: names ? { nodeNames: names } : undefined };
    },
    filter(state: CycleState, pod: Pod, ni: NodeInfo): Status | null {
      const node = ni.node;
      if (!node) return Status.unresolvable(REASON_POD);
      return requiredOf(state, pod).match(node) ? null : Status.unresolvable(REASON_POD);
    },
    /**
     * Fast path for a pod with only a nodeSelector: a node whose label columns carry every key with the wanted value
     * passes; any other node goes through filter. Pods with required node affinity terms have none.
     */
    filterFast(_state: CycleState, pod: Pod): FastFilter | undefined {
      const table = handle?.snapshot().table;
      if (!table || pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution) return undefined;
      const sel = Object.entries(pod.spec?.nodeSelector ?? {});
      const cols = sel.map(([k]) => table.column(k));
      const vals = sel.map(([, v]) => v);
      return (_t, i) => {
        for (let k = 0; k < cols.length; k++) if (cols[k]![i] !== vals[k]) return false;
        return true;
      };
    },
    preScore(state: CycleState, pod: Pod): Status | null {
      const prefs = pod.spec?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
      const compiled = new CompiledPreferredTerms(prefs);
      if (compiled.empty) return Status.skip();
      state.write(PRE_SCORE_KEY, compiled);
      return null;
    },
    score(state: CycleState, pod: Pod, ni: NodeInfo): number {
      const c = state.read<CompiledPreferredTerms>(PRE_SCORE_KEY) ?? new CompiledPreferredTerms(pod.spec?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []);
      return ni.node ? c.score(ni.node) : 0;
    },
    normalizeScore(_state: CycleState, _pod: Pod, scores: NodeScore[]): Status | null {
      defaultNormalizeScore(MAX_NODE_SCORE, false, scores);
      return null;
    },
    eventsToRegister(): ClusterEventWithHint[] {
      return [{
        event: { resource: 'Node', actionType: ActionType.Add | ActionType.UpdateNodeLabel, label: 'NodeAddOrLabelChange' },
        // Requeue only when the new node matches (upstream `isSchedulableAfterNodeChange`).
        hint: (pod, _old, newObj) => (newObj && new RequiredNodeAffinity(pod).match(newObj as Node) ? 'Queue' : 'QueueSkip'),
      }];
    },
  } satisfies PreFilterPlugin & FilterPlugin & PreScorePlugin & ScorePlugin & EnqueueExtensions;
}
