/**
 * Status-subresource validation (`ValidateXStatusUpdate` upstream): metadata may not change in ways an update
 * forbids, counters are non-negative, ready/available counts do not exceed the total, and a Pod's status keeps to
 * its enums. Controllers write through this path, so it stays permissive beyond what upstream checks.
 */

import type { KObject, StatusCause } from '../errors.js';
import type { ResourceInfo } from '../resources.js';
import { type Errs, type Rec, int, invalid, isObj, msgs, nonNegative, obj, objList, oneOf, str, strList } from './context.js';
import { validateObjectMetaUpdate } from './meta.js';
import { ipErrors, qualifiedNameErrors } from './names.js';

function counters(st: Rec, fields: string[], errs: Errs): Record<string, number | undefined> {
  const out: Record<string, number | undefined> = {};
  for (const f of fields) {
    const v = int(st[f], `status.${f}`, errs);
    nonNegative(v, `status.${f}`, errs);
    out[f] = v;
  }
  return out;
}

function notAbove(c: Record<string, number | undefined>, a: string, b: string, errs: Errs): void {
  const x = c[a];
  const y = c[b] ?? 0;
  if (x !== undefined && x > y) errs.push(invalid(`status.${a}`, x, `cannot be greater than status.${b}`));
}

const CONDITION_STATUSES = ['True', 'False', 'Unknown'];

function conditions(st: Rec, errs: Errs): void {
  for (const [c, i] of objList(st.conditions, 'status.conditions', errs)) {
    const p = `status.conditions[${i}]`;
    const t = str(c.type, `${p}.type`, errs) ?? '';
    if (t !== '' && t.includes('/')) msgs(errs, `${p}.type`, t, qualifiedNameErrors(t));
    const s = str(c.status, `${p}.status`, errs);
    if (s !== undefined && s !== '') oneOf(s, CONDITION_STATUSES, `${p}.status`, errs);
  }
}

/** Validates a write to the `status` subresource of `info` (`old` is the stored object). */
export function validateStatusUpdate(info: ResourceInfo, o: KObject, old: KObject): StatusCause[] {
  const errs: Errs = [];
  if (!isObj(o)) return [{ reason: 'FieldValueTypeInvalid', message: 'Invalid value: null: must be of type object', field: '' }];
  validateObjectMetaUpdate(o.metadata, isObj(old) ? old.metadata : {}, 'metadata', errs);
  const st = obj(o.status, 'status', errs);
  if (!st) return errs;
  nonNegative(int(st.observedGeneration, 'status.observedGeneration', errs), 'status.observedGeneration', errs);
  switch (`${info.group}/${info.kind}`) {
    case 'apps/Deployment': {
      const c = counters(st, ['replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas', 'unavailableReplicas', 'terminatingReplicas'], errs);
      notAbove(c, 'readyReplicas', 'replicas', errs);
      notAbove(c, 'availableReplicas', 'replicas', errs);
      notAbove(c, 'availableReplicas', 'readyReplicas', errs);
      int(st.collisionCount, 'status.collisionCount', errs);
      conditions(st, errs);
      break;
    }
    case 'apps/ReplicaSet': {
      const c = counters(st, ['replicas', 'fullyLabeledReplicas', 'readyReplicas', 'availableReplicas', 'terminatingReplicas'], errs);
      notAbove(c, 'fullyLabeledReplicas', 'replicas', errs);
      notAbove(c, 'readyReplicas', 'replicas', errs);
      notAbove(c, 'availableReplicas', 'replicas', errs);
      notAbove(c, 'availableReplicas', 'readyReplicas', errs);
      conditions(st, errs);
      break;
    }
    case 'apps/StatefulSet': {
      const c = counters(st, ['replicas', 'readyReplicas', 'currentReplicas', 'updatedReplicas', 'availableReplicas'], errs);
      notAbove(c, 'readyReplicas', 'replicas', errs);
      notAbove(c, 'currentReplicas', 'replicas', errs);
      notAbove(c, 'updatedReplicas', 'replicas', errs);
      notAbove(c, 'availableReplicas', 'replicas', errs);
      notAbove(c, 'availableReplicas', 'readyReplicas', errs);
      conditions(st, errs);
      break;
    }
    case 'apps/DaemonSet':
      counters(st, ['currentNumberScheduled', 'numberMisscheduled', 'desiredNumberScheduled', 'numberReady', 'updatedNumberScheduled', 'numberAvailable', 'numberUnavailable'], errs);
      conditions(st, errs);
      break;
    case 'batch/Job':
      counters(st, ['active', 'succeeded', 'failed', 'ready', 'terminating'], errs);
      conditions(st, errs);
      break;
    case 'autoscaling/HorizontalPodAutoscaler':
      counters(st, ['currentReplicas', 'desiredReplicas'], errs);
      break;
    case '/Pod': {
      const phase = str(st.phase, 'status.phase', errs);
      if (phase !== undefined && phase !== '') oneOf(phase, ['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'], 'status.phase', errs);
      for (const f of ['podIP', 'hostIP']) {
        const ip = str(st[f], `status.${f}`, errs) ?? '';
        if (ip !== '') msgs(errs, `status.${f}`, ip, ipErrors(ip));
      }
      for (const f of ['podIPs', 'hostIPs']) {
        for (const [e, i] of objList(st[f], `status.${f}`, errs)) {
          const ip = str(e.ip, `status.${f}[${i}].ip`, errs) ?? '';
          msgs(errs, `status.${f}[${i}].ip`, ip, ipErrors(ip));
        }
      }
      const qos = str(st.qosClass, 'status.qosClass', errs);
      if (qos !== undefined && qos !== '') oneOf(qos, ['Guaranteed', 'Burstable', 'BestEffort'], 'status.qosClass', errs);
      for (const f of ['containerStatuses', 'initContainerStatuses', 'ephemeralContainerStatuses']) {
        for (const [cs, i] of objList(st[f], `status.${f}`, errs)) nonNegative(int(cs.restartCount, `status.${f}[${i}].restartCount`, errs), `status.${f}[${i}].restartCount`, errs);
      }
      conditions(st, errs);
      break;
    }
    case '/Namespace': {
      const phase = str(st.phase, 'status.phase', errs);
      if (phase !== undefined && phase !== '') oneOf(phase, ['Active', 'Terminating'], 'status.phase', errs);
      break;
    }
    case '/PersistentVolumeClaim': {
      const phase = str(st.phase, 'status.phase', errs);
      if (phase !== undefined && phase !== '') oneOf(phase, ['Pending', 'Bound', 'Lost'], 'status.phase', errs);
      strList(st.accessModes, 'status.accessModes', errs);
      break;
    }
    default:
      conditions(st, errs);
      break;
  }
  return errs;
}
