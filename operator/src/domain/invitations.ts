import { canonicalEmail } from '../api/email.js';
import type { InvitationObject } from '../caches.js';

/** What other controllers and the webhook need to know of a cached ClientInvitation. */
export interface InvitationState {
  workspace: string | undefined;
  /** Canonical email, when the spec holds a valid one. */
  email: string | undefined;
  revoked: boolean;
  phase: string | undefined;
  deleting: boolean;
}

export function invitationState(inv: InvitationObject): InvitationState {
  const email = inv.spec && canonicalEmail(inv.spec.email);
  return {
    workspace: inv.spec?.workspace,
    email: email?.ok ? email.email : undefined,
    revoked: inv.spec?.revoked === true,
    phase: inv.status?.phase,
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

/** An invitation email, as a mailer delivers it. */
export interface Invitation {
  to: string;
  link: string;
  workspace: string;
  account: string;
  expiresAt: Date;
}

/** Delivers invitation links. */
export interface Mailer {
  send(invitation: Invitation): Promise<void>;
}

/** The link in the email: the accept endpoint with the token. */
export function acceptLink(base: string, token: string): string {
  const url = new URL(base);
  url.searchParams.set('token', token);
  return url.toString();
}
