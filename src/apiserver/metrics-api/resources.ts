/**
 * The metrics.k8s.io/v1beta1 kinds as metrics-server registers them (NodeMetrics, PodMetrics; get and list only).
 * They are computed from kubelet scrapes, never stored, so they live here rather than in api/resources.ts (whose
 * kinds get storage, OpenAPI and garbage collection); discovery.ts lists them beside the stored kinds.
 */
import type { ResourceInfo } from '../../api/resources.js';

export const METRICS_GROUP = 'metrics.k8s.io';
export const METRICS_VERSION = 'v1beta1';
export const METRICS_API_VERSION = `${METRICS_GROUP}/${METRICS_VERSION}`;

const common = { group: METRICS_GROUP, version: METRICS_VERSION, shortNames: [], categories: [], verbs: ['get', 'list'], subresources: [], storageGroup: METRICS_GROUP };

export const NODE_METRICS: ResourceInfo = { ...common, kind: 'NodeMetrics', listKind: 'NodeMetricsList', resource: 'nodes', singular: '', namespaced: false, storageResource: 'nodes' };
export const POD_METRICS: ResourceInfo = { ...common, kind: 'PodMetrics', listKind: 'PodMetricsList', resource: 'pods', singular: '', namespaced: true, storageResource: 'pods' };

/** Served by the apiserver but not stored: listed in discovery only. */
export const METRICS_RESOURCES: readonly ResourceInfo[] = [NODE_METRICS, POD_METRICS];
