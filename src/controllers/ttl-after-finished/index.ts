/**
 * The ttl-after-finished controller's registration (kube-controller-manager `ttl-after-finished`): finished Jobs
 * with `ttlSecondsAfterFinished` are deleted once their TTL expires.
 */
import type { ControllerDefinition } from '../types.js';
import { NAME, newTTLAfterFinishedController } from './ttl-after-finished.js';

export { isJobFinished, jobFinishTime, NAME, needsCleanup, newTTLAfterFinishedController, timeLeft } from './ttl-after-finished.js';

/** Registered by the controller-manager as `ttl-after-finished`. */
export const definition: ControllerDefinition = {
  name: NAME,
  setup: (ctx) => newTTLAfterFinishedController(ctx),
};
