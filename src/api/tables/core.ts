/**
 * Printers for core/v1 kinds, following kube-apiserver's `pkg/printers/internalversion` cell by cell (server-side
 * tables are always generated wide; kubectl hides priority-1 columns unless `-o wide`). The pod STATUS logic is
 * the one users read most, so it mirrors upstream's precedence exactly: pod reason, scheduling gates, init
 * containers, container waiting/terminated reasons, then Terminating/Unknown for deleted pods.
 */

import type { KObject } from '../errors.js';
import { formatLabels } from '../labels.js';
import { humanDuration, parseTime, since } from './duration.js';
import type { Printer, TableRowCondition } from './types.js';
import { accessModes, AGE_COL, arr, col, count, loadBalancerIngress, n, NAME_COL, quantity, s } from './util.js';

const POD_SUCCEEDED: TableRowCondition[] = [{ type: 'Completed', status: 'True', reason: 'Succeeded', message: 'The pod has completed successfully.' }];
const POD_FAILED: TableRowCondition[] = [{ type: 'Completed', status: 'True', reason: 'Failed', message: 'The pod failed.' }];

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

function hasCondition(conditions: unknown, type: string): boolean {
  for (const c of arr<Any>(conditions)) if (c?.type === type && c?.status === 'True') return true;
  return false;
}

/** Latest of a running maximum and a container's last termination time (ms; NaN-free). */
function laterFinish(current: number, cs: Any): number {
  const t = parseTime(cs?.lastState?.terminated?.finishedAt);
  return cs?.lastState?.terminated && t !== undefined && t > current ? t : current;
}

function printPod(pod: KObject, now: number) {
  const spec = pod.spec ?? {};
  const status = pod.status ?? {};
  const initContainers = arr<Any>(spec.initContainers);
  const restartable = new Set<string>();
  for (const c of initContainers) if (c?.restartPolicy === 'Always') restartable.add(s(c.name));

  let restarts = 0;
  let restartableRestarts = 0;
  const totalContainers = arr(spec.containers).length + restartable.size;
  let readyContainers = 0;
  let lastRestart = 0;
  let lastRestartableRestart = 0;

  const phase = s(status.phase);
  let reason = status.reason ? s(status.reason) : phase;
  for (const c of arr<Any>(status.conditions)) {
    if (c?.type === 'PodScheduled' && c?.reason === 'SchedulingGated') reason = 'SchedulingGated';
  }

  let conditions: TableRowCondition[] | undefined;
  if (phase === 'Succeeded') conditions = POD_SUCCEEDED;
  else if (phase === 'Failed') conditions = POD_FAILED;

  let initializing = false;
  const initStatuses = arr<Any>(status.initContainerStatuses);
  for (let i = 0; i < initStatuses.length; i++) {
    const cs = initStatuses[i] ?? {};
    const isRestartable = restartable.has(s(cs.name));
    restarts += n(cs.restartCount);
    lastRestart = laterFinish(lastRestart, cs);
    if (isRestartable) {
      restartableRestarts += n(cs.restartCount);
      lastRestartableRestart = laterFinish(lastRestartableRestart, cs);
    }
    const term = cs.state?.terminated;
    const wait = cs.state?.waiting;
    if (term && n(term.exitCode) === 0) continue;
    if (isRestartable && cs.started === true) {
      if (cs.ready) readyContainers++;
      continue;
    }
    if (term) {
      if (!term.reason) reason = n(term.signal) !== 0 ? `Init:Signal:${n(term.signal)}` : `Init:ExitCode:${n(term.exitCode)}`;
      else reason = 'Init:' + s(term.reason);
    } else if (wait && wait.reason && wait.reason !== 'PodInitializing') {
      reason = 'Init:' + s(wait.reason);
    } else {
      reason = `Init:${i}/${initContainers.length}`;
    }
    initializing = true;
    break;
  }

  if (!initializing || hasCondition(status.conditions, 'Initialized')) {
    restarts = restartableRestarts;
    lastRestart = lastRestartableRestart;
    let hasRunning = false;
    const statuses = arr<Any>(status.containerStatuses);
    for (let i = statuses.length - 1; i >= 0; i--) {
      const cs = statuses[i] ?? {};
      restarts += n(cs.restartCount);
      lastRestart = laterFinish(lastRestart, cs);
      const wait = cs.state?.waiting;
      const term = cs.state?.terminated;
      if (wait && wait.reason) reason = s(wait.reason);
      else if (term && term.reason) reason = s(term.reason);
      else if (term) reason = n(term.signal) !== 0 ? `Signal:${n(term.signal)}` : `ExitCode:${n(term.exitCode)}`;
      else if (cs.ready && cs.state?.running) {
        hasRunning = true;
        readyContainers++;
      }
    }
    // A pod whose last container completed while another still runs is Running (or NotReady), not Completed.
    if (reason === 'Completed' && hasRunning) reason = hasCondition(status.conditions, 'Ready') ? 'Running' : 'NotReady';
  }

  const deleting = pod.metadata?.deletionTimestamp != null;
  if (deleting && status.reason === 'NodeLost') reason = 'Unknown';
  else if (deleting && phase !== 'Succeeded' && phase !== 'Failed') reason = 'Terminating';

  let restartsStr = String(restarts);
  if (restarts !== 0 && lastRestart !== 0) restartsStr = `${restarts} (${humanDuration(now - lastRestart)} ago)`;

  const podIPs = arr<Any>(status.podIPs);
  const podIP = s(podIPs.length > 0 ? podIPs[0]?.ip : status.podIP) || '<none>';
  const gates = arr<Any>(spec.readinessGates);
  let readinessGates = '<none>';
  if (gates.length > 0) {
    let trueConditions = 0;
    for (const g of gates) {
      const c = arr<Any>(status.conditions).find((x) => x?.type === g?.conditionType);
      if (c?.status === 'True') trueConditions++;
    }
    readinessGates = `${trueConditions}/${gates.length}`;
  }
  const row = {
    cells: [
      s(pod.metadata?.name),
      `${readyContainers}/${totalContainers}`,
      reason,
      restartsStr,
      since(pod.metadata?.creationTimestamp, now),
      podIP,
      s(spec.nodeName) || '<none>',
      s(status.nominatedNodeName) || '<none>',
      readinessGates,
    ],
  };
  return conditions ? { ...row, conditions } : row;
}

