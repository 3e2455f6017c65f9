/** The CronJob controller as the controller-manager registers it (kube-controller-manager's `cronjob`). */
import { createCronJobController } from './cronjob-controller.js';

export { createCronJobController, SCHEDULED_TIMESTAMP_ANNOTATION } from './cronjob-controller.js';
export { parseSchedule, type Schedule } from './schedule.js';

/** The `cronjob` controller. */
export const definition = createCronJobController();
