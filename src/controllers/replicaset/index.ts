/**
 * The `replicaset` controller of kube-controller-manager, registered for Skiff's controller-manager.
 */
import type { ControllerDefinition } from '../types.js';
import { newReplicaSetController } from './replicaset-controller.js';

/** Keeps each ReplicaSet's pod count at spec.replicas (upstream `startReplicaSetController`). */
export const definition: ControllerDefinition = {
  name: 'replicaset',
  setup: (ctx) => newReplicaSetController(ctx),
};

export { BURST_REPLICAS, COMPONENT, slowStartBatch } from './replicaset-controller.js';
