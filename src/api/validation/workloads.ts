/**
 * apps/v1 and batch/v1 validation after `pkg/apis/apps/validation` and `pkg/apis/batch/validation`: selectors that
 * must match template labels, strategies, int-or-percent fields, Job completion modes, CronJob schedules and the
 * update rules (immutable selectors, StatefulSet's short list of mutable spec fields, immutable Job templates).
 */

import type { KObject } from '../errors.js';
import {
  type Errs, type Rec, bool, child, forbidden, immutable, int, intOrString, invalid, isMissing, isObj, jsonEqual, msgs,
  nonNegative, notSupported, obj, objList, oneOf, required, str,
} from './context.js';
import { isEmptySelector, isUsableSelector, labelSelectorMatches, validateAnnotations, validateLabelSelectorObject, validateLabels } from './meta.js';
import { percentErrors } from './names.js';
import { validatePodTemplateSpec } from './pod.js';
import { validateCronSchedule, validateTimeZone } from './cron.js';

const SELECTOR_MISMATCH = '`selector` does not match template `labels`';

/** `ValidatePositiveIntOrPercent`: a non-negative int or a `N%` string. */
export function validatePositiveIntOrPercent(v: unknown, path: string, errs: Errs): void {
  const x = intOrString(v, path, errs);
  if (typeof x === 'string') msgs(errs, path, x, percentErrors(x));
  else if (typeof x === 'number') nonNegative(x, path, errs);
}

/** `IsNotMoreThan100Percent`. */
export function isNotMoreThan100Percent(v: unknown, path: string, errs: Errs): void {
  if (typeof v !== 'string' || !/^[0-9]+%$/.test(v)) return;
  if (Number(v.slice(0, -1)) > 100) errs.push(invalid(path, v, 'must not be greater than 100%'));
}

/** `getIntOrPercentValue`: the number part of an int-or-percent. */
function intOrPercentValue(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^[0-9]+%$/.test(v)) return Number(v.slice(0, -1));
  return typeof v === 'string' ? NaN : 0;
}

