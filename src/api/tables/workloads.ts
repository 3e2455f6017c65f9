/**
 * Printers for apps/v1 and batch/v1 kinds, as kube-apiserver's internal printers render them. Replica counts
 * default the way the v1 API defaults them (spec.replicas = 1), since stored objects are read before any
 * conversion to the internal types upstream prints from.
 */

import type { KObject } from '../errors.js';
import { formatLabels, formatLabelSelector, labelSelectorToString, selectorFromLabelSelectorObject } from '../labels.js';
import { humanDuration, parseTime, since } from './duration.js';
import type { Printer } from './types.js';
import { AGE_COL, arr, boolPtr, col, CONTAINERS_COL, containerCells, IMAGES_COL, n, NAME_COL, s } from './util.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

const age = (o: KObject, now: number) => since(o.metadata?.creationTimestamp, now);
const nm = (o: KObject) => s(o.metadata?.name);
const replicas = (spec: Any) => (typeof spec?.replicas === 'number' ? n(spec.replicas) : 1);

/** Deployment SELECTOR: the selector's string form, `<invalid>` if it does not convert (no `<none>`). */
function deploymentSelector(sel: unknown): string {
  try {
    return labelSelectorToString(selectorFromLabelSelectorObject(sel as Any));
  } catch {
    return '<invalid>';
  }
}

function jobCondition(job: KObject, type: string): boolean {
  for (const c of arr<Any>(job.status?.conditions)) if (c?.type === type) return c.status === 'True';
  return false;
}

function printJob(job: KObject, now: number) {
  const spec = job.spec ?? {};
  const st = job.status ?? {};
  const succeeded = n(st.succeeded);
  let completions: string;
  if (typeof spec.completions === 'number') completions = `${succeeded}/${n(spec.completions)}`;
  else {
    const parallelism = n(spec.parallelism);
    completions = parallelism > 1 ? `${succeeded}/1 of ${parallelism}` : `${succeeded}/1`;
  }
  let duration = '';
  const start = parseTime(st.startTime);
  if (start !== undefined) {
    const end = parseTime(st.completionTime);
    duration = humanDuration((end ?? now) - start);
  }
  let status: string;
  if (jobCondition(job, 'Complete')) status = 'Complete';
  else if (jobCondition(job, 'Failed')) status = 'Failed';
  else if (job.metadata?.deletionTimestamp != null) status = 'Terminating';
  else if (jobCondition(job, 'Suspended')) status = 'Suspended';
  else if (jobCondition(job, 'FailureTarget')) status = 'FailureTarget';
  else status = 'Running';
  const [names, images] = containerCells(spec.template?.spec?.containers);
  return { cells: [nm(job), status, completions, duration, age(job, now), names, images, formatLabelSelector(spec.selector)] };
}

function printCronJob(cj: KObject, now: number) {
  const spec = cj.spec ?? {};
  const last = cj.status?.lastScheduleTime != null ? since(cj.status.lastScheduleTime, now) : '<none>';
  const jobSpec = spec.jobTemplate?.spec ?? {};
  const [names, images] = containerCells(jobSpec.template?.spec?.containers);
  return {
    cells: [
      nm(cj),
      s(spec.schedule),
      typeof spec.timeZone === 'string' ? spec.timeZone : '<none>',
      boolPtr(spec.suspend),
      arr(cj.status?.active).length,
      last,
      age(cj, now),
      names,
      images,
      formatLabelSelector(jobSpec.selector),
    ],
  };
}

/** `statefulset.apps/web` for a controller owner reference (upstream formatResourceName with kind). */
function controllerName(obj: KObject): string {
  const ref = arr<Any>(obj.metadata?.ownerReferences).find((r) => r?.controller === true);
  if (!ref) return '<none>';
  const apiVersion = s(ref.apiVersion);
  const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
  const kind = s(ref.kind);
  if (!kind && !group) return s(ref.name);
  return `${(group ? `${kind}.${group}` : kind).toLowerCase()}/${s(ref.name)}`;
}

