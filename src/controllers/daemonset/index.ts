/**
 * The DaemonSet controller as kube-controller-manager registers it (`daemonset`); see `controller.ts` for the
 * behaviour matched and `eligibility.ts` for which nodes get a pod.
 */
import type { ControllerDefinition } from '../types.js';
import { newDaemonSetController, type DaemonSetControllerOptions } from './controller.js';

export type { DaemonSetControllerOptions } from './controller.js';

/**
 * A DaemonSet controller definition. `bindDirectly: true` also sets `spec.nodeName` on the pods it creates, for a
 * cluster without a scheduler; the default (false) keeps upstream behaviour since 1.12: pods carry only a required
 * `metadata.name` node affinity and the scheduler binds them.
 */
export function createDaemonSetController(opts: DaemonSetControllerOptions = {}): ControllerDefinition {
  return { name: 'daemonset', setup: (ctx) => newDaemonSetController(ctx, opts) };
}

/** Registered by the controller-manager under upstream's name, with upstream behaviour (the scheduler binds). */
export const definition: ControllerDefinition = createDaemonSetController();
