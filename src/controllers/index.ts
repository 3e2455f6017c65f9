/**
 * Every controller the controller-manager runs, in kube-controller-manager's naming. Each lives in its own folder
 * and exports a ControllerDefinition.
 */
import type { ControllerDefinition } from './types.js';
import { definition as statefulset } from './statefulset/index.js';
import { definition as daemonset } from './daemonset/index.js';
import { definition as job } from './job/index.js';
import { definition as cronjob } from './cronjob/index.js';
import { definition as replicaset } from './replicaset/index.js';
import { definition as deployment } from './deployment/index.js';
import { definition as garbageCollector } from './garbage-collector/index.js';
import { definition as namespace } from './namespace/index.js';
import { definition as serviceaccount } from './serviceaccount/index.js';
import { definition as ttlAfterFinished } from './ttl-after-finished/index.js';
import { definition as endpoints } from './endpoints/index.js';
import { definition as endpointslice } from './endpointslice/index.js';
import { definition as nodeLifecycle } from './node-lifecycle/index.js';
import { definition as resourcequota } from './resourcequota/index.js';
import { definition as disruption } from './disruption/index.js';
import { definition as podgroup } from './podgroup/index.js';
import { definition as serviceLB } from './servicelb/index.js';
import { definition as nodeipam } from './nodeipam/index.js';
import { definition as rootCACertPublisher } from './rootcacertpublisher/index.js';

export const ALL_CONTROLLERS: ControllerDefinition[] = [
  deployment, replicaset, statefulset, daemonset, job, cronjob,
  garbageCollector, namespace, serviceaccount, ttlAfterFinished,
  endpoints, endpointslice, nodeLifecycle, resourcequota, disruption, podgroup, nodeipam, serviceLB,
  rootCACertPublisher,
];

export { ControllerManager } from './manager.js';
export { nodeIpamDefinition, type NodeIpamOptions } from './nodeipam/index.js';
export type { ControllerDefinition, ControllerContext, ControllerManagerConfig, Runnable } from './types.js';
