import { canonicalEmail } from '../../api/email.js';
import { ACCOUNT_NAME_PATTERN, AccountSpec } from '../../api/v1alpha1/account.js';
import { Labels } from '../../api/v1alpha1/group.js';
import type { AdmissionRequest } from '../review.js';
import { type WebhookView } from '../view.js';
import { ReviewedObject, allowed, reviewed, denied, plural, type Decision } from './decision.js';
import { describeLimit } from '../../domain/plans.js';
import { roleOf, teammatesOf } from '../../domain/teammates.js';

const RESERVED = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

/** Accounts: a valid spec, a name that can be its home namespace, no teammate who is a client, no deletion with workspaces. */
export async function validateAccount(req: AdmissionRequest, view: WebhookView): Promise<Decision> {
  if (req.operation === 'DELETE') {
    const name = req.name ?? ReviewedObject.safeParse(req.oldObject).data?.metadata.name ?? '';
    // Deleting the account deletes its home namespace and everything in it: decide on the API server's list.
    const { count, names } = await view.workspacesLive(name);
    if (count > 0) {
      return denied(
        `account ${name} still has ${plural(count, 'workspace')} (${names.join(', ')}${count > names.length ? ', …' : ''}); delete its workspaces before the account`,
      );
    }
    return allowed();
  }
  if (req.operation !== 'CREATE' && req.operation !== 'UPDATE') return allowed();

  const review = reviewed(req.object, 'Account', AccountSpec);
  if (!review.ok) return review.denial;
  const { spec } = review;
  const name = review.obj.metadata.name;

  if (req.operation === 'CREATE') {
    if (!new RegExp(ACCOUNT_NAME_PATTERN).test(name) || RESERVED.includes(name) || name.startsWith('kube-')) {
      return denied(
        `metadata.name "${name}" must be a DNS label (at most 63 lower-case letters, digits and hyphens, no leading or trailing hyphen) and not a reserved namespace (default, kube-*), because it names the account's home namespace`,
      );
    }
    const labels = await view.namespaceLabels(name);
    if (labels && !(labels[Labels.account] === name && labels[Labels.component] === 'home')) {
      return denied(
        `namespace ${name} already exists and is not an account's home; choose another name for the account`,
      );
    }
  }

  // A quick look at the caches: a teammate who is already a client is refused with where they are a client.
  // The atomic decision is the reservation the server makes for every teammate after this.
  const clients = view.clients(name);
  for (const [i, t] of spec.teammates.entries()) {
    const email = canonicalEmail(t.email);
    if (!email.ok) continue;
    const workspaces = clients.get(email.email);
    if (workspaces) {
      return denied(
        `spec.teammates[${i}].email: ${email.email} is a client of ${workspaces.length === 1 ? 'workspace' : 'workspaces'} ${workspaces.join(', ')} in account ${name}; a person cannot be both a teammate and a client of one account (revoke the invitation first, or use another address)`,
      );
    }
  }

  // The override is Support's lever, beside billing: a teammate granted edits of its own Account (RBAC of the
  // platform's choosing) still cannot raise its limit.
  const old =
    req.operation === 'UPDATE'
      ? AccountSpec.safeParse(ReviewedObject.safeParse(req.oldObject).data?.spec).data
      : undefined;
  if (old?.workspaceLimit !== spec.workspaceLimit) {
    const role = roleOf(spec, req.userInfo.username) ?? roleOf(old, req.userInfo.username);
    if (role) {
      return denied(
        `spec.workspaceLimit: the workspace limit of account ${name} is set by Support (the platform team that manages Accounts); ${req.userInfo.username} is a teammate (${role}) of the account and cannot change it; reach out to Support to increase the workspaces limit`,
      );
    }
  }

  const warnings: string[] = [];
  const plan = view.plan(spec);
  if (!plan.resolved) {
    warnings.push(
      `plan ${spec.plan ?? '(none)'} is not in the plan catalog; account ${name} may have 1 workspace`,
    );
  }
  const count = view.workspaceCount(name);
  // GitOps may list a workspace before it is created: a warning, not a refusal, in case it is a typo.
  for (const [i, t] of spec.teammates.entries()) {
    const missing = (t.workspaces ?? []).filter((w) => !view.hasWorkspace(name, w));
    if (missing.length > 0) {
      warnings.push(
        `spec.teammates[${i}].workspaces: ${missing.join(', ')} ${missing.length === 1 ? 'is not a workspace' : 'are not workspaces'} of account ${name} yet; ${t.email} reaches ${missing.length === 1 ? 'it' : 'them'} once created`,
      );
    }
  }
  if (count > plan.workspaceLimit) {
    warnings.push(
      `account ${name} has ${count} workspaces, more than ${describeLimit(plan)} allows; no new workspace can be created`,
    );
  }
  // Teammates the account already had hold their claims; only the new ones need reserving.
  const before = new Set(req.operation === 'UPDATE' ? teammatesOf(old).keys() : []);
  const claims = spec.teammates.flatMap((t) => {
    const email = canonicalEmail(t.email);
    return email.ok && !before.has(email.email)
      ? [{ account: name, email: email.email, population: 'staff' as const }]
      : [];
  });
  return allowed(warnings, claims);
}
