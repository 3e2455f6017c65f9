/**
 * Pod quality-of-service class (upstream `qos.GetPodQOS`): Guaranteed when every container has cpu and memory limits
 * equal to its requests, BestEffort when no container requests or limits anything, Burstable otherwise. Shared by
 * the apiserver (status.qosClass on create) and the kubelet.
 */
import { parseQuantityNumber } from './quantity.js';

interface ContainerLike {
  resources?: { limits?: Record<string, unknown>; requests?: Record<string, unknown> };
}

/** The quantity of `r` in `m` as a number; undefined when unset or invalid (validation reports invalid ones). */
function amount(m: Record<string, unknown> | undefined, r: 'cpu' | 'memory'): number | undefined {
  const v = m?.[r];
  if (v === undefined || v === null) return undefined;
  try {
    return parseQuantityNumber(typeof v === 'string' ? v : String(v));
  } catch {
    return undefined;
  }
}

const RESOURCES = ['cpu', 'memory'] as const;

/** Folds one container list into `acc`: whether anything is requested or limited, and whether all is Guaranteed. */
function scan(list: ContainerLike[] | undefined, acc: { any: boolean; guaranteed: boolean }): void {
  if (!list) return;
  for (let i = 0; i < list.length; i++) {
    const res = list[i]?.resources;
    const limits = res?.limits;
    const requests = res?.requests;
    for (const r of RESOURCES) {
      const lim = amount(limits, r);
      // A request left unset defaults to its limit, as upstream's defaulting does.
      const req = amount(requests, r) ?? lim;
      if ((req !== undefined && req > 0) || (lim !== undefined && lim > 0)) acc.any = true;
      if (!(lim !== undefined && lim > 0) || req !== lim) acc.guaranteed = false;
    }
  }
}

export function podQOS(pod: { spec?: { initContainers?: ContainerLike[]; containers?: ContainerLike[] } }): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  const acc = { any: false, guaranteed: true };
  scan(pod.spec?.initContainers, acc);
  scan(pod.spec?.containers, acc);
  if (!acc.any) return 'BestEffort';
  return acc.guaranteed ? 'Guaranteed' : 'Burstable';
}
