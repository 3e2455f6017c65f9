/** The node lifecycle controller and taint manager (upstream `pkg/controller/nodelifecycle`, `tainteviction`). */
import { nodeLifecycleControllerDefinition } from './node-lifecycle-controller.js';

/** Registered by the controller-manager as `node-lifecycle`, upstream's name. */
export const definition = nodeLifecycleControllerDefinition;
export { NODE_LEASE_NAMESPACE, unknownConditions } from './node-lifecycle-controller.js';
export {
  desiredTaints, effectiveTolerations, MANAGED_TAINTS, noExecuteDecision, reconcileTaints, toleratesTaint,
  TAINT_NOT_READY, TAINT_UNREACHABLE, TAINT_UNSCHEDULABLE,
} from './taints.js';
