/** The PodDisruptionBudget controller (upstream `pkg/controller/disruption`); see `disruption-controller.ts`. */
import { disruptionControllerDefinition } from './disruption-controller.js';

/** Registered by the controller-manager as `disruption`, upstream's name. */
export const definition = disruptionControllerDefinition;
export { expectedCounts, scaledValue } from './disruption-controller.js';
