/** NodeUnschedulable plugin: see `node-unschedulable.ts`. */
export * from './node-unschedulable.js';
