import { canonicalEmail, canonicalOrSelf } from '../api/email.js';
import type { AccountSpec, Teammate, TeammateRole } from '../api/v1alpha1/account.js';

/** The teammate entry of the person making a request, when the username is one of the account's teammates. */
export function teammateOf(spec: AccountSpec | undefined, username: string): Teammate | undefined {
  if (!spec) return undefined;
  const me = canonicalEmail(username);
  if (!me.ok) return undefined;
  return spec.teammates.find((t) => {
    const c = canonicalEmail(t.email);
    return c.ok && c.email === me.email;
  });
}

/** The account role of the person making a request, when the username is one of the account's teammates. */
export function roleOf(spec: AccountSpec | undefined, username: string): TeammateRole | undefined {
  return teammateOf(spec, username)?.role;
}

/** Whether a teammate reaches a workspace: every one without a workspaces list, else the listed ones. */
export const reaches = (t: Pick<Teammate, 'workspaces'>, slug: string): boolean =>
  t.workspaces === undefined || t.workspaces.includes(slug);

/** Emails of the teammates who reach the workspace: its staff. */
export function staffOf(spec: AccountSpec | undefined, slug: string): string[] {
  return (spec?.teammates ?? []).filter((t) => reaches(t, slug)).map((t) => t.email);
}

/**
 * Why the person may not act on a workspace, when they are a teammate limited to a list that leaves it out; an
 * identity that is not a teammate is governed by RBAC alone, and gets undefined.
 */
export function outsideReach(
  spec: AccountSpec | undefined,
  username: string,
  account: string,
  slug: string,
  action: string,
): string | undefined {
  const t = teammateOf(spec, username);
  if (!t?.workspaces || reaches(t, slug)) return undefined;
  const email = canonicalOrSelf(t.email);
  return `${action} requires reaching workspace ${slug}: ${email} is limited to ${t.workspaces.length === 1 ? 'workspace' : 'workspaces'} ${t.workspaces.join(', ')} of account ${account} (spec.teammates[].workspaces); ask a teammate who reaches it, or the platform team to add it to the list`;
}

/** Canonical emails of the teammates, with their roles. */
export function teammatesOf(spec: AccountSpec | undefined): Map<string, TeammateRole> {
  const out = new Map<string, TeammateRole>();
  for (const t of spec?.teammates ?? []) {
    const c = canonicalEmail(t.email);
    if (c.ok) out.set(c.email, t.role);
  }
  return out;
}

export const userSubject = (email: string) => ({
  kind: 'User',
  apiGroup: 'rbac.authorization.k8s.io',
  name: canonicalOrSelf(email),
});

/** A RoleBinding in `namespace` of `clusterRole` to `emails`, or undefined when nobody holds it. */
export function roleBinding(
  namespace: string,
  name: string,
  clusterRole: string,
  emails: string[],
  labels: Record<string, string>,
) {
  if (emails.length === 0) return undefined;
  const names = [...new Set(emails.map(canonicalOrSelf))].sort();
  return {
    metadata: { name, namespace, labels },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterRole },
    subjects: names.map(userSubject),
  };
}
