/**
 * The garbage-collector controller's registration (kube-controller-manager `garbage-collector`): cascading deletion
 * of dependents (Background, Foreground, Orphan) from owner references. The apiserver only adds the
 * `foregroundDeletion`/`orphan` finalizers while this controller runs (`CoreOptions.garbageCollectorEnabled`).
 */
import type { ControllerDefinition } from '../types.js';
import { GarbageCollector, NAME } from './garbage-collector.js';

export { GarbageCollector, garbageCollectableResources, NAME, COMPONENT } from './garbage-collector.js';

/** Registered by the controller-manager as `garbage-collector`. */
export const definition: ControllerDefinition = {
  name: NAME,
  setup: (ctx) => new GarbageCollector(ctx),
};
