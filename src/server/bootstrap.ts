/**
 * Objects every cluster has from the start, created idempotently at each start: the namespaces `default`,
 * `kube-system`, `kube-public` and `kube-node-lease` (as kube-apiserver's bootstrap controller does), and the built-in
 * PriorityClasses `system-cluster-critical`/`system-node-critical` (as kube-apiserver's scheduling post-start hook does).
 */
import { KObject } from '../api/errors.js';
import { findResource } from '../api/resources.js';
import type { ApiServerCore } from '../apiserver/core.js';
import { prepareForCreate } from '../apiserver/strategy.js';
import { systemPriorityClasses } from '../apiserver/admission/priority.js';

export const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

export async function bootstrapCluster(core: ApiServerCore): Promise<void> {
  const nsInfo = findResource('', 'v1', 'namespaces')!;
  for (const name of SYSTEM_NAMESPACES) {
    if (await core.registry.tryGet(nsInfo, undefined, name)) continue;
    const ns: KObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name } };
    prepareForCreate(nsInfo, ns);
    try {
      await core.registry.create(nsInfo, ns);
    } catch (e) {
      if ((e as { code?: number }).code !== 409) throw e;
    }
  }
  // Built-in PriorityClasses (upstream `AddSystemPriorityClasses` post-start hook).
  const pcInfo = findResource('scheduling.k8s.io', 'v1', 'priorityclasses')!;
  for (const pc of systemPriorityClasses()) {
    if (await core.registry.tryGet(pcInfo, undefined, pc.metadata.name!)) continue;
    prepareForCreate(pcInfo, pc);
    try {
      await core.registry.create(pcInfo, pc);
    } catch (e) {
      if ((e as { code?: number }).code !== 409) throw e;
    }
  }
}
