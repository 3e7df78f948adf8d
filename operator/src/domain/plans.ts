import { PlanResolved, Reason, type ConditionInput } from '../api/conditions.js';
import { plural } from '../api/text.js';

/** Where the account's workspace limit comes from: its plan, the fallback of an unresolved plan, or an override. */
export type LimitSource = 'Plan' | 'Fallback' | 'Override';

export interface ResolvedPlan {
  name: string | undefined;
  resolved: boolean;
  /** The limit in force: the override when there is one, else the plan's (or the fallback, 1). */
  workspaceLimit: number;
  /** What the plan alone would allow. */
  planLimit: number;
  source: LimitSource;
  condition: ConditionInput;
}

/** What of an account decides its limit (both fields of its spec). */
export interface LimitInputs {
  plan?: string | undefined;
  workspaceLimit?: number | undefined;
}

/**
 * The limit of the account: `spec.workspaceLimit` when set (Support raised or lowered it for this account), else
 * its plan's; a missing or unknown plan falls back to the most restrictive tier, 1.
 */
export function resolvePlan(spec: LimitInputs, catalog: Record<string, number>): ResolvedPlan {
  const { plan } = spec;
  const override = spec.workspaceLimit;
  const limit = plan === undefined ? undefined : catalog[plan];
  const withOverride = (p: Omit<ResolvedPlan, 'workspaceLimit' | 'source'>): ResolvedPlan =>
    override === undefined
      ? { ...p, workspaceLimit: p.planLimit, source: p.resolved ? 'Plan' : 'Fallback' }
      : {
          ...p,
          workspaceLimit: override,
          source: 'Override',
          condition: {
            ...p.condition,
            message: `${p.condition.message}; spec.workspaceLimit overrides it: ${plural(override, 'workspace')}`,
          },
        };
  if (plan !== undefined && limit !== undefined) {
    return withOverride({
      name: plan,
      resolved: true,
      planLimit: limit,
      condition: {
        type: PlanResolved,
        status: 'True',
        reason: Reason.PlanFound,
        message: `plan ${plan} allows ${plural(limit, 'workspace')}`,
      },
    });
  }
  const known = Object.keys(catalog).sort().join(', ');
  return withOverride({
    name: plan,
    resolved: false,
    planLimit: 1,
    condition: {
      type: PlanResolved,
      status: 'False',
      reason: plan === undefined ? Reason.NoPlan : Reason.UnknownPlan,
      message:
        plan === undefined
          ? `spec.plan is not set; the limit falls back to 1 workspace (plans: ${known})`
          : `plan ${plan} is not in the plan catalog (${known}); the limit falls back to 1 workspace`,
    },
  });
}

/**
 * The limit as a phrase for messages: "plan growth (5 workspaces)", or with an override "the limit of 7
 * workspaces set by spec.workspaceLimit (plan growth allows 5)", so a person sees which number is in force and why.
 */
export function describeLimit(p: ResolvedPlan): string {
  const plan = p.resolved ? `plan ${p.name}` : `plan ${p.name ?? '(none)'}, unresolved,`;
  return p.source === 'Override'
    ? `the limit of ${plural(p.workspaceLimit, 'workspace')} set by spec.workspaceLimit (${plan} allows ${p.planLimit})`
    : `${plan} (${plural(p.workspaceLimit, 'workspace')})`;
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
