/**
 * Skiff's node agent (the kubelet): {@link startAgent} registers the node and runs its pods on a CRI-shaped runtime.
 * `skiff agent` and the agent inside `skiff server` use this entry point only.
 */
export { parseLabels, parseTaints, startAgent, type AgentOptions, type RunningAgent } from './agent.js';
export { Kubelet, type KubeletOptions } from './kubelet.js';
export { detectGpus, NodeStatusManager, nodeIP, type GpuDevice, type NodeStatusOptions } from './node-status.js';
export { ProcessRuntime, type ProcessRuntimeOptions } from './runtime/process/process-runtime.js';
export type { RuntimeService } from './runtime/types.js';
