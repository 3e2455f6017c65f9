/**
 * The `deployment` controller of kube-controller-manager, registered for Skiff's controller-manager. It needs the
 * `replicaset` controller to turn ReplicaSets into pods.
 */
import type { ControllerDefinition } from '../types.js';
import { newDeploymentController } from './deployment-controller.js';

/** Rolls Deployments out through ReplicaSets (upstream `startDeploymentController`). */
export const definition: ControllerDefinition = {
  name: 'deployment',
  setup: (ctx) => newDeploymentController(ctx),
};

export { COMPONENT } from './deployment-controller.js';
export { computeHash, SAFE_ALPHABET } from './util.js';
