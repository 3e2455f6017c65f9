/**
 * PodGroup status (scheduler-plugins' PodGroup controller): phase and scheduled/running/succeeded/failed counts of a
 * gang's members (pods labelled `scheduling.x-k8s.io/pod-group: <name>`), so `kubectl get podgroups` shows where a
 * gang stands. The phase rules are the coscheduling plugin's `podGroupStatus`, shared with the scheduler.
 */
import type { Pod } from 'kubernetes-types/core/v1.js';
import { controllerFor } from '../../client/controller.js';
import { POD_GROUP_LABEL, podGroupStatus, type PodGroup } from '../../scheduler/plugins/coscheduling/coscheduling.js';
import type { ControllerDefinition } from '../types.js';
import { rfc3339 } from '../../api/time.js';
import { sameJson } from '../../util/same-json.js';

export const definition: ControllerDefinition = {
  name: 'podgroup',
  setup(ctx) {
    const groups = ctx.informers.for<PodGroup>('scheduling.x-k8s.io/v1alpha1', 'PodGroup');
    const pods = ctx.informers.for<Pod>('v1', 'Pod');
    const client = ctx.client.resource<PodGroup>('scheduling.x-k8s.io/v1alpha1', 'PodGroup');
    return controllerFor(groups, { name: 'podgroup', workers: ctx.config.workers, logger: ctx.logger('podgroup') })
      .watches(pods, (p) => {
        const g = p.metadata?.labels?.[POD_GROUP_LABEL];
        return g ? [{ namespace: p.metadata?.namespace, name: g }] : [];
      })
      .complete({
        async reconcile({ namespace, name }) {
          const pg = groups.lister.get(namespace, name);
          if (!pg) return;
          const members = pods.lister.list(namespace, `${POD_GROUP_LABEL}=${name}`);
          const status = podGroupStatus(pg, members);
          if (!pg.status?.scheduleStartTime && status.phase !== 'Pending') {
            (status as Record<string, unknown>).scheduleStartTime = rfc3339(ctx.clock.now());
          }
          if (sameJson(status, pg.status ?? {})) return;
          await client.updateStatus(namespace, { ...pg, status });
        },
      });
  },
};
