import { Construct } from 'constructs';
import {
  ACCOUNT_NAME_PATTERN,
  AccountSpec,
  type TeammateRole,
} from '../../operator/src/api/v1alpha1/account.js';
import * as tj from '../imports/taskjuice.io.js';
import { issuesOf, syncWaveAnnotation } from './validation.js';
import { Workspace, type WorkspaceOptions } from './workspace.js';

export interface TeammateProps {
  /** Email of the teammate; also the Kubernetes user name RBAC grants to. */
  readonly email: string;
  /** Owner and Admin manage workspaces and invitations; Member works inside existing workspaces. */
  readonly role: TeammateRole;
  /**
   * Slugs of the workspaces this teammate reaches.
   *
   * @default - every workspace of the account
   */
  readonly workspaces?: string[];
}

export interface AccountProps {
  /**
   * Name of the account, and of its home namespace, where its workspaces and invitations live: a DNS label of at
   * most 63 characters, not `default` nor `kube-*`.
   */
  readonly name: string;
  /** Name of the agency as people read it, 1 to 100 characters. */
  readonly displayName: string;
  /**
   * Plan from the operator's plan catalog.
   *
   * @default 'starter' (1 workspace in the default catalog)
   */
  readonly plan?: string;
  /**
   * How many workspaces this account may have, overriding its plan's limit: what Support sets when an agency asks
   * for more. For the platform team's repository: the webhook refuses a teammate of the account who changes it.
   *
   * @default - the plan's limit
   */
  readonly workspaceLimit?: number;
  /**
   * Email of the agency's Owner: the setup wizard's first teammate, put first in `teammates`.
   *
   * @default - none: `teammates` must then hold an Owner
   */
  readonly owner?: string;
  /**
   * Agency staff; at least one must be an Owner by synthesis (`owner` counts). More can be added with
   * `addTeammate`.
   *
   * @default - none
   */
  readonly teammates?: TeammateProps[];
  /**
   * The first workspace, declared with the account in one step as the setup wizard does; it is `firstWorkspace`
   * afterwards (to invite its client, say). More are added with `addWorkspace`.
   *
   * @default - none
   */
  readonly firstWorkspace?: FirstWorkspaceProps;
  /**
   * Argo CD sync wave. Workspaces default to the next wave, so Argo CD applies an account (and waits for it to be
   * healthy: its namespace exists) before them. `null` leaves the annotation out.
   *
   * @default 0
   */
  readonly syncWave?: number | null;
  /**
   * Extra labels.
   *
   * @default - none
   */
  readonly labels?: Record<string, string>;
}

/** The first workspace of an account: its slug and what `addWorkspace` takes. */
export interface FirstWorkspaceProps extends WorkspaceOptions {
  /** The workspace's slug: 2 to 50 lower-case letters, digits and hyphens, no leading or trailing hyphen. */
  readonly slug: string;
}

/**
 * An agency (Account): the operator gives it a home namespace named after it, RBAC for its teammates and the quota
 * that holds its plan's workspace limit. Its spec is checked at synthesis against the operator's own schema.
 */
export class Account extends Construct {
  /** The account's name. */
  readonly name: string;
  /** The home namespace, where the account's Workspaces and ClientInvitations go. */
  readonly namespace: string;
  readonly syncWave: number | null;
  /** The generated API object, for escape hatches. */
  readonly apiObject: tj.Account;
  /** The workspace declared with `firstWorkspace`, if any. */
  readonly firstWorkspace?: Workspace;
  private readonly teammates: TeammateProps[];

  constructor(scope: Construct, id: string, props: AccountProps) {
    super(scope, id);
    this.name = props.name;
    this.namespace = props.name;
    this.syncWave = props.syncWave === undefined ? 0 : props.syncWave;
    this.teammates = [
      ...(props.owner === undefined ? [] : [{ email: props.owner, role: 'Owner' as const }]),
      ...(props.teammates ?? []),
    ];
    const teammates = this.teammates;
    this.apiObject = new tj.Account(this, 'Resource', {
      metadata: {
        name: props.name,
        labels: props.labels,
        annotations: syncWaveAnnotation(this.syncWave),
      },
      spec: {
        displayName: props.displayName,
        plan: props.plan ?? 'starter',
        workspaceLimit: props.workspaceLimit,
        // Read lazily, so teammates added after construction are synthesized too.
        get teammates() {
          return teammates.map((t) => ({
            email: t.email,
            role: t.role as tj.AccountSpecTeammatesRole,
            workspaces: t.workspaces,
          }));
        },
      },
    });
    this.node.addValidation({
      validate: () => [
        ...(new RegExp(ACCOUNT_NAME_PATTERN).test(props.name)
          ? []
          : [`Account ${props.name}: name must be a DNS label of at most 63 characters`]),
        // The API server's rule (a CEL validation of the CRD), which the zod schema leaves to it.
        ...(teammates.some((t) => t.role === 'Owner')
          ? []
          : [`Account ${props.name}: spec.teammates: at least one teammate must have the Owner role`]),
        ...issuesOf(
          `Account ${props.name}: spec`,
          AccountSpec.safeParse({
            displayName: props.displayName,
            plan: props.plan,
            workspaceLimit: props.workspaceLimit,
            teammates,
          }),
        ),
      ],
    });
    if (props.firstWorkspace) {
      const { slug, ...options } = props.firstWorkspace;
      this.firstWorkspace = this.addWorkspace(slug, options);
    }
  }

  /** Adds a teammate; with `workspaces`, one that reaches only those. */
  addTeammate(email: string, role: TeammateRole, workspaces?: string[]): this {
    this.teammates.push({ email, role, workspaces });
    return this;
  }

  /** Declares a Workspace of this account (in its home namespace). */
  addWorkspace(slug: string, options: WorkspaceOptions): Workspace {
    return new Workspace(this, slug, { ...options, account: this, slug });
  }
}
