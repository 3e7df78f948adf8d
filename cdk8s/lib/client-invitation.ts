import { Construct } from 'constructs';
import { ClientInvitationSpec } from '../../operator/src/api/v1alpha1/clientinvitation.js';
import * as tj from '../imports/taskjuice.io.js';
import { issuesOf, syncWaveAnnotation } from './validation.js';
import type { Workspace } from './workspace.js';

/** What an invitation needs besides its workspace and email (for `Workspace.invite`). */
export interface ClientInvitationOptions {
  /**
   * Name of the ClientInvitation object.
   *
   * @default - `<workspace slug>-<local part of the email>`, lower-cased, other characters as hyphens
   */
  readonly name?: string;
  /**
   * Revokes the invitation (and the access of a client who accepted it).
   *
   * @default false
   */
  readonly revoked?: boolean;
  /**
   * Raise to send the invitation again: a new link and a new 7-day expiry.
   *
   * @default 0
   */
  readonly resendRevision?: number;
  /**
   * Argo CD sync wave.
   *
   * @default - the workspace's wave plus one, so the workspace exists when the invitation is checked
   */
  readonly syncWave?: number | null;
}

export interface ClientInvitationProps extends ClientInvitationOptions {
  /** The workspace the client is invited into: a Workspace construct, or a slug with the account's namespace. */
  readonly workspace: Workspace | { slug: string; namespace: string };
  /** Email of the client; a teammate of the account cannot be invited. */
  readonly email: string;
}

function defaultName(slug: string, email: string): string {
  const local = (email.split('@')[0] ?? '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return `${slug}-${local || 'client'}`.slice(0, 63).replace(/-+$/, '');
}

/**
 * Invites one client email, read-only, into one workspace (ClientInvitation). The operator emails a single-use
 * link; the invitation is Ready once sent, so a GitOps sync never waits for a person to accept.
 */
export class ClientInvitation extends Construct {
  readonly name: string;
  readonly apiObject: tj.ClientInvitation;

  constructor(scope: Construct, id: string, props: ClientInvitationProps) {
    super(scope, id);
    const ws = props.workspace;
    this.name = props.name ?? defaultName(ws.slug, props.email);
    const workspaceWave = 'syncWave' in ws ? ws.syncWave : 1;
    const syncWave =
      props.syncWave !== undefined ? props.syncWave : workspaceWave === null ? null : workspaceWave + 1;
    const spec = {
      workspace: ws.slug,
      email: props.email,
      revoked: props.revoked ?? false,
      resendRevision: props.resendRevision ?? 0,
    };
    this.apiObject = new tj.ClientInvitation(this, 'Resource', {
      metadata: { name: this.name, namespace: ws.namespace, annotations: syncWaveAnnotation(syncWave) },
      spec,
    });
    if ('apiObject' in ws) this.node.addDependency(ws.apiObject);
    this.node.addValidation({
      validate: () => issuesOf(`ClientInvitation ${this.name}: spec`, ClientInvitationSpec.safeParse(spec)),
    });
  }
}