/** Upstream `findNodeRoles`: node-role.kubernetes.io/<role> keys and kubernetes.io/role values, sorted, unique. */
function nodeRoles(labels: Record<string, string> | undefined): string[] {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(labels ?? {})) {
    if (k.startsWith('node-role.kubernetes.io/')) {
      const role = k.slice('node-role.kubernetes.io/'.length);
      if (role) roles.add(role);
    } else if (k === 'kubernetes.io/role' && v !== '') {
      roles.add(v);
    }
  }
  return [...roles].sort();
}

function nodeAddress(node: KObject, type: string): string {
  for (const a of arr<Any>(node.status?.addresses)) if (a?.type === type) return s(a.address);
  return '<none>';
}

function printNode(node: KObject, now: number) {
  const st: string[] = [];
  // Only the Ready condition contributes; the last entry of a type wins, as with upstream's map.
  let ready: Any;
  for (const c of arr<Any>(node.status?.conditions)) if (c?.type === 'Ready') ready = c;
  if (ready) st.push(ready.status === 'True' ? 'Ready' : 'NotReady');
  if (st.length === 0) st.push('Unknown');
  if (node.spec?.unschedulable === true) st.push('SchedulingDisabled');
  const info = node.status?.nodeInfo ?? {};
  return {
    cells: [
      s(node.metadata?.name),
      st.join(','),
      nodeRoles(node.metadata?.labels).join(',') || '<none>',
      since(node.metadata?.creationTimestamp, now),
      s(info.kubeletVersion),
      nodeAddress(node, 'InternalIP'),
      nodeAddress(node, 'ExternalIP'),
      s(info.osImage) || '<unknown>',
      s(info.kernelVersion) || '<unknown>',
      s(info.containerRuntimeVersion) || '<unknown>',
    ],
  };
}

function serviceExternalIP(svc: KObject, type: string): string {
  const externalIPs = arr<string>(svc.spec?.externalIPs);
  switch (type) {
    case 'ClusterIP':
    case 'NodePort':
      return externalIPs.length > 0 ? externalIPs.join(',') : '<none>';
    case 'LoadBalancer': {
      const lb = loadBalancerIngress(svc.status?.loadBalancer?.ingress);
      if (externalIPs.length > 0) return [...(lb ? lb.split(',') : []), ...externalIPs].join(',');
      return lb || '<pending>';
    }
    case 'ExternalName':
      return s(svc.spec?.externalName);
    default:
      return '<unknown>';
  }
}

