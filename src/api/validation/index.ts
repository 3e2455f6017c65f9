/**
 * Entry point of object validation: `validateObject(info, obj, old?)` returns the StatusCauses kube-apiserver 1.32
 * would put in a 422 Invalid for a create (`old` undefined) or an update, for every kind in `RESOURCES`. The
 * low-level validators are re-exported so selectors, admission and controllers reuse one implementation.
 */

import type { KObject, StatusCause } from '../errors.js';
import type { ResourceInfo } from '../resources.js';
import { type Errs, invalid, isObj } from './context.js';
import {
  validateConfigMap, validateConfigMapUpdate, validateCoreEvent, validateEndpoints, validateEventsV1, validateLimitRange,
  validateNamespace, validateNode, validatePersistentVolume, validatePersistentVolumeClaim,
  validatePersistentVolumeClaimUpdate, validatePersistentVolumeUpdate, validateResourceQuota, validateSecret,
  validateSecretUpdate, validateService, validateServiceAccount, validateServiceUpdate,
} from './core.js';
import { validateObjectMeta, validateObjectMetaUpdate } from './meta.js';
import { type NameFn, nameIsDNS1035Label, nameIsDNSLabel, nameIsDNSSubdomain, nameIsPathSegment } from './names.js';
import {
  validateAccessReview, validateEndpointSlice, validateHPA, validateIngress, validateIngressClass, validateLease,
  validateNetworkPolicy, validatePodDisruptionBudget, validatePriorityClass, validatePriorityClassUpdate,
  validateRole, validateRoleBinding, validateRoleBindingUpdate,
} from './other.js';
import { validatePodCreateSpec, validatePodSpec, validatePodSpecUpdate } from './pod.js';
import {
  validateControllerRevision, validateCronJob, validateDaemonSet, validateDeployment, validateJob, validateJobUpdate,
  validateReplicaSet, validateStatefulSet, validateWorkloadUpdate,
} from './workloads.js';

export * from './names.js';
export {
  validateLabels, validateAnnotations, validateLabelSelectorObject, validateLabelName, validateOwnerReferences,
  validateFinalizers, validateFinalizerName, validateObjectMeta, validateObjectMetaUpdate, labelSelectorMatches,
  isEmptySelector, isUsableSelector, TOTAL_ANNOTATION_SIZE_LIMIT,
} from './meta.js';
export { validatePodSpec, validatePodTemplateSpec, validateResourceRequirements, validateVolumes, isExtendedResourceName } from './pod.js';
export { validateCronSchedule, isValidCronSchedule, validateTimeZone } from './cron.js';
export { validatePositiveIntOrPercent, isNotMoreThan100Percent } from './workloads.js';
export { MAX_SECRET_SIZE, NODE_PORT_RANGE, validatePVCSpec } from './core.js';
export { SYSTEM_PRIORITY_CLASSES, HIGHEST_USER_DEFINABLE_PRIORITY } from './other.js';

const REVIEW_KINDS = new Set(['SelfSubjectAccessReview', 'SelfSubjectRulesReview', 'SubjectAccessReview', 'SelfSubjectReview', 'TokenReview']);

/** The name rule a kind's `metadata.name` follows (`ValidateNameFunc` of its upstream validator). */
export function nameFnFor(info: ResourceInfo): NameFn {
  if (info.group === '' && info.kind === 'Namespace') return nameIsDNSLabel;
  if (info.group === '' && info.kind === 'Service') return nameIsDNS1035Label;
  if (info.group === 'rbac.authorization.k8s.io') return nameIsPathSegment;
  return nameIsDNSSubdomain;
}

