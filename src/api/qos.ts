/**
 * Pod quality-of-service class (upstream `qos.GetPodQOS`): Guaranteed when every container has cpu and memory limits
 * equal to its requests, BestEffort when no container requests or limits anything, Burstable otherwise. Shared by
 * the apiserver (status.qosClass on create) and the kubelet.
 */
import { parseQuantityNumber } from './quantity.js';

interface ContainerLike {
  resources?: { limits?: Record<string, unknown>; requests?: Record<string, unknown> };
}

function amounts(m: Record<string, unknown> | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of ['cpu', 'memory']) {
    const v = m?.[r];
    if (v === undefined || v === null) continue;
    try {
      out[r] = parseQuantityNumber(String(v));
    } catch {
      // An invalid quantity is reported by validation; for the class it counts as unset.
    }
  }
  return out;
}

export function podQOS(pod: { spec?: { initContainers?: ContainerLike[]; containers?: ContainerLike[] } }): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  const all = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
  let any = false;
  let guaranteed = true;
  for (const c of all) {
    const lim = amounts(c.resources?.limits);
    const req = { ...lim, ...amounts(c.resources?.requests) };
    if (Object.values(req).some((v) => v > 0) || Object.values(lim).some((v) => v > 0)) any = true;
    for (const r of ['cpu', 'memory']) {
      if (!(lim[r]! > 0) || req[r] !== lim[r]) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}
