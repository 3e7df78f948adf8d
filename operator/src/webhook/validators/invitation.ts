import { canonicalEmail } from '../../api/email.js';
import { ClientInvitationSpec } from '../../api/v1alpha1/clientinvitation.js';
import type { AdmissionRequest } from '../review.js';
import { type WebhookView } from '../view.js';
import { allowed, reviewed, denied, type Decision } from './decision.js';
import { roleOf, teammatesOf } from '../../domain/teammates.js';

/** Invitations: into an existing workspace of the account, by an Owner or Admin, never for a teammate. */
export async function validateInvitation(req: AdmissionRequest, view: WebhookView): Promise<Decision> {
  if (req.operation !== 'CREATE' && req.operation !== 'UPDATE') return allowed();
  const review = reviewed(req.object, 'ClientInvitation', ClientInvitationSpec);
  if (!review.ok) return review.denial;
  const { spec } = review;
  if (req.operation === 'UPDATE') return allowed();

  const account = req.namespace ?? '';
  const accountSpec = await view.account(account);
  if (!accountSpec) return denied(`namespace ${account} is not the home namespace of an Account`);
  if (roleOf(accountSpec, req.userInfo.username) === 'Member') {
    return denied('inviting clients requires the Owner or Admin role');
  }
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
