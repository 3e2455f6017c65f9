/** The EndpointSlice controller (upstream `pkg/controller/endpointslice`); see `endpointslice-controller.ts`. */
import { endpointSliceControllerDefinition } from './endpointslice-controller.js';

/** Registered by the controller-manager as `endpointslice`, upstream's name. */
export const definition = endpointSliceControllerDefinition;
export {
  CONTROLLER_NAME, LABEL_MANAGED_BY, LABEL_SERVICE_NAME, MAX_ENDPOINTS_PER_SLICE, planSlices, podEndpointPorts, podToEndpoint,
  sliceLabels, type SlicePlan,
} from './endpointslice-controller.js';
