/**
 * Pod status as the kubelet computes it (`kubelet_pods.go` generateAPIPodStatus, convertToAPIContainerStatuses,
 * getPhase; `status/generate.go` for the conditions; `qos.GetPodQOS`): pure functions from the pod spec plus the
 * runtime's view of its containers to the `PodStatus` kubectl reads — phase, conditions PodScheduled,
 * PodReadyToStartContainers, Initialized, ContainersReady and Ready (lastTransitionTime kept unless the status
 * flips), container statuses with state/lastState/restartCount/started/ready, IPs, startTime and qosClass.
 */
import type { Container, ContainerState, ContainerStatus as ApiContainerStatus, Pod, PodCondition, PodStatus } from 'kubernetes-types/core/v1.js';
import { podQOS } from '../api/qos.js';
import type { ContainerStatus } from './runtime/types.js';
import { rfc3339 } from '../api/time.js';

/** What the pod worker knows about one container name of a pod. */
export interface ContainerView {
  name: string;
  /** The newest runtime container of this name. */
  current?: ContainerStatus;
  /** The one before it (lastState), when kept. */
  previous?: ContainerStatus;
  restartCount: number;
  /** A waiting reason that overrides the runtime state (CrashLoopBackOff, ErrImagePull, CreateContainerConfigError…). */
  waiting?: { reason: string; message?: string };
  /** Readiness result of the current instance (true without a readiness probe once started). */
  ready: boolean;
  /** Startup result of the current instance (true without a startup probe once running). */
  started: boolean;
}

/** Inputs of {@link computePodStatus}. */
export interface PodRuntimeView {
  sandboxReady: boolean;
  podIP: string;
  hostIP: string;
  init: ContainerView[];
  containers: ContainerView[];
  /** Set once the pod has been terminated on the node (deletion or completion), for getPhase. */
  terminal?: boolean;
}

/** RFC 3339 (seconds) from nanoseconds since the epoch. */
export function nsToTime(ns: number): string {
  return rfc3339(Math.floor(ns / 1e6));
}

/** The container ID kubectl shows (`<runtime>://<id>`). */
export const containerIdOf = (id: string) => `skiff://${id}`;

function terminatedOf(c: ContainerStatus): ContainerState {
  return {
    terminated: {
      exitCode: c.exitCode,
      reason: c.reason || (c.exitCode === 0 ? 'Completed' : 'Error'),
      ...(c.message ? { message: c.message } : {}),
      startedAt: c.startedAt ? nsToTime(c.startedAt) : undefined,
      finishedAt: nsToTime(c.finishedAt || c.createdAt),
      containerID: containerIdOf(c.id),
    },
  } as ContainerState;
}

/** Whether an init container is a sidecar (restartPolicy Always). */
export const isSidecar = (c: Container) => c.restartPolicy === 'Always';

function convert(spec: Container, v: ContainerView | undefined, defaultWaiting: string): ApiContainerStatus {
  const base = { name: spec.name, image: spec.image ?? '', imageID: '', restartCount: v?.restartCount ?? 0 };
  const cur = v?.current;
  let state: ContainerState;
  let lastState: ContainerState = {};
  if (v?.waiting) {
    state = { waiting: { reason: v.waiting.reason, ...(v.waiting.message ? { message: v.waiting.message } : {}) } };
    if (cur && cur.state === 'CONTAINER_EXITED') lastState = terminatedOf(cur);
    else if (v.previous) lastState = terminatedOf(v.previous);
  } else if (!cur || cur.state === 'CONTAINER_CREATED' || cur.state === 'CONTAINER_UNKNOWN') {
    state = { waiting: { reason: defaultWaiting } };
    if (v?.previous) lastState = terminatedOf(v.previous);
  } else if (cur.state === 'CONTAINER_RUNNING') {
    state = { running: { startedAt: nsToTime(cur.startedAt || cur.createdAt) } };
    if (v?.previous) lastState = terminatedOf(v.previous);
  } else {
    state = terminatedOf(cur);
    if (v?.previous) lastState = terminatedOf(v.previous);
  }
  const running = cur?.state === 'CONTAINER_RUNNING' && !v?.waiting;
  return {
    ...base,
    ...(cur ? { containerID: containerIdOf(cur.id), imageID: cur.image || base.image } : {}),
    state,
    lastState,
    ready: running && !!v?.ready && !!v?.started,
    started: running && !!v?.started,
  };
}

