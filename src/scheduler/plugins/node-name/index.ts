/** NodeName plugin: see `node-name.ts`. */
export * from './node-name.js';
