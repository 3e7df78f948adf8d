import { GROUP, VERSION } from '../../api/v1alpha1/group.js';
import type { AdmissionRequest } from '../review.js';
import type { WebhookView } from '../view.js';
import { validateAccount } from './account.js';
import { validateConnection, validateCredentialsSecret } from './connection.js';
import { denied, type Decision } from './decision.js';
import { validateInvitation } from './invitation.js';
import { validateNamespace } from './namespace.js';
import { validateWorkspace } from './workspace.js';

export type { ClaimRequest, Decision } from './decision.js';

/**
 * The validator for the request's kind. A kind or version this webhook does not know is denied: it only sees
 * what its configuration sends it, so anything else is a misconfiguration, and failing closed is the safe answer.
 */
export function validate(req: AdmissionRequest, view: WebhookView): Promise<Decision> {
  const { group, version, kind } = req.kind;
  if (group === GROUP && version === VERSION) {
    if (kind === 'Account') return validateAccount(req, view);
    if (kind === 'Workspace') return validateWorkspace(req, view);
    if (kind === 'ClientInvitation') return validateInvitation(req, view);
    if (kind === 'Connection') return validateConnection(req, view);
  }
  if (group === '' && version === 'v1' && kind === 'Secret') return validateCredentialsSecret(req, view);
  if (group === '' && version === 'v1' && kind === 'Namespace') return validateNamespace(req, view);
  return Promise.resolve(
    denied(`workspace-operator does not validate ${group || 'core'}/${version} ${kind}`),
  );
}
