/**
 * The root-ca-cert-publisher's registration (kube-controller-manager `root-ca-cert-publisher`): the ConfigMap
 * `kube-root-ca.crt` with the cluster CA in every active namespace, for in-cluster API clients.
 */
import type { ControllerDefinition } from '../types.js';
import { NAME, newRootCACertPublisher } from './publisher.js';

export { DESCRIPTION, DESCRIPTION_ANNOTATION, NAME, ROOT_CA_CONFIGMAP, newRootCACertPublisher } from './publisher.js';

/** Registered by the controller-manager as `root-ca-cert-publisher`; the CA comes from `config.rootCACertPem`. */
export const definition: ControllerDefinition = {
  name: NAME,
  setup: (ctx) => newRootCACertPublisher(ctx),
};
