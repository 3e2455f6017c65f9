/**
 * Skiff's client library and operator SDK: everything a component needs to talk to the apiserver — config
 * loading, the REST and dynamic/typed clients, informers with listers, the work queue, the controller runtime,
 * event recording and leader election. Components import from here only, never from each other (see
 * ARCHITECTURE.md: "everything talks to the apiserver through `client/`").
 */

export { Backoff, realClock, sleep, type Clock, type Timer } from './clock.js';
export {
  inClusterConfig, loadDefaultConfig, loadKubeconfig, parseKubeconfig, SERVICE_ACCOUNT_DIR,
  type ClientConfig, type InClusterOptions, type LoadKubeconfigOptions,
} from './config.js';
export {
  isAlreadyExists, isConflict, isGone, isNotFound, RequestTimeoutError, RestClient, toApiError,
  type Query, type RequestOptions, type RestClientOptions, type StreamResponse,
} from './rest.js';
export { TokenBucket } from './token-bucket.js';
export { LineSplitter, parseWatchLine, WatchDecodeError, type WatchEvent, type WatchEventType } from './watch.js';
export {
  DynamicClient, PATCH_CONTENT_TYPES, ResourceClient,
  type DeleteOptions, type ListOptions, type ListResult, type PatchOptions, type PatchType, type ResourceRef, type Scale,
  type WatchHandle, type WatchOptions, type WriteOptions,
} from './dynamic.js';
export { Indexer, keyOf, LABEL_INDEX, Lister, NAMESPACE_INDEX, splitKey, type IndexFunc, type MetaObject } from './cache.js';
export { Informer, WatchStalledError, type EventHandler, type InformerOptions, type InformerPhase } from './informer.js';
export {
  BucketRateLimiter, defaultControllerRateLimiter, ItemExponentialRateLimiter, MaxOfRateLimiter, WorkQueue,
  type RateLimiter, type WorkQueueOptions,
} from './workqueue.js';
export {
  Controller, ControllerBuilder, controllerFor, requestFor, TerminalError,
  type ControllerOptions, type MapFunc, type ReconcileRequest, type ReconcileResult, type Reconciler,
} from './controller.js';
export { EventRecorder, type CoreEvent, type EventRecorderOptions, type EventSubject, type EventType } from './events.js';
export { LeaderElector, type LeaderCallbacks, type LeaderElectionOptions, type Lease, type LeaseSpec } from './leader-election.js';
export { defaultLogger, recordingLogger, type Logger, type LogRecord } from './log.js';
export { ApiError } from '../api/errors.js';
