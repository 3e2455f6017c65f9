/** PrioritySort plugin: see `priority-sort.ts`. */
export * from './priority-sort.js';
