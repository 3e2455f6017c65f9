/** DefaultPreemption: see `default-preemption.ts`. */
export { NAME, DefaultPreemption, newDefaultPreemption, filterPodsWithPDBViolation, pickOneNodeForPreemption, moreImportantPod, type Candidate, type DefaultPreemptionArgs, ERR_NO_VICTIMS, ERR_NOT_HELPFUL, ERR_POLICY_NEVER } from './default-preemption.js';
export { Nominator } from './nominator.js';