function printService(svc: KObject, now: number) {
  const spec = svc.spec ?? {};
  const type = s(spec.type) || 'ClusterIP';
  const clusterIPs = arr<string>(spec.clusterIPs);
  const internalIP = clusterIPs.length > 0 ? clusterIPs[0] : s(spec.clusterIP) || '<none>';
  const ports = arr<Any>(spec.ports)
    .map((p) => {
      const proto = s(p?.protocol) || 'TCP';
      return n(p?.nodePort) > 0 ? `${n(p.port)}:${n(p.nodePort)}/${proto}` : `${n(p?.port)}/${proto}`;
    })
    .join(',');
  return {
    cells: [
      s(svc.metadata?.name),
      type,
      internalIP,
      serviceExternalIP(svc, type),
      ports || '<none>',
      since(svc.metadata?.creationTimestamp, now),
      formatLabels(spec.selector),
    ],
  };
}

/** Upstream `formatEndpoints` with all ports: up to three `ip:port`, then `+ N more...`. */
function formatEndpoints(ep: KObject): string {
  const subsets = arr<Any>(ep.subsets);
  if (subsets.length === 0) return '<none>';
  const list: string[] = [];
  const max = 3;
  let more = false;
  let total = 0;
  for (const ss of subsets) {
    const addrs = arr<Any>(ss?.addresses);
    const ports = arr<Any>(ss?.ports);
    if (ports.length === 0) {
      total += addrs.length;
      for (const a of addrs) {
        if (list.length === max) {
          more = true;
          break;
        }
        list.push(s(a?.ip));
      }
      continue;
    }
    for (const p of ports) {
      total += addrs.length;
      for (const a of addrs) {
        if (list.length === max) {
          more = true;
          break;
        }
        const ip = s(a?.ip);
        list.push(`${ip.includes(':') ? `[${ip}]` : ip}:${n(p?.port)}`);
      }
    }
  }
  const ret = list.join(',');
  return more ? `${ret} + ${total - max} more...` : ret;
}

/** Source column: component (or reporting controller), then host (or reporting instance). */
function eventSource(ev: Any): string {
  const component = s(ev.source?.component) || s(ev.reportingController ?? ev.reportingComponent);
  const instance = s(ev.source?.host) || s(ev.reportingInstance);
  return instance ? `${component}, ${instance}` : component;
}

/** events.k8s.io/v1 objects share storage with core events; print them through the core shape. */
function coreEvent(ev: KObject): Any {
  if (ev.involvedObject || !ev.regarding) return ev;
  return {
    ...ev,
    involvedObject: ev.regarding,
    message: ev.note,
    source: ev.deprecatedSource,
    firstTimestamp: ev.deprecatedFirstTimestamp,
    lastTimestamp: ev.deprecatedLastTimestamp,
    count: ev.deprecatedCount,
  };
}

function printEvent(obj: KObject, now: number) {
  const ev = coreEvent(obj);
  let first = since(ev.firstTimestamp, now);
  if (parseTime(ev.firstTimestamp) === undefined) first = since(ev.eventTime, now);
  let last = since(ev.lastTimestamp, now);
  if (parseTime(ev.lastTimestamp) === undefined) last = first;
  let cnt = n(ev.count);
  if (ev.series) {
    last = since(ev.series.lastObservedTime, now);
    cnt = n(ev.series.count);
  } else if (cnt === 0) {
    cnt = 1; // singleton events carry no count in the new API
  }
  const io = ev.involvedObject ?? {};
  const kind = s(io.kind).toLowerCase();
  const target = io.name ? `${kind}/${s(io.name)}` : kind;
  return {
    cells: [last, s(ev.type), s(ev.reason), target, s(io.fieldPath), eventSource(ev), s(ev.message).trim(), first, cnt, s(ev.metadata?.name)],
  };
}

function printResourceQuota(q: KObject, now: number) {
  const hard = q.status?.hard ?? {};
  const used = q.status?.used ?? {};
  const req: string[] = [];
  const lim: string[] = [];
  for (const r of Object.keys(hard).sort()) {
    const parts = r.split('.');
    const target = parts.length > 1 && parts[0] === 'limits' ? lim : req;
    target.push(`${r}: ${quantity(used[r])}/${quantity(hard[r])}`);
  }
  return { cells: [s(q.metadata?.name), req.join(', '), lim.join(', '), since(q.metadata?.creationTimestamp, now)] };
}

