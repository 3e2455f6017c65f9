/**
 * The in-tree plugin registry and the default profile (upstream `plugins/registry.go` and the v1 config defaults
 * `getDefaultPlugins`): the plugins enabled for `default-scheduler`, in upstream's order, with upstream's score
 * weights (TaintToleration 3, NodeAffinity 2, NodeResourcesFit 1, NodeResourcesBalancedAllocation 1). Later plugins
 * (InterPodAffinity, PodTopologySpread, DefaultPreemption, gang scheduling) register here too.
 */

import type { PluginConfig, Profile } from '../framework/interface.js';
import type { Registry } from '../framework/runtime.js';
import { newCoscheduling, NAME as Coscheduling } from './coscheduling/index.js';
import { newDefaultBinder, NAME as DefaultBinder } from './default-binder/index.js';
import { newDefaultPreemption, NAME as DefaultPreemption } from './default-preemption/index.js';
import { newNodeAffinity, NAME as NodeAffinity } from './node-affinity/index.js';
import { newNodeName, NAME as NodeName } from './node-name/index.js';
import { newBalancedAllocation, NAME as NodeResourcesBalancedAllocation, type BalancedAllocationArgs } from './node-resources-balanced-allocation/index.js';
import { newNodeResourcesFit, NAME as NodeResourcesFit, type NodeResourcesFitArgs } from './node-resources-fit/index.js';
import { newNodeUnschedulable, NAME as NodeUnschedulable } from './node-unschedulable/index.js';
import { newPrioritySort, NAME as PrioritySort } from './priority-sort/index.js';
import { newTaintToleration, NAME as TaintToleration } from './taint-toleration/index.js';
import { newInterPodAffinity, NAME as InterPodAffinity, type InterPodAffinityArgs, type NamespaceLister } from './inter-pod-affinity/index.js';
import { newPodTopologySpread, NAME as PodTopologySpread, type PodTopologySpreadArgs } from './pod-topology-spread/index.js';

/** Every in-tree plugin by name. */
export function inTreeRegistry(): Registry {
  return {
    [PrioritySort]: () => newPrioritySort(),
    [NodeUnschedulable]: () => newNodeUnschedulable(),
    [NodeName]: () => newNodeName(),
    [TaintToleration]: () => newTaintToleration(),
    [NodeAffinity]: (_args, handle) => newNodeAffinity(handle),
    [NodeResourcesFit]: (args) => newNodeResourcesFit(args as NodeResourcesFitArgs | undefined),
    [NodeResourcesBalancedAllocation]: (args) => newBalancedAllocation(args as BalancedAllocationArgs | undefined),
    [PodTopologySpread]: (args, handle) => newPodTopologySpread(args as PodTopologySpreadArgs | undefined, handle),
    // `namespaceLister` (upstream's shared Namespace lister, not a config field) resolves namespaceSelector terms.
    [InterPodAffinity]: (args, handle) => newInterPodAffinity(args as InterPodAffinityArgs | undefined, handle, (args as { namespaceLister?: NamespaceLister } | undefined)?.namespaceLister),
    [DefaultBinder]: (_args, handle) => newDefaultBinder(handle),
    [DefaultPreemption]: (args, handle) => newDefaultPreemption(args, handle),
    [Coscheduling]: (args, handle) => newCoscheduling(args, handle),
  };
}

/** Upstream's default multiPoint plugin list (the part Skiff implements), in order. */
export const DEFAULT_PLUGINS: readonly PluginConfig[] = [
  // No PrioritySort: Coscheduling is the QueueSort (as scheduler-plugins configures it) — for pods without a group
  // its order is PrioritySort's (priority, then queue time); members of one PodGroup sort together.
  { name: NodeUnschedulable },
  { name: NodeName },
  { name: TaintToleration, weight: 3 },
  { name: NodeAffinity, weight: 2 },
  { name: NodeResourcesFit, weight: 1 },
  { name: PodTopologySpread, weight: 2 },
  { name: InterPodAffinity, weight: 2 },
  { name: NodeResourcesBalancedAllocation, weight: 1 },
  // Gang scheduling; before DefaultPreemption so a group that cannot be completed preempts nobody.
  { name: Coscheduling },
  { name: DefaultPreemption },
  { name: DefaultBinder },
];

/** Upstream's scheduler name for the default profile. */
export const DEFAULT_SCHEDULER_NAME = 'default-scheduler';

/** The default profile, optionally with per-plugin overrides (args, weights) merged in by name. */
export function defaultProfile(overrides: { plugins?: PluginConfig[]; percentageOfNodesToScore?: number } = {}): Profile {
  const plugins = DEFAULT_PLUGINS.map((p) => ({ ...p, ...(overrides.plugins?.find((o) => o.name === p.name) ?? {}) }));
  for (const o of overrides.plugins ?? []) if (!plugins.some((p) => p.name === o.name)) plugins.push(o);
  return { schedulerName: DEFAULT_SCHEDULER_NAME, plugins, percentageOfNodesToScore: overrides.percentageOfNodesToScore };
}
