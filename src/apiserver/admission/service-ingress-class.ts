/**
 * The `DefaultIngressClass` admission plugin (upstream `plugin/pkg/admission/network/defaultingressclass`) and
 * Skiff's built-in IngressClass. An Ingress created without `spec.ingressClassName` (and without the deprecated
 * `kubernetes.io/ingress.class` annotation) gets the name of the IngressClass annotated
 * `ingressclass.kubernetes.io/is-default-class: "true"`; when several are, the newest wins (since 1.28), ties broken
 * by name, as upstream sorts them.
 */
import type { KObject } from '../../api/errors.js';
import { findResource, ResourceInfo } from '../../api/resources.js';
import type { ApiServerCore } from '../core.js';

export const DEFAULT_CLASS_ANNOTATION = 'ingressclass.kubernetes.io/is-default-class';
const LEGACY_CLASS_ANNOTATION = 'kubernetes.io/ingress.class';
/** Skiff's built-in ingress controller and the class that names it (k3s ships `traefik` the same way). */
export const SKIFF_INGRESS_CLASS = 'skiff';
export const SKIFF_INGRESS_CONTROLLER = 'skiff.dev/ingress';

/** The IngressClass created at bootstrap: `skiff`, the cluster default. */
export function defaultIngressClass(): KObject {
  return {
    apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass',
    metadata: { name: SKIFF_INGRESS_CLASS, annotations: { [DEFAULT_CLASS_ANNOTATION]: 'true' } },
    spec: { controller: SKIFF_INGRESS_CONTROLLER },
  };
}

export class DefaultIngressClassAdmission {
  constructor(private readonly core: ApiServerCore) {}

  async admitCreate(info: ResourceInfo, obj: KObject): Promise<void> {
    if (info.group !== 'networking.k8s.io' || info.kind !== 'Ingress') return;
    const spec = (obj.spec ??= {});
    if (typeof spec.ingressClassName === 'string' && spec.ingressClassName !== '') return;
    if (obj.metadata.annotations?.[LEGACY_CLASS_ANNOTATION] !== undefined) return;
    const name = await this.defaultClass();
    if (name) spec.ingressClassName = name;
  }

  /** The default IngressClass's name: the newest annotated one, the alphabetically first among equals. */
  private async defaultClass(): Promise<string | undefined> {
    const classes = (await this.core.registry.list(findResource('networking.k8s.io', 'v1', 'ingressclasses')!, {})).items
      .filter((c) => c.metadata.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true');
    classes.sort((a, b) => {
      const ta = a.metadata.creationTimestamp ?? '';
      const tb = b.metadata.creationTimestamp ?? '';
      if (ta !== tb) return ta < tb ? 1 : -1;
      return (a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1;
    });
    return classes[0]?.metadata.name;
  }
}
