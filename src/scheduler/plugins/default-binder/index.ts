/** DefaultBinder plugin: see `default-binder.ts`. */
export * from './default-binder.js';