function validateKind(info: ResourceInfo, o: KObject, errs: Errs): void {
  switch (`${info.group}/${info.kind}`) {
    case '/Pod':
      validatePodSpec(o.spec, 'spec', errs, { isPod: true });
      break;
    case '/Service': validateService(o, errs); break;
    case '/ConfigMap': validateConfigMap(o, errs); break;
    case '/Secret': validateSecret(o, errs); break;
    case '/Namespace': validateNamespace(o, errs); break;
    case '/Node': validateNode(o, errs); break;
    case '/Endpoints': validateEndpoints(o, errs); break;
    case '/Event': validateCoreEvent(o, errs); break;
    case 'events.k8s.io/Event': validateEventsV1(o, errs); break;
    case '/ServiceAccount': validateServiceAccount(o, errs); break;
    case '/ResourceQuota': validateResourceQuota(o, errs); break;
    case '/LimitRange': validateLimitRange(o, errs); break;
    case '/PersistentVolume': validatePersistentVolume(o, errs); break;
    case '/PersistentVolumeClaim': validatePersistentVolumeClaim(o, errs); break;
    case 'apps/Deployment': validateDeployment(o, errs); break;
    case 'apps/ReplicaSet': validateReplicaSet(o, errs); break;
    case 'apps/StatefulSet': validateStatefulSet(o, errs); break;
    case 'apps/DaemonSet': validateDaemonSet(o, errs); break;
    case 'apps/ControllerRevision': validateControllerRevision(o, errs); break;
    case 'batch/Job': validateJob(o, errs); break;
    case 'batch/CronJob': validateCronJob(o, errs); break;
    case 'networking.k8s.io/Ingress': validateIngress(o, errs); break;
    case 'networking.k8s.io/IngressClass': validateIngressClass(o, errs); break;
    case 'networking.k8s.io/NetworkPolicy': validateNetworkPolicy(o, errs); break;
    case 'coordination.k8s.io/Lease': validateLease(o, errs); break;
    case 'discovery.k8s.io/EndpointSlice': validateEndpointSlice(o, errs); break;
    case 'scheduling.k8s.io/PriorityClass': validatePriorityClass(o, errs); break;
    case 'policy/PodDisruptionBudget': validatePodDisruptionBudget(o, errs); break;
    case 'autoscaling/HorizontalPodAutoscaler': validateHPA(o, info.version, errs); break;
    case 'rbac.authorization.k8s.io/Role': validateRole(o, true, errs); break;
    case 'rbac.authorization.k8s.io/ClusterRole': validateRole(o, false, errs); break;
    case 'rbac.authorization.k8s.io/RoleBinding': validateRoleBinding(o, true, errs); break;
    case 'rbac.authorization.k8s.io/ClusterRoleBinding': validateRoleBinding(o, false, errs); break;
    case 'authorization.k8s.io/SubjectAccessReview': validateAccessReview(o, false, errs); break;
    case 'authorization.k8s.io/SelfSubjectAccessReview': validateAccessReview(o, true, errs); break;
    default: break;
  }
}

function validateKindUpdate(info: ResourceInfo, o: KObject, old: KObject, errs: Errs): void {
  switch (`${info.group}/${info.kind}`) {
    case '/Pod': validatePodSpecUpdate(o.spec, old.spec, errs); break;
    case '/Service': validateServiceUpdate(o, old, errs); break;
    case '/ConfigMap': validateConfigMapUpdate(o, old, errs); break;
    case '/Secret': validateSecretUpdate(o, old, errs); break;
    case '/PersistentVolume': validatePersistentVolumeUpdate(o, old, errs); break;
    case '/PersistentVolumeClaim': validatePersistentVolumeClaimUpdate(o, old, errs); break;
    case 'apps/Deployment':
    case 'apps/ReplicaSet':
    case 'apps/StatefulSet':
    case 'apps/DaemonSet':
    case 'apps/ControllerRevision':
      validateWorkloadUpdate(info.kind, o, old, errs);
      break;
    case 'batch/Job': validateJobUpdate(o, old, errs); break;
    case 'networking.k8s.io/IngressClass': {
      const a = isObj(o.spec) ? o.spec.controller : undefined;
      const b = isObj(old.spec) ? old.spec.controller : undefined;
      if (a !== b) errs.push(invalid('spec.controller', a, 'field is immutable'));
      break;
    }
    case 'discovery.k8s.io/EndpointSlice':
      if (o.addressType !== old.addressType) errs.push(invalid('addressType', o.addressType, 'field is immutable'));
      break;
    case 'scheduling.k8s.io/PriorityClass': validatePriorityClassUpdate(o, old, errs); break;
    case 'rbac.authorization.k8s.io/RoleBinding':
    case 'rbac.authorization.k8s.io/ClusterRoleBinding':
      validateRoleBindingUpdate(o, old, errs);
      break;
    default: break;
  }
}

/**
 * Validates `obj` of kind `info` for a create (no `old`) or an update (`old` = the stored object), returning the
 * causes upstream reports (empty when valid). Never throws, whatever the JSON shape: wrong types become
 * FieldValueTypeInvalid causes. The namespace is expected in `metadata.namespace` (the server copies it from the URL).
 */
export function validateObject(info: ResourceInfo, obj: KObject, old?: KObject): StatusCause[] {
  const errs: Errs = [];
  try {
    if (!isObj(obj)) {
      errs.push({ reason: 'FieldValueTypeInvalid', message: `Invalid value: ${JSON.stringify(obj ?? null)}: must be of type object`, field: '' });
      return errs;
    }
    if (!REVIEW_KINDS.has(info.kind)) validateObjectMeta(obj.metadata, info.namespaced, nameFnFor(info), 'metadata', errs);
    if (info.group === '' && info.kind === 'Pod' && old === undefined) validatePodCreateSpec(obj.spec, errs);
    validateKind(info, obj, errs);
    if (old !== undefined && isObj(old)) {
      if (!REVIEW_KINDS.has(info.kind)) validateObjectMetaUpdate(obj.metadata, old.metadata, 'metadata', errs);
      validateKindUpdate(info, obj, old, errs);
    }
  } catch (e) {
    errs.push({ reason: 'FieldValueInvalid', message: `Invalid value: internal validation error: ${e instanceof Error ? e.message : String(e)}`, field: '' });
  }
  return errs;
}

export { validateStatusUpdate } from './status.js';
