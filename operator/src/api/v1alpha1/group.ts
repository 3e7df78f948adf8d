/** The API group, version and the names every kind of this project shares. */
export const GROUP = 'taskjuice.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

/** `kubectl get taskjuice` lists every kind of this project. */
export const CATEGORY = 'taskjuice';

/** Labels and annotations the operator reads or writes. */
export const Labels = {
  account: `${GROUP}/account`,
  workspace: `${GROUP}/workspace`,
  /** What an operator-owned object is for: `home`, `workspace`, `credentials`, `claim` … */
  component: `${GROUP}/component`,
  /** On a connection's Secret in the workspace namespace: the Connection it carries the credentials of. */
  connection: `${GROUP}/connection`,
  /**
   * On a Secret a Connection takes its credentials from (`true`): the operator watches only Secrets so labelled,
   * and labels the one a Connection names when it is not yet.
   */
  connectionCredentials: `${GROUP}/connection-credentials`,
  managedBy: 'app.kubernetes.io/managed-by',
  partOf: 'app.kubernetes.io/part-of',
} as const;

export const Annotations = {
  /** Deleting a Workspace (or an operator-owned namespace) needs this annotation set to the object's own name. */
  confirmDelete: `${GROUP}/confirm-delete`,
  /** Setting this annotation to a new value asks for new database credentials. */
  rotateCredentials: `${GROUP}/rotate-credentials`,
  /** Set to a DatabaseServer's name, moves the workspace's schema, rows and role there (the platform team's). */
  moveTo: `${GROUP}/move-to`,
  /** On a connection's Secret: the credentials revision it carries, and the source connection it comes from. */
  credentialsRevision: `${GROUP}/credentials-revision`,
  connectionSource: `${GROUP}/connection-source`,
  provider: `${GROUP}/provider`,
} as const;

export const MANAGED_BY = 'workspace-operator';

/**
 * The finalizer that holds a Workspace until its database objects and namespace are gone. Only the operator removes
 * it (the webhook refuses anyone else): a Workspace that vanished without it would leave its data behind.
 */
export const WORKSPACE_FINALIZER = `${GROUP}/cleanup`;