const STORAGE_CLASS_ANNOTATION = 'volume.beta.kubernetes.io/storage-class';

function printPV(pv: KObject, now: number) {
  const spec = pv.spec ?? {};
  const claim = spec.claimRef ? `${s(spec.claimRef.namespace)}/${s(spec.claimRef.name)}` : '';
  const phase = pv.metadata?.deletionTimestamp != null ? 'Terminating' : s(pv.status?.phase);
  const ann = pv.metadata?.annotations ?? {};
  const cls = STORAGE_CLASS_ANNOTATION in ann ? s(ann[STORAGE_CLASS_ANNOTATION]) : s(spec.storageClassName);
  return {
    cells: [
      s(pv.metadata?.name),
      quantity(spec.capacity?.storage),
      accessModes(spec.accessModes),
      s(spec.persistentVolumeReclaimPolicy),
      phase,
      claim,
      cls,
      s(spec.volumeAttributesClassName) || '<unset>',
      s(pv.status?.reason),
      since(pv.metadata?.creationTimestamp, now),
      s(spec.volumeMode) || '<unset>',
    ],
  };
}

function printPVC(pvc: KObject, now: number) {
  const spec = pvc.spec ?? {};
  const phase = pvc.metadata?.deletionTimestamp != null ? 'Terminating' : s(pvc.status?.phase);
  let capacity = '';
  let modes = '';
  if (spec.volumeName) {
    modes = accessModes(pvc.status?.accessModes);
    capacity = quantity(pvc.status?.capacity?.storage);
  }
  const ann = pvc.metadata?.annotations ?? {};
  const cls = STORAGE_CLASS_ANNOTATION in ann ? s(ann[STORAGE_CLASS_ANNOTATION]) : s(spec.storageClassName);
  return {
    cells: [
      s(pvc.metadata?.name),
      phase,
      s(spec.volumeName),
      capacity,
      modes,
      cls,
      s(spec.volumeAttributesClassName) || '<unset>',
      since(pvc.metadata?.creationTimestamp, now),
      s(spec.volumeMode) || '<unset>',
    ],
  };
}

const age = (o: KObject, now: number) => since(o.metadata?.creationTimestamp, now);
const nm = (o: KObject) => s(o.metadata?.name);

