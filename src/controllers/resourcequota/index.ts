/** The ResourceQuota controller (upstream `pkg/controller/resourcequota`); see `resourcequota-controller.ts`. */
import { resourceQuotaControllerDefinition } from './resourcequota-controller.js';

/** Registered by the controller-manager as `resourcequota`, upstream's name. */
export const definition = resourceQuotaControllerDefinition;
export {
  calculateUsage, isBestEffort, isExtendedResourceName, podMatchesScope, podResources, podUsage, podUsesComputeQuota,
  quotaScopes, type ObjectSource, type ScopeRequirement,
} from './usage.js';
