/**
 * The `Priority` admission plugin (upstream `plugin/pkg/admission/priority/admission.go`) and the protection of the
 * built-in PriorityClasses (upstream `pkg/registry/scheduling/priorityclass/storage`):
 *
 * - Pod create: `spec.priorityClassName` resolves to `spec.priority` and `spec.preemptionPolicy` of that class; with
 *   no name, the `globalDefault` class is used (its name is written into the pod), else priority 0 and
 *   `PreemptLowerPriority`. An unknown class, or a pod that sets its own priority / preemption policy differently from
 *   what the class says, is refused with 403 Forbidden and upstream's wording.
 * - PriorityClass create: at most one class may be `globalDefault` (403 as upstream).
 * - PriorityClass delete: `system-cluster-critical` and `system-node-critical` cannot be deleted (403).
 *
 * The classes are read from the registry; the list used for the global-default lookup is cached briefly (upstream
 * reads an informer lister, so it is eventually consistent too) and dropped whenever a class is created here.
 */
import { ApiError, type KObject } from '../../api/errors.js';
import { findResource, type ResourceInfo } from '../../api/resources.js';
import { SYSTEM_PRIORITY_CLASSES } from '../../api/validation/other.js';
import type { ApiServerCore } from '../core.js';

export { SYSTEM_PRIORITY_CLASSES };

/** Priority of pods when no PriorityClass is named and none is the global default (`DefaultPriorityWhenNoDefaultClassExists`). */
export const DEFAULT_PRIORITY_WHEN_NO_DEFAULT_CLASS = 0;
/** The preemption policy pods get when their class does not say (`PreemptLowerPriority`, upstream default). */
export const DEFAULT_PREEMPTION_POLICY = 'PreemptLowerPriority';

/** How long the cached class list is trusted for the global-default lookup. */
const CACHE_TTL_MS = 1_000;

/** The built-in class objects created at bootstrap (upstream `SystemPriorityClasses()`), with upstream descriptions. */
export function systemPriorityClasses(): KObject[] {
  const desc: Record<string, string> = {
    'system-node-critical': 'Used for system critical pods that must not be moved from their current node.',
    'system-cluster-critical': 'Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.',
  };
  return Object.entries(SYSTEM_PRIORITY_CLASSES).map(([name, value]) => ({
    apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name }, value, globalDefault: false,
    preemptionPolicy: DEFAULT_PREEMPTION_POLICY, description: desc[name],
  }));
}

/** Whether `name` is a built-in class that may not be deleted. */
export function isSystemPriorityClass(name: string | undefined): boolean {
  return name !== undefined && Object.prototype.hasOwnProperty.call(SYSTEM_PRIORITY_CLASSES, name);
}

/** Upstream `apierrors.NewForbidden(qualifiedResource, name, err)`: `<resource> "<name>" is forbidden: <why>`. */
export function forbidden(info: ResourceInfo, name: string | undefined, why: string): ApiError {
  const res = info.group ? `${info.resource}.${info.group}` : info.resource;
  return new ApiError(403, 'Forbidden', `${res} "${name ?? ''}" is forbidden: ${why}`, { name, ...(info.group ? { group: info.group } : {}), kind: info.resource });
}

/** The 403 for deleting a built-in class, or undefined when `name` may be deleted. */
export function checkPriorityClassDelete(info: ResourceInfo, name: string | undefined): ApiError | undefined {
  if (info.group !== 'scheduling.k8s.io' || info.kind !== 'PriorityClass' || !isSystemPriorityClass(name)) return undefined;
  return forbidden(info, name, 'this is a system priority class and cannot be deleted');
}

/** See the module comment. One per apiserver. */
export class PriorityAdmission {
  private cached?: { at: number; items: KObject[] };
  private readonly pcInfo: ResourceInfo;

  constructor(private readonly core: ApiServerCore, private readonly now: () => number = Date.now) {
    this.pcInfo = findResource('scheduling.k8s.io', 'v1', 'priorityclasses')!;
  }

  private async classes(): Promise<KObject[]> {
    const t = this.now();
    if (this.cached && t - this.cached.at < CACHE_TTL_MS) return this.cached.items;
    const items = (await this.core.registry.list(this.pcInfo, {})).items;
    this.cached = { at: t, items };
    return items;
  }

  /** The global default class (the lowest-valued one if several slipped in, as upstream `getDefaultPriorityClass`). */
  private async defaultClass(): Promise<KObject | undefined> {
    let best: KObject | undefined;
    for (const c of await this.classes()) {
      if (c.globalDefault !== true) continue;
      if (!best || (c.value as number) < (best.value as number)) best = c;
    }
    return best;
  }

  /** Runs on every create (wired as `ApiServerCore.admitCreate`). */
  async admitCreate(info: ResourceInfo, obj: KObject): Promise<void> {
    if (info.group === '' && info.kind === 'Pod') return this.admitPod(info, obj);
    if (info.group === 'scheduling.k8s.io' && info.kind === 'PriorityClass') return this.admitPriorityClass(info, obj);
  }

  private async admitPod(info: ResourceInfo, pod: KObject): Promise<void> {
    const spec = (pod.spec ??= {}) as Record<string, unknown>;
    const name = pod.metadata.name;
    let priority: number;
    let policy: string | undefined;
    const className = typeof spec.priorityClassName === 'string' ? spec.priorityClassName : '';
    if (!className) {
      const d = await this.defaultClass();
      if (d) {
        spec.priorityClassName = d.metadata.name;
        priority = d.value as number;
        policy = (d.preemptionPolicy as string | undefined) ?? DEFAULT_PREEMPTION_POLICY;
      } else {
        priority = DEFAULT_PRIORITY_WHEN_NO_DEFAULT_CLASS;
        policy = DEFAULT_PREEMPTION_POLICY;
      }
    } else {
      // A direct read, not the cache: a class created a moment ago must be found.
      const pc = await this.core.registry.tryGet(this.pcInfo, undefined, className);
      if (!pc) throw forbidden(info, name, `no PriorityClass with name ${className} was found`);
      priority = pc.value as number;
      policy = (pc.preemptionPolicy as string | undefined) ?? DEFAULT_PREEMPTION_POLICY;
    }
    if (typeof spec.priority === 'number' && spec.priority !== priority) {
      throw forbidden(info, name, `the integer value of priority (${spec.priority}) must not be provided in pod spec; priority admission controller computed ${priority} from the given PriorityClass name`);
    }
    spec.priority = priority;
    if (policy !== undefined) {
      if (typeof spec.preemptionPolicy === 'string' && spec.preemptionPolicy !== policy) {
        throw forbidden(info, name, `the string value of PreemptionPolicy (${spec.preemptionPolicy}) must not be provided in pod spec; priority admission controller computed ${policy} from the given PriorityClass name`);
      }
      spec.preemptionPolicy = policy;
    }
  }

  private async admitPriorityClass(info: ResourceInfo, pc: KObject): Promise<void> {
    this.cached = undefined;
    if (pc.globalDefault !== true) return;
    const d = await this.defaultClass();
    if (d && d.metadata.name !== pc.metadata.name) {
      throw forbidden(info, pc.metadata.name, `PriorityClass ${d.metadata.name} is already marked as default. Only one default can exist`);
    }
  }
}
