/**
 * Every controller the controller-manager runs, in kube-controller-manager's naming. Each lives in its own folder
 * and exports a ControllerDefinition.
 */
import type { ControllerDefinition } from './types.js';

export const ALL_CONTROLLERS: ControllerDefinition[] = [];

export { ControllerManager } from './manager.js';
export type { ControllerDefinition, ControllerContext, ControllerManagerConfig, Runnable } from './types.js';
