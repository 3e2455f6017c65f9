/** NodeResourcesFit plugin: see `node-resources-fit.ts`. */
export * from './node-resources-fit.js';
