import { PlanResolved, Reason, type ConditionInput } from '../api/conditions.js';
import { plural } from '../api/text.js';

export interface ResolvedPlan {
  name: string | undefined;
  resolved: boolean;
  workspaceLimit: number;
  condition: ConditionInput;
}

/** The limit of the account's plan; a missing or unknown plan falls back to the most restrictive tier, 1. */
export function resolvePlan(plan: string | undefined, catalog: Record<string, number>): ResolvedPlan {
  const limit = plan === undefined ? undefined : catalog[plan];
  if (plan !== undefined && limit !== undefined) {
    return {
      name: plan,
      resolved: true,
      workspaceLimit: limit,
      condition: {
        type: PlanResolved,
        status: 'True',
        reason: Reason.PlanFound,
        message: `plan ${plan} allows ${plural(limit, 'workspace')}`,
      },
    };
  }
  const known = Object.keys(catalog).sort().join(', ');
  return {
    name: plan,
    resolved: false,
    workspaceLimit: 1,
    condition: {
      type: PlanResolved,
      status: 'False',
      reason: plan === undefined ? Reason.NoPlan : Reason.UnknownPlan,
      message:
        plan === undefined
          ? `spec.plan is not set; the limit falls back to 1 workspace (plans: ${known})`
          : `plan ${plan} is not in the plan catalog (${known}); the limit falls back to 1 workspace`,
    },
  };
}

/**
 * Whether a workspace falls beyond its account's plan, counting the account's workspaces in creation order (name
 * breaks ties within a second): the first `limit` are within it. Admission keeps the count within the plan, but
 * the quota controller's periodic recount can, in a narrow window, miss a create that admission has just counted
 * and let one more through; this is the check that keeps such a workspace from being provisioned.
 */
export function beyondPlanLimit(
  self: { metadata: { name: string; creationTimestamp?: unknown } },
  siblings: Iterable<{ metadata: { name: string; creationTimestamp?: unknown } }>,
  limit: number,
): boolean {
  const created = (w: { metadata: { creationTimestamp?: unknown } }) =>
    typeof w.metadata.creationTimestamp === 'string' ? w.metadata.creationTimestamp : '';
  const mine = created(self);
  if (limit <= 0) return true;
  let before = 0;
  for (const w of siblings) {
    if (w.metadata.name === self.metadata.name) continue;
    const theirs = created(w);
    if (theirs < mine || (theirs === mine && w.metadata.name < self.metadata.name)) before++;
    if (before >= limit) return true;
  }
  return false;
}
