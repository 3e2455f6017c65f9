/**
 * The contract between the controller-manager and its controllers (kube-controller-manager's
 * `ControllerContext`/`InitFunc` shape): a controller registers handlers on SHARED informers and returns something
 * the manager starts once caches are synced and stops when leadership is lost.
 */
import type { Clock } from '../client/clock.js';
import type { DynamicClient } from '../client/dynamic.js';
import type { EventRecorder } from '../client/events.js';
import type { Logger } from '../client/log.js';
import type { InformerFactory } from './informer-factory.js';

/** Tunables with upstream defaults; tests shorten them. */
export interface ControllerManagerConfig {
  /** node-lifecycle: a node whose Lease was not renewed for this long is Unknown (upstream 40 s; 1.32 50 s). */
  nodeMonitorGracePeriodMs: number;
  /** node-lifecycle: default tolerationSeconds for not-ready/unreachable NoExecute taints (upstream 300 s). */
  defaultNotReadyTolerationSeconds: number;
  /** Workers per controller (kube-controller-manager's --concurrent-*-syncs, default 5). */
  workers: number;
  /**
   * root-ca-cert-publisher: the cluster CA (PEM) published as `kube-root-ca.crt` in every namespace
   * (kube-controller-manager's --root-ca-file). Unset: the CA the manager's client trusts, as upstream falls back to.
   */
  rootCACertPem?: string;
  /** nodeipam: the cluster CIDR node podCIDRs come from (kube-controller-manager's --cluster-cidr; default 10.42.0.0/16). */
  clusterCIDR?: string;
}

export const DEFAULT_CONFIG: ControllerManagerConfig = {
  nodeMonitorGracePeriodMs: 50_000,
  defaultNotReadyTolerationSeconds: 300,
  workers: 5,
};

export interface ControllerContext {
  client: DynamicClient;
  /** Shared informers: one list+watch per resource for all controllers. */
  informers: InformerFactory;
  /** An event recorder reporting as `component` (e.g. `replicaset-controller`), as upstream names them. */
  recorder(component: string): EventRecorder;
  clock: Clock;
  logger(name: string): Logger;
  config: ControllerManagerConfig;
}

/** Something the manager runs. `start` returns once workers are running (it must not block). */
export interface Runnable {
  start(): unknown;
  stop(): unknown;
}

export interface ControllerDefinition {
  /** Upstream controller name (`replicaset`, `deployment`, `job`, `garbage-collector`, …). */
  name: string;
  /** Builds the controller: obtain informers from ctx.informers and add handlers here, before caches start. */
  setup(ctx: ControllerContext): Runnable;
}
