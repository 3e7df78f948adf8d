import { Duration } from 'cdk8s';
import { Construct } from 'constructs';
import { SLUG_PATTERN, WorkspaceSpec } from '../../operator/src/api/v1alpha1/workspace.js';
import * as tj from '../imports/taskjuice.io.js';
import type { Account } from './account.js';
import { ClientInvitation, type ClientInvitationOptions } from './client-invitation.js';
import { Connection, type ConnectionCopyOptions, type ConnectionOptions } from './connection.js';
import { issuesOf, syncWaveAnnotation } from './validation.js';

/** What a Workspace needs besides its account and slug (for `Account.addWorkspace`). */
export interface WorkspaceOptions {
  /** Name of the client engagement as people read it, 1 to 100 characters; the only field that can be renamed. */
  readonly displayName: string;
  /**
   * At most 1000 characters.
   *
   * @default - none
   */
  readonly description?: string;
  /**
   * Whether the workspace gets beta features.
   *
   * @default true
   */
  readonly betaOptIn?: boolean;
  /**
   * How long an approval waits before it times out, from 1 minute to 7 days.
   *
   * @default Duration.days(1)
   */
  readonly approvalTimeout?: Duration;
  /**
   * Argo CD sync wave.
   *
   * @default - the account's wave plus one (1 unless the Account says otherwise)
   */
  readonly syncWave?: number | null;
  /**
   * Extra labels.
   *
   * @default - none
   */
  readonly labels?: Record<string, string>;
}

export interface WorkspaceProps extends WorkspaceOptions {
  /**
   * The account: an Account construct (ordered before this workspace in the output), or the name of an account
   * declared elsewhere.
   */
  readonly account: Account | string;
  /**
   * The workspace's slug and name: 2 to 50 lower-case letters, digits and hyphens, no leading or trailing hyphen.
   * Unique within the account and immutable.
   */
  readonly slug: string;
}

/**
 * One client engagement (Workspace), in its account's home namespace. The operator gives it its own namespace, a
 * PostgreSQL schema and role, and a Secret with the credentials.
 */
export class Workspace extends Construct {
  readonly slug: string;
  /** The account's home namespace, where this object lives. */
  readonly namespace: string;
  readonly syncWave: number | null;
  readonly apiObject: tj.Workspace;

  constructor(scope: Construct, id: string, props: WorkspaceProps) {
    super(scope, id);
    const account = typeof props.account === 'string' ? undefined : props.account;
    this.slug = props.slug;
    this.namespace = typeof props.account === 'string' ? props.account : props.account.namespace;
    const accountWave = account ? account.syncWave : 0;
    this.syncWave =
      props.syncWave !== undefined ? props.syncWave : accountWave === null ? null : accountWave + 1;
    const spec = {
      displayName: props.displayName,
      description: props.description,
      betaOptIn: props.betaOptIn ?? true,
      approvalTimeoutSeconds: (props.approvalTimeout ?? Duration.days(1)).toSeconds(),
    };
    this.apiObject = new tj.Workspace(this, 'Resource', {
      metadata: {
        name: props.slug,
        namespace: this.namespace,
        labels: props.labels,
        annotations: syncWaveAnnotation(this.syncWave),
      },
      spec,
    });
    // kubectl apply of the synthesized file then creates the account before its workspaces.
    if (account) this.node.addDependency(account.apiObject);
    this.node.addValidation({
      validate: () => [
        ...(new RegExp(SLUG_PATTERN).test(props.slug)
          ? []
          : [
              `Workspace ${props.slug}: the slug must be 2 to 50 lower-case letters, digits and hyphens, with no leading or trailing hyphen`,
            ]),
        ...issuesOf(`Workspace ${props.slug}: spec`, WorkspaceSpec.safeParse(spec)),
      ],
    });
  }

  /** A connection of this workspace whose credentials come from a Secret of the account namespace. */
  connect(name: string, options: ConnectionOptions): Connection {
    return new Connection(this, `connection-${name}`, {
      workspace: this,
      name,
      displayName: options.displayName,
      source: { provider: options.provider, secretName: options.secretName },
      syncWave: options.syncWave,
    });
  }

  /**
   * Improvado's "create a workspace with connections": a copy in this workspace of each given connection of other
   * workspaces of the account. Each copy carries its lineage source's credentials and follows its reconnects.
   */
  copyConnectionsFrom(
    sources: readonly (Connection | string)[],
    options: ConnectionCopyOptions = {},
  ): Connection[] {
    return sources.map((source) => {
      const from = typeof source === 'string' ? source : source.name;
      const name = sources.length === 1 && options.name ? options.name : `${from}-${this.slug}`.slice(0, 52);
      return new Connection(this, `copy-${from}`, {
        workspace: this,
        name,
        displayName: options.displayName,
        copyOf: source,
        syncWave: options.syncWave,
      });
    });
  }

  /** Invites a client, read-only, into this workspace. */
  invite(email: string, options: ClientInvitationOptions = {}): ClientInvitation {
    return new ClientInvitation(this, `invite-${email}`, { ...options, workspace: this, email });
  }
}
