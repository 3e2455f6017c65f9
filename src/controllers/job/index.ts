/**
 * The Job controller as the controller-manager registers it (kube-controller-manager's `job` controller), with
 * upstream's defaults (10 s Pod failure backoff doubling to 10 min).
 */
import { createJobController } from './job-controller.js';

export { createJobController, isJobFinished, type JobControllerOptions } from './job-controller.js';

/** The `job` controller with upstream defaults. */
export const definition = createJobController();
