import { canonicalEmail } from '../../api/email.js';
import { ClientInvitationSpec } from '../../api/v1alpha1/clientinvitation.js';
import type { AdmissionRequest } from '../review.js';
import { type WebhookView } from '../view.js';
import { ReviewedObject, allowed, reviewed, denied, type Decision } from './decision.js';
import { outsideReach, roleOf, teammatesOf } from '../../domain/teammates.js';

/**
 * Invitations: into an existing workspace of the account, by an Owner or Admin who reaches it, never for a
 * teammate (of any workspace: staff and clients are exclusive on the whole account).
 */
export async function validateInvitation(req: AdmissionRequest, view: WebhookView): Promise<Decision> {
  const account = req.namespace ?? '';
  const user = req.userInfo.username;
  if (req.operation === 'DELETE') {
    // A teammate limited to some workspaces revokes nothing of the others' clients, by deletion either.
    const old = ClientInvitationSpec.safeParse(ReviewedObject.safeParse(req.oldObject).data?.spec).data;
    if (!old) return allowed();
    const limited = outsideReach(
      await view.account(account),
      user,
      account,
      old.workspace,
      `deleting invitations of workspace ${old.workspace}`,
    );
    return limited ? denied(limited) : allowed();
  }
  if (req.operation !== 'CREATE' && req.operation !== 'UPDATE') return allowed();
  const review = reviewed(req.object, 'ClientInvitation', ClientInvitationSpec);
  if (!review.ok) return review.denial;
  const { spec } = review;
  if (req.operation === 'UPDATE') {
    const limited = outsideReach(
      await view.account(account),
      user,
      account,
      spec.workspace,
      `changing invitations of workspace ${spec.workspace}`,
    );
    return limited ? denied(limited) : allowed();
  }

  const accountSpec = await view.account(account);
  if (!accountSpec) return denied(`namespace ${account} is not the home namespace of an Account`);
  if (roleOf(accountSpec, user) === 'Member') {
    return denied('inviting clients requires the Owner or Admin role');
  }
  const limited = outsideReach(
    accountSpec,
    user,
    account,
    spec.workspace,
    `inviting clients into workspace ${spec.workspace}`,
  );
  if (limited) return denied(limited);
  if (!(await view.workspaceExists(account, spec.workspace))) {
    return denied(
      `spec.workspace: workspace ${spec.workspace} does not exist in account ${account}; create the Workspace first`,
    );
  }
  const email = canonicalEmail(spec.email);
  if (!email.ok) return denied(`spec.email: ${email.reason}`);
  const role = teammatesOf(accountSpec).get(email.email);
  if (role) {
    return denied(
      `spec.email: ${email.email} is a teammate (${role}) of account ${account}; a teammate cannot also be a client of the same account (invite a different address for client access)`,
    );
  }
  return allowed([], [{ account, email: email.email, population: 'client' }]);
}
