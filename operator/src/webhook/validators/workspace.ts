import { Annotations, WORKSPACE_FINALIZER } from '../../api/v1alpha1/group.js';
import { SLUG_PATTERN, SLUG_RULE, WorkspaceSpec } from '../../api/v1alpha1/workspace.js';
import type { AdmissionRequest } from '../review.js';
import { type WebhookView } from '../view.js';
import { ReviewedObject, allowed, reviewed, denied, plural, type Decision } from './decision.js';
import { copiedElsewhere } from '../../domain/connections.js';
import { describeLimit, type ResolvedPlan } from '../../domain/plans.js';
import { outsideReach, roleOf } from '../../domain/teammates.js';

const SLUG = new RegExp(SLUG_PATTERN);

/**
 * Workspaces: created only in an account's home namespace, by an Owner or Admin, within the plan's limit (the
 * friendly check; the account's ResourceQuota is the atomic one), and deleted only when confirmed.
 */
export async function validateWorkspace(req: AdmissionRequest, view: WebhookView): Promise<Decision> {
  const account = req.namespace ?? '';
  const spec = await view.account(account);
  const role = roleOf(spec, req.userInfo.username);

  if (req.operation === 'DELETE') {
    if (view.isSystem(req.userInfo.username)) return allowed();
    const old = ReviewedObject.safeParse(req.oldObject);
    const name = req.name ?? old.data?.metadata.name ?? '';
    if (role === 'Member') return denied('deleting workspaces requires the Owner or Admin role');
    const limited = outsideReach(spec, req.userInfo.username, account, name, `deleting workspace ${name}`);
    if (limited) return denied(limited);
    const held = copiedElsewhere(name, view.connections(account));
    if (held) return denied(held);
    if (old.data?.metadata.annotations?.[Annotations.confirmDelete] !== name) {
      return denied(
        `deleting workspace ${name} deletes its client's data; confirm by setting the annotation ${Annotations.confirmDelete}=${name} on it first (kubectl annotate workspace ${name} -n ${account} ${Annotations.confirmDelete}=${name})`,
      );
    }
    return allowed();
  }
  if (req.operation !== 'CREATE' && req.operation !== 'UPDATE') return allowed();

  const review = reviewed(req.object, 'Workspace', WorkspaceSpec);
  if (!review.ok) return review.denial;
  const { obj } = review;
  if (req.operation === 'UPDATE') {
    // Without its finalizer a deleted Workspace vanishes at once, leaving its schema, role and namespace behind.
    const before = ReviewedObject.safeParse(req.oldObject).data?.metadata.finalizers ?? [];
    const after = obj.metadata.finalizers ?? [];
    if (
      before.includes(WORKSPACE_FINALIZER) &&
      !after.includes(WORKSPACE_FINALIZER) &&
      !view.isSystem(req.userInfo.username)
    ) {
      return denied(
        `metadata.finalizers: ${WORKSPACE_FINALIZER} is removed by workspace-operator once the database schema, role and namespace of workspace ${obj.metadata.name} are gone; delete the Workspace (after confirming with the ${Annotations.confirmDelete} annotation) instead of removing the finalizer`,
      );
    }
    const slug = obj.metadata.name;
    const limited = outsideReach(spec, req.userInfo.username, account, slug, `changing workspace ${slug}`);
    return limited ? denied(limited) : allowed();
  }

  const name = obj.metadata.name;
  if (!SLUG.test(name)) return denied(`metadata.name (the slug) "${name}" ${SLUG_RULE}`);
  if (!spec) {
    return denied(
      `namespace ${account} is not the home namespace of an Account; create workspaces in their account's namespace`,
    );
  }
  if (role === 'Member') return denied('creating workspaces requires the Owner or Admin role');
  const limited = outsideReach(spec, req.userInfo.username, account, name, `creating workspace ${name}`);
  if (limited) return denied(limited);
  // Before the plan: a create of a slug already in use is a naming problem, whatever room the plan has left.
  const taken = view.workspaceCached(account, name);
  if (taken) {
    return denied(
      `metadata.name: This slug is already taken. Account ${account} already has a workspace ${name}${taken.deleting ? ' (it is being deleted; the slug is free once it is gone)' : ''}; slugs must be unique within an account, choose a different one`,
    );
  }

  const plan = view.plan(spec);
  const limit = plan.workspaceLimit;
  const count = view.workspaceCount(account);
  if (count >= limit) return denied(planLimitMessage(account, plan));
  // Counted at once (nothing is awaited between the count and here), so concurrent creates see each other.
  if (req.dryRun !== true) view.admitWorkspace(account, name);
  const of =
    plan.source === 'Override'
      ? `${plural(limit, 'workspace')}, ${describeLimit(plan)}`
      : `${plural(limit, 'workspace')} of plan ${spec.plan ?? '(unresolved)'}`;
  const warnings =
    count + 1 === limit
      ? [`account ${account} now uses ${limit} of ${of}; the next create will be rejected`]
      : [];
  return allowed(warnings);
}

/** The refusal at the limit, in the product's words: the plan's, or the override Support set and can raise again. */
function planLimitMessage(account: string, plan: ResolvedPlan): string {
  if (plan.source === 'Override') {
    return `account ${account} allows ${plural(plan.workspaceLimit, 'workspace')}, a limit set for it by Support in spec.workspaceLimit (plan ${plan.name ?? '(none)'} alone allows ${plan.planLimit}); reach out to Support to increase the workspaces limit, or delete a workspace`;
  }
  return plan.resolved
    ? `plan ${plan.name} allows ${plural(plan.workspaceLimit, 'workspace')}; upgrade the plan or delete a workspace`
    : `the plan of account ${account} is not resolved, so it allows 1 workspace; set spec.plan to a plan from the catalog or delete a workspace`;
}
