/** Coscheduling (gang scheduling): see `coscheduling.ts`. */
export { NAME, POD_GROUP_LABEL, Coscheduling, newCoscheduling, podGroupName, podGroupStatus, type CoschedulingArgs, type PodGroup } from './coscheduling.js';
