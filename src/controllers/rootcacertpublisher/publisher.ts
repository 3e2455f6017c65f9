/**
 * The root-ca-cert-publisher (kube-controller-manager `root-ca-cert-publisher`, upstream
 * `pkg/controller/certificates/rootcacertpublisher/publisher.go`): every active namespace has the ConfigMap
 * `kube-root-ca.crt` whose `ca.crt` is the cluster CA, the file pods find at
 * `/var/run/secrets/kubernetes.io/serviceaccount/ca.crt` (the ServiceAccount admission plugin projects it) to verify
 * the apiserver behind `kubernetes.default.svc`. It is created when a namespace appears, re-created when deleted and
 * repaired when its data or its `kubernetes.io/description` annotation drift. Terminating namespaces are skipped; a
 * create refused because the namespace is gone or terminating is not an error — as upstream.
 */
import type { ConfigMap, Namespace } from 'kubernetes-types/core/v1.js';
import type { MetaObject } from '../../client/cache.js';
import { controllerFor } from '../../client/controller.js';
import { isAlreadyExists, isNamespaceTerminating, isNotFound } from '../../client/rest.js';
import type { ControllerContext, Runnable } from '../types.js';

/** The controller's name in kube-controller-manager (`--controllers=root-ca-cert-publisher`). */
export const NAME = 'root-ca-cert-publisher';
/** The published ConfigMap (upstream `RootCACertConfigMapName`). */
export const ROOT_CA_CONFIGMAP = 'kube-root-ca.crt';
/** The annotation explaining the ConfigMap's purpose (upstream `DescriptionAnnotation`). */
export const DESCRIPTION_ANNOTATION = 'kubernetes.io/description';
/** Upstream's description text, word for word. */
export const DESCRIPTION =
  'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. ' +
  'No other usage is guaranteed across distributions of Kubernetes clusters.';


/**
 * Builds the controller, keyed by namespace; changes to any `kube-root-ca.crt` enqueue its namespace. The CA is
 * `ctx.config.rootCACertPem`, else the CA of the manager's client (upstream: --root-ca-file, else the client
 * config's CAData). Throws when there is none: the manager then logs that this controller does not run.
 */
export function newRootCACertPublisher(ctx: ControllerContext): Runnable {
  const rootCA = ctx.config.rootCACertPem || ctx.client.rest.config.ca;
  if (!rootCA) throw new Error(`${NAME}: no root CA: set the controller-manager's root CA (--root-ca-file) or use a client with a CA`);
  const namespaces = ctx.informers.for<Namespace & MetaObject>('v1', 'Namespace');
  const configMaps = ctx.informers.for<ConfigMap & MetaObject>('v1', 'ConfigMap');
  const cmClient = ctx.client.resource<ConfigMap>('v1', 'ConfigMap');
  const log = ctx.logger(NAME);
  const want = { 'ca.crt': rootCA };
  return controllerFor(namespaces, { name: NAME, workers: 1, logger: log, clock: ctx.clock })
    .watches(configMaps, (cm) => (cm.metadata?.namespace && cm.metadata.name === ROOT_CA_CONFIGMAP ? [{ name: cm.metadata.namespace }] : []))
    .complete({
      async reconcile(req) {
        const ns = namespaces.lister.get(undefined, req.name);
        if (!ns || ns.status?.phase === 'Terminating' || ns.metadata?.deletionTimestamp) return;
        const cm = configMaps.lister.get(req.name, ROOT_CA_CONFIGMAP);
        if (!cm) {
          try {
            await cmClient.create(req.name, { metadata: { name: ROOT_CA_CONFIGMAP, annotations: { [DESCRIPTION_ANNOTATION]: DESCRIPTION } }, data: { ...want } });
            log.info({ namespace: req.name }, 'CREATE kube-root-ca.crt');
          } catch (err) {
            // Already there (our cache lags): the update event brings it back here. Gone/terminating: nothing to do.
            if (isAlreadyExists(err) || isNotFound(err) || isNamespaceTerminating(err)) return;
            throw err;
          }
          return;
        }
        if (sameData(cm.data, want) && cm.metadata?.annotations?.[DESCRIPTION_ANNOTATION]) return;
        // Only data and the one annotation are ours; labels, other annotations and binaryData stay.
        const next: ConfigMap = {
          ...structuredClone(cm),
          data: { ...want },
          metadata: { ...structuredClone(cm.metadata), annotations: { ...(cm.metadata?.annotations ?? {}), [DESCRIPTION_ANNOTATION]: DESCRIPTION } },
        };
        await cmClient.update(req.name, next); // a conflict throws and is retried with the fresh object
        log.info({ namespace: req.name }, 'UPDATE kube-root-ca.crt repaired');
      },
    });
}

/** `reflect.DeepEqual(cm.Data, data)`: exactly the keys and values wanted, nothing more. */
function sameData(got: Record<string, string> | undefined, want: Record<string, string>): boolean {
  const g = got ?? {};
  const keys = Object.keys(want);
  return Object.keys(g).length === keys.length && keys.every((k) => g[k] === want[k]);
}