/** Upstream getPhase (kubelet_pods.go), including sidecar init containers. */
export function getPhase(pod: Pod, init: ApiContainerStatus[], containers: ApiContainerStatus[], terminal: boolean): PodStatus['phase'] {
  const restartPolicy = pod.spec?.restartPolicy ?? 'Always';
  let pendingInitialization = 0;
  let failedInitialization = 0;
  const specInit = pod.spec?.initContainers ?? [];
  for (const spec of specInit) {
    const s = init.find((x) => x.name === spec.name);
    if (!s) {
      pendingInitialization++;
      continue;
    }
    if (isSidecar(spec)) {
      if (!(s.state?.running && s.started)) pendingInitialization++;
      continue;
    }
    if (s.state?.running) pendingInitialization++;
    else if (s.state?.terminated) {
      if (s.state.terminated.exitCode !== 0) failedInitialization++;
    } else if (s.state?.waiting) {
      if (s.lastState?.terminated && s.lastState.terminated.exitCode !== 0) failedInitialization++;
      else pendingInitialization++;
    } else pendingInitialization++;
  }
  let unknown = 0;
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const spec of pod.spec?.containers ?? []) {
    const s = containers.find((x) => x.name === spec.name);
    if (!s) {
      unknown++;
      continue;
    }
    if (s.state?.running) running++;
    else if (s.state?.terminated) {
      stopped++;
      if (s.state.terminated.exitCode === 0) succeeded++;
    } else if (s.state?.waiting) {
      if (s.lastState?.terminated) stopped++;
      else waiting++;
    } else unknown++;
  }
  if (failedInitialization > 0 && restartPolicy === 'Never') return 'Failed';
  if (pendingInitialization > 0 || (failedInitialization > 0 && restartPolicy !== 'Never')) return 'Pending';
  if (waiting > 0) return 'Pending';
  if (running > 0 && unknown === 0) return 'Running';
  if (running === 0 && stopped > 0 && unknown === 0) {
    if (terminal) return stopped === succeeded ? 'Succeeded' : 'Failed';
    if (restartPolicy === 'Always') return 'Running';
    if (stopped === succeeded) return 'Succeeded';
    if (restartPolicy === 'Never') return 'Failed';
    return 'Running';
  }
  return 'Pending';
}

export { podQOS };

/** Condition types the kubelet owns (others, e.g. readiness gates or DisruptionTarget, are kept as they are). */
const KUBELET_CONDITIONS = new Set(['PodScheduled', 'PodReadyToStartContainers', 'Initialized', 'ContainersReady', 'Ready']);

function cond(type: string, ok: boolean, old: PodCondition[] | undefined, now: string, reason?: string, message?: string): PodCondition {
  const status = ok ? 'True' : 'False';
  const prev = old?.find((c) => c.type === type);
  return {
    type,
    status,
    lastProbeTime: null as unknown as string,
    lastTransitionTime: prev && prev.status === status && prev.lastTransitionTime ? prev.lastTransitionTime : now,
    ...(reason ? { reason } : {}),
    ...(message ? { message } : {}),
  };
}

