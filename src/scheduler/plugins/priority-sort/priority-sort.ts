/**
 * PrioritySort (upstream `plugins/queuesort`): the default QueueSort — higher `spec.priority` first, then the pod
 * that entered the queue earlier.
 */

import type { QueuedPodInfo, QueueSortPlugin } from '../../framework/interface.js';

export const NAME = 'PrioritySort';

/** Upstream `PrioritySort.Less`. */
export function less(a: QueuedPodInfo, b: QueuedPodInfo): boolean {
  const pa = a.podInfo.priority;
  const pb = b.podInfo.priority;
  return pa > pb || (pa === pb && a.timestamp < b.timestamp);
}

/** Builds the plugin. */
export function newPrioritySort() {
  return { name: NAME, less } satisfies QueueSortPlugin;
}
