/** InterPodAffinity plugin: see `inter-pod-affinity.ts`. */
export * from './inter-pod-affinity.js';
