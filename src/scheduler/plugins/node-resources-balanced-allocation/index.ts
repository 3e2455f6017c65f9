/** NodeResourcesBalancedAllocation plugin: see `node-resources-balanced-allocation.ts`. */
export * from './node-resources-balanced-allocation.js';
