import { canonicalEmail } from '../../api/email.js';
import type { CachedObject } from '../../kube/informer.js';

/** What other controllers and the webhook need to know of a cached ClientInvitation, read defensively. */
export interface InvitationState {
  workspace: string | undefined;
  /** Canonical email, when the spec holds a valid one. */
  email: string | undefined;
  revoked: boolean;
  phase: string | undefined;
  deleting: boolean;
}

export function invitationState(inv: CachedObject): InvitationState {
  const spec = (inv.spec ?? {}) as { workspace?: unknown; email?: unknown; revoked?: unknown };
  const email = typeof spec.email === 'string' ? canonicalEmail(spec.email) : undefined;
  return {
    workspace: typeof spec.workspace === 'string' ? spec.workspace : undefined,
    email: email?.ok ? email.email : undefined,
    revoked: spec.revoked === true,
    phase: (inv.status as { phase?: string } | undefined)?.phase,
    deleting: inv.metadata.deletionTimestamp !== undefined,
  };
}

/** The client is a member of the workspace: accepted, not revoked, not being deleted. */
export const isMember = (s: InvitationState): boolean => s.phase === 'Accepted' && !s.revoked && !s.deleting;

/**
 * The person counts as a client of the account: invited (pending, or not yet seen by the operator) or a member.
 * Revoked, expired and rejected invitations do not.
 */
export const holdsClient = (s: InvitationState): boolean =>
  !s.revoked && !s.deleting && s.phase !== 'Expired' && s.phase !== 'Revoked' && s.phase !== 'Rejected';
