import { canonicalEmail, canonicalOrSelf } from '../api/email.js';
import type { AccountSpec, TeammateRole } from '../api/v1alpha1/account.js';

/** The account role of the person making a request, when the username is one of the account's teammates. */
export function roleOf(spec: AccountSpec | undefined, username: string): TeammateRole | undefined {
  if (!spec) return undefined;
  const me = canonicalEmail(username);
  if (!me.ok) return undefined;
  for (const t of spec.teammates) {
    const c = canonicalEmail(t.email);
    if (c.ok && c.email === me.email) return t.role;
  }
  return undefined;
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
