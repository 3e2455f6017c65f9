/**
 * Matching a failed Pod against a Job's `spec.podFailurePolicy` (upstream pkg/controller/job/pod_failure_policy.go):
 * rules are tried in order; the first rule whose `onExitCodes` (a non-zero terminated exit code of a matching
 * container, init containers first) or `onPodConditions` (a pod condition with that type and status) matches decides
 * the action. Without a match the failure counts against the backoff limit.
 */
import type { Job, PodFailurePolicy } from 'kubernetes-types/batch/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';

/** The four actions of a pod failure policy rule (`batch.PodFailurePolicyAction`). */
export type PodFailurePolicyAction = 'FailJob' | 'FailIndex' | 'Ignore' | 'Count';

/** Outcome of matching one Pod: the FailJob message, whether the failure counts, and the matched action. */
export interface PodFailurePolicyMatch {
  failJobMessage?: string;
  countFailed: boolean;
  action?: PodFailurePolicyAction;
}

/** Matches `pod` (assumed failed) against `policy`, as upstream's `matchPodFailurePolicy`. */
export function matchPodFailurePolicy(policy: PodFailurePolicy | undefined, pod: Pod): PodFailurePolicyMatch {
  if (!policy) return { countFailed: true };
  const ns = pod.metadata?.namespace ?? '';
  const name = pod.metadata?.name ?? '';
  for (const [index, rule] of (policy.rules ?? []).entries()) {
    const action = rule.action as PodFailurePolicyAction;
    let jobMessage: string | undefined;
    if (rule.onExitCodes) {
      const req = rule.onExitCodes;
      const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
      const hit = statuses.find((cs) => {
        const code = cs.state?.terminated?.exitCode;
        if (code === undefined || code === 0) return false;
        if (req.containerName && req.containerName !== cs.name) return false;
        const listed = (req.values ?? []).includes(code);
        return req.operator === 'In' ? listed : req.operator === 'NotIn' ? !listed : false;
      });
      if (!hit) continue;
      jobMessage = `Container ${hit.name} for pod ${ns}/${name} failed with exit code ${hit.state!.terminated!.exitCode} matching ${action} rule at index ${index}`;
    } else if (rule.onPodConditions) {
      const cond = (pod.status?.conditions ?? []).find((c) =>
        rule.onPodConditions!.some((p) => p.type === c.type && (p.status ?? 'True') === c.status),
      );
      if (!cond) continue;
      jobMessage = `Pod ${ns}/${name} has condition ${cond.type} matching ${action} rule at index ${index}`;
    } else continue;
    switch (action) {
      case 'Ignore':
        return { countFailed: false, action };
      case 'Count':
      case 'FailIndex':
        return { countFailed: true, action };
      case 'FailJob':
        return { failJobMessage: jobMessage, countFailed: true, action };
      default:
        continue;
    }
  }
  return { countFailed: true };
}

/** True when the Job has a policy and the pod matched a rule whose action is FailIndex. */
export function matchesFailIndex(job: Job, pod: Pod): boolean {
  return matchPodFailurePolicy(job.spec?.podFailurePolicy, pod).action === 'FailIndex';
}
