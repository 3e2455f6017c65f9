/**
 * DefaultBinder (upstream `plugins/defaultbinder`): binds by POSTing a v1 `Binding` to the pod's `binding`
 * subresource — through the {@link ClusterApi}, so tests can record bindings in memory.
 */

import type { Pod } from 'kubernetes-types/core/v1.js';
import { CycleState, Status, type BindPlugin, type Handle } from '../../framework/interface.js';

export const NAME = 'DefaultBinder';

/** Builds the plugin. */
export function newDefaultBinder(handle: Pick<Handle, 'cluster'>) {
  return {
    name: NAME,
    async bind(_state: CycleState, pod: Pod, nodeName: string): Promise<Status | null> {
      try {
        await handle.cluster.bind(pod, nodeName);
        return null;
      } catch (err) {
        return Status.error(err);
      }
    },
  } satisfies BindPlugin;
}