/** Printers keyed by `group/Kind`. */
export const WORKLOAD_PRINTERS: Record<string, Printer> = {
  'apps/Deployment': {
    columns: [
      NAME_COL,
      col('Ready', 'string', 'Number of the pod with ready state'),
      col('Up-to-date', 'string', 'apps.DeploymentStatus.updatedReplicas'),
      col('Available', 'string', 'apps.DeploymentStatus.availableReplicas'),
      AGE_COL,
      CONTAINERS_COL,
      IMAGES_COL,
      col('Selector', 'string', 'apps.DeploymentSpec.selector', { priority: 1 }),
    ],
    print: (d, now) => {
      const st = d.status ?? {};
      const [names, images] = containerCells(d.spec?.template?.spec?.containers);
      return {
        cells: [nm(d), `${n(st.readyReplicas)}/${replicas(d.spec)}`, n(st.updatedReplicas), n(st.availableReplicas), age(d, now), names, images, deploymentSelector(d.spec?.selector)],
      };
    },
  },
  'apps/ReplicaSet': {
    columns: [
      NAME_COL,
      col('Desired', 'integer', 'apps.ReplicaSetSpec.replicas'),
      col('Current', 'integer', 'apps.ReplicaSetStatus.replicas'),
      col('Ready', 'integer', 'apps.ReplicaSetStatus.readyReplicas'),
      AGE_COL,
      CONTAINERS_COL,
      IMAGES_COL,
      col('Selector', 'string', 'apps.ReplicaSetSpec.selector', { priority: 1 }),
    ],
    print: (rs, now) => {
      const [names, images] = containerCells(rs.spec?.template?.spec?.containers);
      return {
        cells: [nm(rs), replicas(rs.spec), n(rs.status?.replicas), n(rs.status?.readyReplicas), age(rs, now), names, images, formatLabelSelector(rs.spec?.selector)],
      };
    },
  },
  'apps/StatefulSet': {
    columns: [NAME_COL, col('Ready', 'string', 'Number of the pod with ready state'), AGE_COL, CONTAINERS_COL, IMAGES_COL],
    print: (ss, now) => {
      const [names, images] = containerCells(ss.spec?.template?.spec?.containers);
      return { cells: [nm(ss), `${n(ss.status?.readyReplicas)}/${replicas(ss.spec)}`, age(ss, now), names, images] };
    },
  },
  'apps/DaemonSet': {
    columns: [
      NAME_COL,
      col('Desired', 'integer', 'apps.DaemonSetStatus.desiredNumberScheduled'),
      col('Current', 'integer', 'apps.DaemonSetStatus.currentNumberScheduled'),
      col('Ready', 'integer', 'apps.DaemonSetStatus.numberReady'),
      col('Up-to-date', 'integer', 'apps.DaemonSetStatus.updatedNumberScheduled'),
      col('Available', 'integer', 'apps.DaemonSetStatus.numberAvailable'),
      col('Node Selector', 'string', 'core.PodSpec.nodeSelector'),
      AGE_COL,
      CONTAINERS_COL,
      IMAGES_COL,
      col('Selector', 'string', 'apps.DaemonSetSpec.selector', { priority: 1 }),
    ],
    print: (ds, now) => {
      const st = ds.status ?? {};
      const podSpec = ds.spec?.template?.spec;
      const [names, images] = containerCells(podSpec?.containers);
      return {
        cells: [
          nm(ds),
          n(st.desiredNumberScheduled),
          n(st.currentNumberScheduled),
          n(st.numberReady),
          n(st.updatedNumberScheduled),
          n(st.numberAvailable),
          formatLabels(podSpec?.nodeSelector),
          age(ds, now),
          names,
          images,
          formatLabelSelector(ds.spec?.selector),
        ],
      };
    },
  },
  'apps/ControllerRevision': {
    columns: [NAME_COL, col('Controller', 'string', 'Controller of the object'), col('Revision', 'string', 'apps.ControllerRevision.revision'), AGE_COL],
    print: (cr, now) => ({ cells: [nm(cr), controllerName(cr), n(cr.revision), age(cr, now)] }),
  },
  'batch/Job': {
    columns: [
      NAME_COL,
      col('Status', 'string', 'Status of the job.'),
      col('Completions', 'string', 'batch.JobStatus.succeeded'),
      col('Duration', 'string', 'Time required to complete the job.'),
      AGE_COL,
      CONTAINERS_COL,
      IMAGES_COL,
      col('Selector', 'string', 'batch.JobSpec.selector', { priority: 1 }),
    ],
    print: printJob,
  },
  'batch/CronJob': {
    columns: [
      NAME_COL,
      col('Schedule', 'string', 'batch.CronJobSpec.schedule'),
      col('Timezone', 'string', 'batch.CronJobSpec.timeZone'),
      col('Suspend', 'boolean', 'batch.CronJobSpec.suspend'),
      col('Active', 'integer', 'batch.CronJobStatus.active'),
      col('Last Schedule', 'string', 'batch.CronJobStatus.lastScheduleTime'),
      AGE_COL,
      CONTAINERS_COL,
      IMAGES_COL,
      col('Selector', 'string', 'batch.JobSpec.selector', { priority: 1 }),
    ],
    print: printCronJob,
  },
};