/** Computes the pod's status (see the module comment); `now` is used for new transitions and startTime. */
export function computePodStatus(pod: Pod, view: PodRuntimeView, now = new Date()): PodStatus {
  const old = pod.status ?? {};
  const nowS = rfc3339(now);
  const hasInit = (pod.spec?.initContainers?.length ?? 0) > 0;
  const byName = (vs: ContainerView[]) => new Map(vs.map((v) => [v.name, v]));
  const initViews = byName(view.init);
  const ctrViews = byName(view.containers);
  const initStatuses = (pod.spec?.initContainers ?? []).map((c) => convert(c, initViews.get(c.name), hasInit ? 'PodInitializing' : 'ContainerCreating'));
  const initDone = (pod.spec?.initContainers ?? []).every((c, i) => {
    const s = initStatuses[i]!;
    return isSidecar(c) ? !!(s.started || s.state?.terminated) : s.state?.terminated?.exitCode === 0;
  });
  const ctrStatuses = (pod.spec?.containers ?? []).map((c) => convert(c, ctrViews.get(c.name), hasInit && !initDone ? 'PodInitializing' : 'ContainerCreating'));
  const phase = getPhase(pod, initStatuses, ctrStatuses, !!view.terminal);
  const completed = phase === 'Succeeded' || phase === 'Failed';

  const conds = old.conditions;
  const conditions: PodCondition[] = (conds ?? []).filter((c) => !KUBELET_CONDITIONS.has(c.type));
  const notInit = (pod.spec?.initContainers ?? []).filter((c, i) => {
    const s = initStatuses[i]!;
    return isSidecar(c) ? !s.started : s.state?.terminated?.exitCode !== 0;
  }).map((c) => c.name);
  const unready = [
    ...(pod.spec?.initContainers ?? []).filter((c, i) => isSidecar(c) && !initStatuses[i]!.ready),
    ...(pod.spec?.containers ?? []).filter((_, i) => !ctrStatuses[i]!.ready),
  ].map((c) => c.name);
  const gates = (pod.spec?.readinessGates ?? []).filter((g) => conds?.find((c) => c.type === g.conditionType)?.status !== 'True');
  const initialized = completed ? (notInit.length === 0 || phase === 'Succeeded') : notInit.length === 0;
  conditions.push(cond('PodReadyToStartContainers', view.sandboxReady, conds, nowS));
  conditions.push(
    initialized
      ? cond('Initialized', true, conds, nowS)
      : cond('Initialized', false, conds, nowS, 'ContainersNotInitialized', `containers with incomplete status: [${notInit.join(' ')}]`),
  );
  let cr: PodCondition;
  let ready: PodCondition;
  if (completed) {
    cr = cond('ContainersReady', false, conds, nowS, 'PodCompleted');
    ready = cond('Ready', false, conds, nowS, 'PodCompleted');
  } else if (unready.length) {
    const msg = `containers with unready status: [${unready.join(' ')}]`;
    cr = cond('ContainersReady', false, conds, nowS, 'ContainersNotReady', msg);
    ready = cond('Ready', false, conds, nowS, 'ContainersNotReady', msg);
  } else {
    cr = cond('ContainersReady', true, conds, nowS);
    ready = gates.length
      ? cond('Ready', false, conds, nowS, 'ReadinessGatesNotReady', `corresponding condition of pod readiness gate "${gates[0]!.conditionType}" does not exist.`)
      : cond('Ready', true, conds, nowS);
  }
  conditions.push(cr, ready);
  if (!conditions.some((c) => c.type === 'PodScheduled')) conditions.push(cond('PodScheduled', true, conds, nowS));
  const order = ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled'];
  conditions.sort((a, b) => {
    const ia = order.indexOf(a.type);
    const ib = order.indexOf(b.type);
    return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib);
  });

  const status: PodStatus = {
    ...old,
    phase,
    conditions,
    hostIP: view.hostIP,
    hostIPs: [{ ip: view.hostIP }],
    startTime: old.startTime ?? nowS,
    qosClass: podQOS(pod),
    containerStatuses: ctrStatuses,
  };
  if (view.podIP) {
    status.podIP = view.podIP;
    status.podIPs = [{ ip: view.podIP }];
  } else if (!old.podIP) {
    delete status.podIP;
    delete status.podIPs;
  }
  if (initStatuses.length) status.initContainerStatuses = initStatuses;
  else delete status.initContainerStatuses;
  if (completed && old.phase !== phase) {
    delete status.reason;
    delete status.message;
  }
  return status;
}