/** Printers keyed by `group/Kind` ('' group for core). */
export const CORE_PRINTERS: Record<string, Printer> = {
  '/Pod': {
    columns: [
      NAME_COL,
      col('Ready', 'string', 'The aggregate readiness state of this pod for accepting traffic.'),
      col('Status', 'string', 'The aggregate status of the containers in this pod.'),
      col('Restarts', 'string', 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.'),
      AGE_COL,
      col('IP', 'string', 'core.PodStatus.podIP', { priority: 1 }),
      col('Node', 'string', 'core.PodSpec.nodeName', { priority: 1 }),
      col('Nominated Node', 'string', 'core.PodStatus.nominatedNodeName', { priority: 1 }),
      col('Readiness Gates', 'string', 'core.PodSpec.readinessGates', { priority: 1 }),
    ],
    print: printPod,
  },
  '/Node': {
    columns: [
      NAME_COL,
      col('Status', 'string', 'The status of the node'),
      col('Roles', 'string', 'The roles of the node'),
      AGE_COL,
      col('Version', 'string', 'core.NodeSystemInfo.kubeletVersion'),
      col('Internal-IP', 'string', 'core.NodeStatus.addresses', { priority: 1 }),
      col('External-IP', 'string', 'core.NodeStatus.addresses', { priority: 1 }),
      col('OS-Image', 'string', 'core.NodeSystemInfo.osImage', { priority: 1 }),
      col('Kernel-Version', 'string', 'core.NodeSystemInfo.kernelVersion', { priority: 1 }),
      col('Container-Runtime', 'string', 'core.NodeSystemInfo.containerRuntimeVersion', { priority: 1 }),
    ],
    print: printNode,
  },
  '/Namespace': {
    columns: [NAME_COL, col('Status', 'string', 'The status of the namespace'), AGE_COL],
    print: (o, now) => ({ cells: [nm(o), s(o.status?.phase), age(o, now)] }),
  },
  '/Service': {
    columns: [
      NAME_COL,
      col('Type', 'string', 'core.ServiceSpec.type'),
      col('Cluster-IP', 'string', 'core.ServiceSpec.clusterIP'),
      col('External-IP', 'string', 'core.ServiceSpec.externalIPs'),
      col('Port(s)', 'string', 'core.ServiceSpec.ports'),
      AGE_COL,
      col('Selector', 'string', 'core.ServiceSpec.selector', { priority: 1 }),
    ],
    print: printService,
  },
  '/Endpoints': {
    columns: [NAME_COL, col('Endpoints', 'string', 'core.Endpoints.subsets'), AGE_COL],
    print: (o, now) => ({ cells: [nm(o), formatEndpoints(o), age(o, now)] }),
  },
  '/ConfigMap': {
    columns: [NAME_COL, col('Data', 'string', 'core.ConfigMap.data'), AGE_COL],
    print: (o, now) => ({ cells: [nm(o), count(o.data) + count(o.binaryData), age(o, now)] }),
  },
  '/Secret': {
    columns: [NAME_COL, col('Type', 'string', 'core.Secret.type'), col('Data', 'string', 'core.Secret.data'), AGE_COL],
    // stringData is write-only and merged into data on write, but count it for objects not yet normalized.
    print: (o, now) => ({ cells: [nm(o), s(o.type), count({ ...(o.data ?? {}), ...(o.stringData ?? {}) }), age(o, now)] }),
  },
  '/Event': {
    columns: [
      col('Last Seen', 'string', 'core.Event.lastTimestamp'),
      col('Type', 'string', 'core.Event.type'),
      col('Reason', 'string', 'core.Event.reason'),
      col('Object', 'string', 'core.Event.involvedObject'),
      col('Subobject', 'string', 'core.ObjectReference.fieldPath', { priority: 1 }),
      col('Source', 'string', 'core.Event.source', { priority: 1 }),
      col('Message', 'string', 'core.Event.message'),
      col('First Seen', 'string', 'core.Event.firstTimestamp', { priority: 1 }),
      col('Count', 'string', 'core.Event.count', { priority: 1 }),
      col('Name', 'string', 'meta.ObjectMeta.name', { priority: 1, format: 'name' }),
    ],
    print: printEvent,
  },
  '/ServiceAccount': {
    columns: [NAME_COL, col('Secrets', 'string', 'core.ServiceAccount.secrets'), AGE_COL],
    print: (o, now) => ({ cells: [nm(o), arr(o.secrets).length, age(o, now)] }),
  },
  '/ResourceQuota': {
    columns: [
      NAME_COL,
      col('Request', 'string', 'Request represents a minimum amount of cpu/memory that a container may consume.'),
      col('Limit', 'string', 'Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.'),
      AGE_COL,
    ],
    print: printResourceQuota,
  },
  '/PersistentVolume': {
    columns: [
      NAME_COL,
      col('Capacity', 'string', 'core.PersistentVolumeSpec.capacity'),
      col('Access Modes', 'string', 'core.PersistentVolumeSpec.accessModes'),
      col('Reclaim Policy', 'string', 'core.PersistentVolumeSpec.persistentVolumeReclaimPolicy'),
      col('Status', 'string', 'core.PersistentVolumeStatus.phase'),
      col('Claim', 'string', 'core.PersistentVolumeSpec.claimRef'),
      col('StorageClass', 'string', 'StorageClass of the pv'),
      col('VolumeAttributesClass', 'string', 'VolumeAttributesClass of the pv'),
      col('Reason', 'string', 'core.PersistentVolumeStatus.reason'),
      AGE_COL,
      col('VolumeMode', 'string', 'core.PersistentVolumeSpec.volumeMode', { priority: 1 }),
    ],
    print: printPV,
  },
  '/PersistentVolumeClaim': {
    columns: [
      NAME_COL,
      col('Status', 'string', 'core.PersistentVolumeClaimStatus.phase'),
      col('Volume', 'string', 'core.PersistentVolumeClaimSpec.volumeName'),
      col('Capacity', 'string', 'core.PersistentVolumeClaimStatus.capacity'),
      col('Access Modes', 'string', 'core.PersistentVolumeClaimStatus.accessModes'),
      col('StorageClass', 'string', 'StorageClass of the pvc'),
      col('VolumeAttributesClass', 'string', 'VolumeAttributesClass of the pvc'),
      AGE_COL,
      col('VolumeMode', 'string', 'core.PersistentVolumeClaimSpec.volumeMode', { priority: 1 }),
    ],
    print: printPVC,
  },
};

