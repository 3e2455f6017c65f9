/**
 * Skiff's built-in Ingress controller for networking.k8s.io/v1 Ingress (IngressClass `skiff`, controller
 * `skiff.dev/ingress`). The node agent starts it with {@link startIngressController}.
 */

export { startIngressController, type IngressController, type IngressControllerOptions } from './controller.js';
export { CLASS_NAME, CONTROLLER_NAME, isOurIngress } from './routes.js';
