/**
 * The service-account controller (kube-controller-manager `pkg/controller/serviceaccount/serviceaccounts_controller.go`):
 * every active namespace has a `default` ServiceAccount, created when the namespace appears and re-created when it
 * is deleted. Namespaces that are not Active (Terminating) are skipped, and a create refused because the namespace
 * is terminating or already has one is not an error — as upstream.
 */
import type { Namespace, ServiceAccount } from 'kubernetes-types/core/v1.js';
import { controllerFor } from '../../client/controller.js';
import type { MetaObject } from '../../client/cache.js';
import { isAlreadyExists, isNamespaceTerminating } from '../../client/rest.js';
import type { ControllerContext, Runnable } from '../types.js';

/** The controller's name in kube-controller-manager (`--controllers=serviceaccount`). */
export const NAME = 'serviceaccount';
/** Accounts ensured in every namespace (upstream `DefaultServiceAccountsControllerOptions`: just `default`). */
export const SERVICE_ACCOUNTS = ['default'];


/** Builds the controller: keyed by namespace; ServiceAccount deletions enqueue their namespace. */
export function newServiceAccountsController(ctx: ControllerContext): Runnable {
  const namespaces = ctx.informers.for<Namespace & MetaObject>('v1', 'Namespace');
  const accounts = ctx.informers.for<ServiceAccount & MetaObject>('v1', 'ServiceAccount');
  const saClient = ctx.client.resource<ServiceAccount>('v1', 'ServiceAccount');
  return controllerFor(namespaces, { name: NAME, workers: 1, logger: ctx.logger(NAME), clock: ctx.clock })
    .watches(accounts, (sa) => (sa.metadata?.namespace && SERVICE_ACCOUNTS.includes(sa.metadata.name ?? '') ? [{ name: sa.metadata.namespace }] : []))
    .complete({
      async reconcile(req) {
        const ns = namespaces.lister.get(undefined, req.name);
        if (!ns || ns.status?.phase !== 'Active' || ns.metadata?.deletionTimestamp) return;
        for (const name of SERVICE_ACCOUNTS) {
          if (accounts.lister.get(req.name, name)) continue;
          try {
            await saClient.create(req.name, { metadata: { name } });
          } catch (err) {
            if (isAlreadyExists(err) || isNamespaceTerminating(err)) continue;
            throw err;
          }
        }
      },
    });
}
