/**
 * The service-lb controller's registration: LoadBalancer Services get the nodes' addresses as their status (the
 * k3s servicelb idea, without proxy pods).
 */
import type { ControllerDefinition } from '../types.js';
import { NAME, newServiceLBController } from './servicelb-controller.js';

export { NAME, EXCLUDE_LABEL, ingressFor, servesService, newServiceLBController } from './servicelb-controller.js';

/** Registered by the controller-manager as `service-lb`. */
export const definition: ControllerDefinition = {
  name: NAME,
  setup: (ctx) => newServiceLBController(ctx),
};
