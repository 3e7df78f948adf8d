import { Annotations, Labels } from '../../api/v1alpha1/group.js';
import type { AdmissionRequest } from '../review.js';
import type { WebhookView } from '../view.js';
import { ReviewedObject, allowed, denied, type Decision } from './decision.js';

/** The operator's namespaces hold client data: deleting one directly needs the same confirmation as a Workspace. */
export async function validateNamespace(req: AdmissionRequest, view: WebhookView): Promise<Decision> {
  if (req.operation !== 'DELETE' || view.isSystem(req.userInfo.username)) return allowed();
  const old = ReviewedObject.safeParse(req.oldObject);
  if (!old.success) return denied('the namespace under deletion could not be read');
  const { name, labels = {}, annotations = {} } = old.data.metadata;
  const account = labels[Labels.account];
  if (!account || annotations[Annotations.confirmDelete] === name) return allowed();
  const confirm = `confirm with: kubectl annotate namespace ${name} ${Annotations.confirmDelete}=${name}`;
  if (labels[Labels.component] === 'workspace') {
    return denied(
      `namespace ${name} belongs to workspace ${labels[Labels.workspace] ?? '?'} of account ${account} and holds its data; delete the Workspace instead, or ${confirm}`,
    );
  }
  return denied(
    `namespace ${name} is the home of account ${account} and holds its workspaces; delete the Account instead, or ${confirm}`,
  );
}
