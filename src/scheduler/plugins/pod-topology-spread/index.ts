/** PodTopologySpread plugin: see `pod-topology-spread.ts`. */
export * from './pod-topology-spread.js';
