/**
 * The StatefulSet controller as kube-controller-manager registers it (`statefulset`); see `controller.ts` for the
 * behaviour matched. `history.ts`, `pod-state.ts` and `claim.ts` are shared with the DaemonSet controller.
 */
import type { ControllerDefinition } from '../types.js';
import { newStatefulSetController } from './controller.js';

/** Registered by the controller-manager under upstream's name. */
export const definition: ControllerDefinition = {
  name: 'statefulset',
  setup: newStatefulSetController,
};
