/**
 * The namespace controller's registration (kube-controller-manager `namespace`): empties and finalizes namespaces
 * marked for deletion.
 */
import type { ControllerDefinition } from '../types.js';
import { NAME, newNamespaceController } from './namespace-controller.js';

export { CONDITION_TYPES, FINALIZER_KUBERNETES, NAME, NamespaceDeleter, namespacedDeletableResources, newNamespaceController } from './namespace-controller.js';

/** Registered by the controller-manager as `namespace`. */
export const definition: ControllerDefinition = {
  name: NAME,
  setup: (ctx) => newNamespaceController(ctx),
};
