/** The Endpoints controller (upstream `pkg/controller/endpoint`); see `endpoints-controller.ts`. */
import { endpointsControllerDefinition } from './endpoints-controller.js';

/** Registered by the controller-manager as `endpoint`, upstream's name. */
export const definition = endpointsControllerDefinition;
export { desiredSubsets, repackSubsets, HEADLESS_LABEL, LAST_CHANGE_TRIGGER_TIME } from './endpoints-controller.js';
