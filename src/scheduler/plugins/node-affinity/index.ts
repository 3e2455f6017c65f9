/** NodeAffinity plugin: see `node-affinity.ts`. */
export * from './node-affinity.js';
