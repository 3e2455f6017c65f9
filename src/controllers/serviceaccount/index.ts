/**
 * The serviceaccount controller's registration (kube-controller-manager `serviceaccount`): a `default`
 * ServiceAccount in every active namespace.
 */
import type { ControllerDefinition } from '../types.js';
import { NAME, newServiceAccountsController } from './serviceaccount-controller.js';

export { NAME, SERVICE_ACCOUNTS, newServiceAccountsController } from './serviceaccount-controller.js';

/** Registered by the controller-manager as `serviceaccount`. */
export const definition: ControllerDefinition = {
  name: NAME,
  setup: (ctx) => newServiceAccountsController(ctx),
};
