/**
 * Version conversion for kinds served in more than one group-version from one storage: autoscaling/v1 and v2
 * HorizontalPodAutoscalers (stored as v2, as kube-apiserver 1.32 does) and core/v1 vs events.k8s.io/v1 Events
 * (stored as core/v1). Objects are converted on the way in (request version → storage) and out (storage → the
 * version the client asked for).
 */
import type { KObject } from './errors.js';
import type { ResourceInfo } from './resources.js';

/** The apiVersion objects of this resource are stored in. */
export function storageVersion(info: ResourceInfo): string {
  if (info.group === 'autoscaling' && info.resource === 'horizontalpodautoscalers') return 'autoscaling/v2';
  if (info.resource === 'events' && (info.group === '' || info.group === 'events.k8s.io')) return 'v1';
  return info.group ? `${info.group}/${info.version}` : info.version;
}

/** Converts `obj` (in whatever version it carries) to `toVersion`; unknown pairs are returned unchanged. */
export function convert(obj: KObject, toVersion: string): KObject {
  const from = obj.apiVersion;
  if (!from || from === toVersion) return obj;
  if (obj.kind === 'HorizontalPodAutoscaler') {
    if (from === 'autoscaling/v1' && toVersion === 'autoscaling/v2') return hpaV1ToV2(obj);
    if (from === 'autoscaling/v2' && toVersion === 'autoscaling/v1') return hpaV2ToV1(obj);
  }
  if (obj.kind === 'Event') {
    if (from === 'v1' && toVersion === 'events.k8s.io/v1') return coreEventToEventsV1(obj);
    if (from === 'events.k8s.io/v1' && toVersion === 'v1') return eventsV1ToCoreEvent(obj);
  }
  return obj;
}

const CPU_ANNOTATION_PREFIX = 'autoscaling.alpha.kubernetes.io/';

function hpaV1ToV2(o: KObject): KObject {
  const spec = (o.spec ?? {}) as Record<string, unknown>;
  const { targetCPUUtilizationPercentage, ...rest } = spec;
  const out: KObject = { ...o, apiVersion: 'autoscaling/v2', spec: { ...rest } };
  if (typeof targetCPUUtilizationPercentage === 'number') {
    out.spec.metrics = [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: targetCPUUtilizationPercentage } } }];
  }
  if (o.status) {
    const { currentCPUUtilizationPercentage, ...srest } = o.status as Record<string, unknown>;
    out.status = { ...srest };
    if (typeof currentCPUUtilizationPercentage === 'number') {
      out.status.currentMetrics = [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: currentCPUUtilizationPercentage } } }];
    }
    out.status.desiredReplicas ??= 0;
  }
  return out;
}

function hpaV2ToV1(o: KObject): KObject {
  const spec = (o.spec ?? {}) as Record<string, unknown>;
  const { metrics, behavior: _b, ...rest } = spec as { metrics?: Array<Record<string, any>>; behavior?: unknown }; // eslint-disable-line @typescript-eslint/no-explicit-any
  const out: KObject = { ...o, apiVersion: 'autoscaling/v1', spec: { ...rest } };
  const cpu = metrics?.find((m) => m.type === 'Resource' && m.resource?.name === 'cpu' && m.resource?.target?.type === 'Utilization');
  if (cpu) out.spec.targetCPUUtilizationPercentage = cpu.resource.target.averageUtilization;
  if (o.status) {
    const { currentMetrics, conditions: _c, ...srest } = o.status as { currentMetrics?: Array<Record<string, any>>; conditions?: unknown }; // eslint-disable-line @typescript-eslint/no-explicit-any
    out.status = { ...srest };
    const cur = currentMetrics?.find((m) => m.type === 'Resource' && m.resource?.name === 'cpu');
    if (cur?.resource?.current?.averageUtilization !== undefined) out.status.currentCPUUtilizationPercentage = cur.resource.current.averageUtilization;
  }
  if (out.metadata?.annotations) {
    const a = Object.fromEntries(Object.entries(out.metadata.annotations).filter(([k]) => !k.startsWith(CPU_ANNOTATION_PREFIX)));
    out.metadata = { ...out.metadata, annotations: a };
  }
  return out;
}

function pick(o: Record<string, unknown>, map: Array<[string, string]>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [from, to] of map) if (o[from] !== undefined) out[to] = o[from];
  return out;
}

const CORE_TO_EVENTS: Array<[string, string]> = [
  ['eventTime', 'eventTime'], ['series', 'series'], ['reportingComponent', 'reportingController'], ['reportingInstance', 'reportingInstance'],
  ['action', 'action'], ['reason', 'reason'], ['involvedObject', 'regarding'], ['related', 'related'], ['message', 'note'], ['type', 'type'],
  ['source', 'deprecatedSource'], ['firstTimestamp', 'deprecatedFirstTimestamp'], ['lastTimestamp', 'deprecatedLastTimestamp'], ['count', 'deprecatedCount'],
];

function coreEventToEventsV1(o: KObject): KObject {
  const out = pick(o as Record<string, unknown>, CORE_TO_EVENTS);
  return { apiVersion: 'events.k8s.io/v1', kind: 'Event', metadata: o.metadata, ...out } as KObject;
}

function eventsV1ToCoreEvent(o: KObject): KObject {
  const out = pick(o as Record<string, unknown>, CORE_TO_EVENTS.map(([a, b]) => [b, a]));
  return { apiVersion: 'v1', kind: 'Event', metadata: o.metadata, ...out } as KObject;
}
