/** TaintToleration plugin: see `taint-toleration.ts`. */
export * from './taint-toleration.js';
