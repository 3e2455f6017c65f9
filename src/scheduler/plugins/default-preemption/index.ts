/** DefaultPreemption: see `default-preemption.ts`. */
export {
  NAME, DefaultPreemption, newDefaultPreemption, filterPodsWithPDBViolation, pickOneNodeForPreemption, moreImportantPod, type Candidate, type DefaultPreemptionArgs,
  ERR_NO_VICTIMS, ERR_NOT_HELPFUL, ERR_POLICY_NEVER,
  selectVictimsOnNode, dryRunPreemption, numCandidatesFor, noCandidatesMessage, prepareCandidate, preemptionPolicyForbids, spendPDBs,
  type VictimSearchOptions, type VictimSearchRunner,
} from './default-preemption.js';
export { Nominator } from './nominator.js';
