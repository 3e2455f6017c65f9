/**
 * The apiserver's create-time admission chain (upstream's mutating/validating admission plugins that Skiff runs
 * in-process): `ServiceAccount`, `Priority` and `DefaultIngressClass`. `skiff server` sets `ApiServerCore.admitCreate` to {@link admissionChain}.
 */
import type { KObject } from '../../api/errors.js';
import type { RequestContext } from '../context.js';
import type { ApiServerCore } from '../core.js';
import { PriorityAdmission } from './priority.js';
import { DefaultIngressClassAdmission } from './service-ingress-class.js';
import { ServiceAccountAdmission } from './service-account.js';

export { PriorityAdmission, checkPriorityClassDelete, systemPriorityClasses, isSystemPriorityClass } from './priority.js';
export { ServiceAccountAdmission, SERVICE_ACCOUNT_MOUNT_PATH, ROOT_CA_CONFIGMAP, tokenVolumeSource } from './service-account.js';

/** Builds the function to assign to `core.admitCreate`: each plugin in upstream's order. */
export function admissionChain(core: ApiServerCore): (ctx: RequestContext, obj: KObject) => Promise<void> {
  const serviceAccount = new ServiceAccountAdmission(core);
  const priority = new PriorityAdmission(core);
  const ingressClass = new DefaultIngressClassAdmission(core);
  return async (ctx, obj) => {
    await serviceAccount.admitCreate(ctx.info, obj);
    await priority.admitCreate(ctx.info, obj);
    await ingressClass.admitCreate(ctx.info, obj);
  };
}