/** Go's `%#v` rendering of a label map, as upstream prints it in `selector does not match` causes. */
function goLabelMap(v: unknown): string {
  if (!isObj(v)) return 'map[string]string(nil)';
  const entries = Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${JSON.stringify(v[k])}`);
  return `map[string]string{${entries.join(', ')}}`;
}

function selectorMismatch(path: string, labels: unknown): { reason: string; message: string; field: string } {
  return { reason: 'FieldValueInvalid', message: `Invalid value: ${goLabelMap(labels)}: ${SELECTOR_MISMATCH}`, field: path };
}

function templateLabels(tpl: unknown): unknown {
  return isObj(tpl) && isObj(tpl.metadata) ? tpl.metadata.labels : undefined;
}

/** Selector required, non-empty, valid, and matching the template labels (apps/v1 semantics). */
function validateSelectorAndTemplate(spec: Rec, kindWord: string, errs: Errs, templateRestartAlways = true): void {
  const sp = 'spec.selector';
  if (isMissing(spec.selector)) errs.push(required(sp));
  else {
    validateLabelSelectorObject(spec.selector, sp, errs);
    if (isObj(spec.selector) && isEmptySelector(spec.selector)) errs.push(invalid(sp, spec.selector, `empty selector is invalid for ${kindWord}`));
  }
  if (!isMissing(spec.selector) && isUsableSelector(spec.selector) && !isEmptySelector(spec.selector) && isObj(spec.template)) {
    if (!labelSelectorMatches(spec.selector, templateLabels(spec.template))) {
      errs.push(selectorMismatch('spec.template.metadata.labels', templateLabels(spec.template)));
    }
  }
  validatePodTemplateSpec(spec.template, 'spec.template', errs);
  const ps = isObj(spec.template) && isObj(spec.template.spec) ? spec.template.spec : undefined;
  if (ps && templateRestartAlways) {
    if (typeof ps.restartPolicy === 'string' && ps.restartPolicy !== 'Always' && ps.restartPolicy !== '') {
      errs.push(notSupported('spec.template.spec.restartPolicy', ps.restartPolicy, ['Always']));
    }
    if (!isMissing(ps.activeDeadlineSeconds)) {
      const kind = kindWord === 'deployment' ? 'ReplicaSet' : kindWord === 'statefulset' ? 'StatefulSet' : 'DaemonSet';
      errs.push(forbidden('spec.template.spec.activeDeadlineSeconds', `activeDeadlineSeconds in ${kind} is not Supported`));
    }
  }
}

function specOf(o: KObject, errs: Errs): Rec | undefined {
  if (isMissing(o.spec)) {
    errs.push(required('spec'));
    return undefined;
  }
  return obj(o.spec, 'spec', errs);
}

/** `ValidateDeployment`. */
export function validateDeployment(o: KObject, errs: Errs): void {
  const spec = specOf(o, errs);
  if (!spec) return;
  nonNegative(int(spec.replicas, 'spec.replicas', errs), 'spec.replicas', errs);
  validateSelectorAndTemplate(spec, 'deployment', errs);
  const st = obj(spec.strategy, 'spec.strategy', errs);
  if (st) {
    const type = str(st.type, 'spec.strategy.type', errs) ?? '';
    if (type === 'Recreate') {
      if (!isMissing(st.rollingUpdate)) errs.push(forbidden('spec.strategy.rollingUpdate', "may not be specified when strategy `type` is 'Recreate'"));
    } else if (type === 'RollingUpdate') {
      const ru = obj(st.rollingUpdate, 'spec.strategy.rollingUpdate', errs);
      if (!ru) {
        if (isMissing(st.rollingUpdate)) errs.push(required('spec.strategy.rollingUpdate', 'this should be defaulted and never be nil'));
      } else {
        const p = 'spec.strategy.rollingUpdate';
        validatePositiveIntOrPercent(ru.maxUnavailable, `${p}.maxUnavailable`, errs);
        validatePositiveIntOrPercent(ru.maxSurge, `${p}.maxSurge`, errs);
        if (intOrPercentValue(ru.maxUnavailable) === 0 && intOrPercentValue(ru.maxSurge) === 0) {
          errs.push(invalid(`${p}.maxUnavailable`, ru.maxUnavailable ?? 0, 'may not be 0 when `maxSurge` is 0'));
        }
        isNotMoreThan100Percent(ru.maxUnavailable, `${p}.maxUnavailable`, errs);
      }
    } else {
      errs.push(notSupported('spec.strategy', type === '' ? st : type, ['Recreate', 'RollingUpdate']));
    }
  }
  const mrs = int(spec.minReadySeconds, 'spec.minReadySeconds', errs);
  nonNegative(mrs, 'spec.minReadySeconds', errs);
  nonNegative(int(spec.revisionHistoryLimit, 'spec.revisionHistoryLimit', errs), 'spec.revisionHistoryLimit', errs);
  const pds = int(spec.progressDeadlineSeconds, 'spec.progressDeadlineSeconds', errs);
  if (pds !== undefined) {
    nonNegative(pds, 'spec.progressDeadlineSeconds', errs);
    if (pds <= (mrs ?? 0)) errs.push(invalid('spec.progressDeadlineSeconds', pds, 'must be greater than minReadySeconds'));
  }
  bool(spec.paused, 'spec.paused', errs);
}

/** `ValidateReplicaSet`. */
export function validateReplicaSet(o: KObject, errs: Errs): void {
  const spec = specOf(o, errs);
  if (!spec) return;
  nonNegative(int(spec.replicas, 'spec.replicas', errs), 'spec.replicas', errs);
  nonNegative(int(spec.minReadySeconds, 'spec.minReadySeconds', errs), 'spec.minReadySeconds', errs);
  validateSelectorAndTemplate(spec, 'deployment', errs);
}

/** `ValidateStatefulSet`. */
export function validateStatefulSet(o: KObject, errs: Errs): void {
  const spec = specOf(o, errs);
  if (!spec) return;
  const pmp = str(spec.podManagementPolicy, 'spec.podManagementPolicy', errs) ?? '';
  if (pmp === '') errs.push(required('spec.podManagementPolicy'));
  else if (pmp !== 'OrderedReady' && pmp !== 'Parallel') errs.push(invalid('spec.podManagementPolicy', pmp, "must be 'OrderedReady' or 'Parallel'"));
  const us = obj(spec.updateStrategy, 'spec.updateStrategy', errs);
  const ut = us ? str(us.type, 'spec.updateStrategy.type', errs) ?? '' : '';
  if (!us || ut === '') errs.push(required('spec.updateStrategy'));
  else if (ut === 'OnDelete') {
    if (!isMissing(us.rollingUpdate)) errs.push(invalid('spec.updateStrategy.rollingUpdate', us.rollingUpdate, "only allowed for updateStrategy 'RollingUpdate'"));
  } else if (ut === 'RollingUpdate') {
    const ru = obj(us.rollingUpdate, 'spec.updateStrategy.rollingUpdate', errs);
    if (ru) {
      nonNegative(int(ru.partition, 'spec.updateStrategy.rollingUpdate.partition', errs), 'spec.updateStrategy.rollingUpdate.partition', errs);
      if (!isMissing(ru.maxUnavailable)) validatePositiveIntOrPercent(ru.maxUnavailable, 'spec.updateStrategy.rollingUpdate.maxUnavailable', errs);
    }
  } else errs.push(invalid('spec.updateStrategy', us, "must be 'RollingUpdate' or 'OnDelete'"));
  const rp = obj(spec.persistentVolumeClaimRetentionPolicy, 'spec.persistentVolumeClaimRetentionPolicy', errs);
  if (rp) {
    for (const k of ['whenDeleted', 'whenScaled']) {
      const v = str(rp[k], `spec.persistentVolumeClaimRetentionPolicy.${k}`, errs) ?? '';
      if (v !== 'Retain' && v !== 'Delete') errs.push(notSupported(`spec.persistentVolumeClaimRetentionPolicy.${k}`, v, ['Retain', 'Delete']));
    }
  }
  nonNegative(int(spec.revisionHistoryLimit, 'spec.revisionHistoryLimit', errs), 'spec.revisionHistoryLimit', errs);
  nonNegative(int(spec.replicas, 'spec.replicas', errs), 'spec.replicas', errs);
  nonNegative(int(spec.minReadySeconds, 'spec.minReadySeconds', errs), 'spec.minReadySeconds', errs);
  const ord = obj(spec.ordinals, 'spec.ordinals', errs);
  if (ord) nonNegative(int(ord.start, 'spec.ordinals.start', errs), 'spec.ordinals.start', errs);
  str(spec.serviceName, 'spec.serviceName', errs);
  validateSelectorAndTemplate(spec, 'statefulset', errs);
  for (const [t, i] of objList(spec.volumeClaimTemplates, 'spec.volumeClaimTemplates', errs)) {
    const p = `spec.volumeClaimTemplates[${i}]`;
    const md = obj(t.metadata, `${p}.metadata`, errs);
    if (!md || typeof md.name !== 'string' || md.name === '') errs.push(required(`${p}.metadata.name`));
  }
}

/** `ValidateDaemonSet`. */
export function validateDaemonSet(o: KObject, errs: Errs): void {
  const spec = specOf(o, errs);
  if (!spec) return;
  validateSelectorAndTemplate(spec, 'daemonset', errs);
  nonNegative(int(spec.minReadySeconds, 'spec.minReadySeconds', errs), 'spec.minReadySeconds', errs);
  nonNegative(int(spec.templateGeneration, 'spec.templateGeneration', errs), 'spec.templateGeneration', errs);
  nonNegative(int(spec.revisionHistoryLimit, 'spec.revisionHistoryLimit', errs), 'spec.revisionHistoryLimit', errs);
  const us = obj(spec.updateStrategy, 'spec.updateStrategy', errs);
  if (!us) return;
  const t = str(us.type, 'spec.updateStrategy.type', errs) ?? '';
  if (t === 'RollingUpdate') {
    const ru = obj(us.rollingUpdate, 'spec.updateStrategy.rollingUpdate', errs);
    if (!ru) {
      if (isMissing(us.rollingUpdate)) errs.push(required('spec.updateStrategy.rollingUpdate'));
      return;
    }
    const p = 'spec.updateStrategy.rollingUpdate';
    validatePositiveIntOrPercent(ru.maxUnavailable, `${p}.maxUnavailable`, errs);
    validatePositiveIntOrPercent(ru.maxSurge, `${p}.maxSurge`, errs);
    if (intOrPercentValue(ru.maxUnavailable) === 0 && intOrPercentValue(ru.maxSurge) === 0) {
      errs.push(invalid(`${p}.maxUnavailable`, ru.maxUnavailable ?? 0, 'may not be 0 when `maxSurge` is 0'));
    }
    isNotMoreThan100Percent(ru.maxUnavailable, `${p}.maxUnavailable`, errs);
    isNotMoreThan100Percent(ru.maxSurge, `${p}.maxSurge`, errs);
  } else if (t !== 'OnDelete') {
    errs.push(notSupported('spec.updateStrategy', t === '' ? us : t, ['RollingUpdate', 'OnDelete']));
  }
}

/** `ValidateControllerRevision`. */
export function validateControllerRevision(o: KObject, errs: Errs): void {
  if (isMissing(o.data)) errs.push(required('data', 'data is mandatory'));
  nonNegative(int(o.revision, 'revision', errs), 'revision', errs);
}

/** Selector immutability shared by the apps/v1 workloads (`field is immutable`). */
export function validateWorkloadUpdate(kind: string, o: KObject, old: KObject, errs: Errs): void {
  const ns: Rec = isObj(o.spec) ? o.spec : {};
  const os: Rec = isObj(old.spec) ? old.spec : {};
  if (kind === 'ControllerRevision') {
    immutable(o.data, old.data, 'data', errs);
    return;
  }
  immutable(ns.selector, os.selector, 'spec.selector', errs);
  if (kind === 'StatefulSet') {
    const mutable = ['replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy', 'minReadySeconds'];
    const strip = (s: Rec): Rec => Object.fromEntries(Object.entries(s).filter(([k]) => !mutable.includes(k)));
    if (!jsonEqual(strip(ns), strip(os)) && jsonEqual(ns.selector, os.selector)) {
      errs.push(forbidden('spec', "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"));
    }
  }
}

const COMPLETION_MODES = ['NonIndexed', 'Indexed'];

/** `validateJobSpec` shared by Jobs and CronJob job templates. */
function validateJobSpec(spec: Rec, path: string, errs: Errs, isTemplate: boolean): void {
  const p = (k: string): string => `${path}.${k}`;
  const parallelism = int(spec.parallelism, p('parallelism'), errs);
  nonNegative(parallelism, p('parallelism'), errs);
  const completions = int(spec.completions, p('completions'), errs);
  nonNegative(completions, p('completions'), errs);
  const ads = int(spec.activeDeadlineSeconds, p('activeDeadlineSeconds'), errs);
  if (ads !== undefined && ads <= 0) errs.push(invalid(p('activeDeadlineSeconds'), ads, 'must be greater than zero'));
  nonNegative(int(spec.backoffLimit, p('backoffLimit'), errs), p('backoffLimit'), errs);
  nonNegative(int(spec.ttlSecondsAfterFinished, p('ttlSecondsAfterFinished'), errs), p('ttlSecondsAfterFinished'), errs);
  const mode = str(spec.completionMode, p('completionMode'), errs);
  const blpi = int(spec.backoffLimitPerIndex, p('backoffLimitPerIndex'), errs);
  if (blpi !== undefined) {
    nonNegative(blpi, p('backoffLimitPerIndex'), errs);
    if (mode !== 'Indexed') errs.push(forbidden(p('backoffLimitPerIndex'), 'requires indexed completion mode'));
  }
  const mfi = int(spec.maxFailedIndexes, p('maxFailedIndexes'), errs);
  if (mfi !== undefined && blpi === undefined) errs.push(forbidden(p('maxFailedIndexes'), 'cannot set maxFailedIndexes when backoffLimitPerIndex is not set'));
  if (mode !== undefined) {
    if (!COMPLETION_MODES.includes(mode)) errs.push(notSupported(p('completionMode'), mode, COMPLETION_MODES));
    if (mode === 'Indexed') {
      if (completions === undefined) errs.push(required(p('completions'), 'when completion mode is Indexed'));
      if (parallelism !== undefined && parallelism > 100000) errs.push(invalid(p('parallelism'), parallelism, 'must be less than or equal to 100000 when completion mode is Indexed'));
      if (completions !== undefined && mfi !== undefined && mfi > completions) errs.push(invalid(p('maxFailedIndexes'), mfi, 'must be less than or equal to completions'));
    }
  }
  const prp = str(spec.podReplacementPolicy, p('podReplacementPolicy'), errs);
  if (prp !== undefined) oneOf(prp, ['TerminatingOrFailed', 'Failed'], p('podReplacementPolicy'), errs);
  bool(spec.suspend, p('suspend'), errs);
  const ms = bool(spec.manualSelector, p('manualSelector'), errs);
  if (isTemplate) {
    if (!isMissing(spec.selector)) errs.push(invalid(p('selector'), spec.selector, '`selector` will be auto-generated'));
    if (ms === true) errs.push(notSupported(p('manualSelector'), ms, ['nil', 'false']));
  } else {
    if (isMissing(spec.selector)) errs.push(required(p('selector')));
    else validateLabelSelectorObject(spec.selector, p('selector'), errs);
    if (!isMissing(spec.selector) && isUsableSelector(spec.selector) && isObj(spec.template)) {
      if (!labelSelectorMatches(spec.selector, templateLabels(spec.template))) {
        errs.push(selectorMismatch(p('template.metadata.labels'), templateLabels(spec.template)));
      }
    }
  }
  validatePodTemplateSpec(spec.template, p('template'), errs);
  const ps = isObj(spec.template) && isObj(spec.template.spec) ? spec.template.spec : undefined;
  if (ps && ps.restartPolicy !== 'OnFailure' && ps.restartPolicy !== 'Never') {
    errs.push(notSupported(p('template.spec.restartPolicy'), ps.restartPolicy ?? '', ['OnFailure', 'Never']));
  }
  const pfp = obj(spec.podFailurePolicy, p('podFailurePolicy'), errs);
  if (pfp) {
    for (const [r, i] of objList(pfp.rules, p('podFailurePolicy.rules'), errs)) {
      const rp = `${p('podFailurePolicy.rules')}[${i}]`;
      const action = str(r.action, `${rp}.action`, errs) ?? '';
      oneOf(action, ['Count', 'FailIndex', 'FailJob', 'Ignore'], `${rp}.action`, errs, true);
      const hasExit = !isMissing(r.onExitCodes);
      const hasCond = Array.isArray(r.onPodConditions) && r.onPodConditions.length > 0;
      if (hasExit === hasCond) errs.push(invalid(rp, r, 'specifying one of OnExitCodes and OnPodConditions is required'));
    }
    if (ps && ps.restartPolicy !== 'Never') errs.push(invalid(p('template.spec.restartPolicy'), ps.restartPolicy ?? '', 'only "Never" is supported when podFailurePolicy is specified'));
  }
}

/** `ValidateJob` (create): spec checks plus the auto-generated selector check when `metadata.uid` is set. */
export function validateJob(o: KObject, errs: Errs): void {
  const spec = specOf(o, errs);
  if (!spec) return;
  validateJobSpec(spec, 'spec', errs, false);
  const uid = isObj(o.metadata) ? o.metadata.uid : undefined;
  if (spec.manualSelector !== true && typeof uid === 'string' && uid !== '' && isObj(spec.selector)) {
    const ml = isObj(spec.selector.matchLabels) ? spec.selector.matchLabels : {};
    if (ml['batch.kubernetes.io/controller-uid'] !== uid) errs.push(invalid('spec.selector', spec.selector, '`selector` not auto-generated'));
  }
}

/** `ValidateJobUpdate`: selector, template, completionMode and podFailurePolicy are immutable. */
export function validateJobUpdate(o: KObject, old: KObject, errs: Errs): void {
  const ns: Rec = isObj(o.spec) ? o.spec : {};
  const os: Rec = isObj(old.spec) ? old.spec : {};
  immutable(ns.selector, os.selector, 'spec.selector', errs);
  immutable(ns.template, os.template, 'spec.template', errs);
  immutable(ns.completionMode, os.completionMode, 'spec.completionMode', errs);
  immutable(ns.podFailurePolicy, os.podFailurePolicy, 'spec.podFailurePolicy', errs);
  // Elastic Indexed Jobs may change completions together with parallelism.
  const elastic = ns.completionMode === 'Indexed' && ns.completions === ns.parallelism;
  if (!elastic) immutable(ns.completions, os.completions, 'spec.completions', errs);
}

/** `ValidateCronJobCreate`. */
export function validateCronJob(o: KObject, errs: Errs): void {
  const name = isObj(o.metadata) && typeof o.metadata.name === 'string' ? o.metadata.name : '';
  if (name.length > 52) errs.push(invalid('metadata.name', name, 'must be no more than 52 characters'));
  const spec = specOf(o, errs);
  if (!spec) return;
  const schedule = str(spec.schedule, 'spec.schedule', errs) ?? '';
  const tz = str(spec.timeZone, 'spec.timeZone', errs);
  if (schedule === '') errs.push(required('spec.schedule'));
  else {
    for (const m of validateCronSchedule(schedule)) errs.push(invalid('spec.schedule', schedule, m));
    if (tz !== undefined && schedule.includes('TZ')) errs.push(invalid('spec.schedule', schedule, 'cannot use both timeZone field and TZ or CRON_TZ in schedule'));
    else if (schedule.includes('TZ')) errs.push(invalid('spec.schedule', schedule, 'cannot use TZ or CRON_TZ in schedule, use timeZone field instead'));
  }
  if (tz !== undefined) for (const m of validateTimeZone(tz)) errs.push(invalid('spec.timeZone', tz, m));
  nonNegative(int(spec.startingDeadlineSeconds, 'spec.startingDeadlineSeconds', errs), 'spec.startingDeadlineSeconds', errs);
  const cp = str(spec.concurrencyPolicy, 'spec.concurrencyPolicy', errs) ?? '';
  oneOf(cp, ['Allow', 'Forbid', 'Replace'], 'spec.concurrencyPolicy', errs, true);
  bool(spec.suspend, 'spec.suspend', errs);
  nonNegative(int(spec.successfulJobsHistoryLimit, 'spec.successfulJobsHistoryLimit', errs), 'spec.successfulJobsHistoryLimit', errs);
  nonNegative(int(spec.failedJobsHistoryLimit, 'spec.failedJobsHistoryLimit', errs), 'spec.failedJobsHistoryLimit', errs);
  const jt = obj(spec.jobTemplate, 'spec.jobTemplate', errs);
  if (!jt) {
    if (isMissing(spec.jobTemplate)) errs.push(required('spec.jobTemplate.spec.template.spec.containers'));
    return;
  }
  const md = obj(jt.metadata, 'spec.jobTemplate.metadata', errs);
  if (md) {
    validateLabels(md.labels, 'spec.jobTemplate.metadata.labels', errs);
    validateAnnotations(md.annotations, 'spec.jobTemplate.metadata.annotations', errs);
  }
  const js = obj(jt.spec, 'spec.jobTemplate.spec', errs) ?? {};
  validateJobSpec(js, 'spec.jobTemplate.spec', errs, true);
}
