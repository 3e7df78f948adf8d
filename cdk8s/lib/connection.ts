import { Construct } from 'constructs';
import { CONNECTION_NAME_PATTERN, ConnectionSpec } from '../../operator/src/api/v1alpha1/connection.js';
import * as tj from '../imports/taskjuice.io.js';
import { issuesOf, syncWaveAnnotation } from './validation.js';
import type { Workspace } from './workspace.js';

/** What a source connection needs besides its workspace and name (for `Workspace.connect`). */
export interface ConnectionOptions {
  /** The external service, a DNS label such as `google-ads` or `hubspot`. */
  readonly provider: string;
  /**
   * Name of the Secret in the account namespace with the credentials (made by External Secrets, a Vault injector or
   * a person); every entry is handed on to the workspace as it is. Never declare its data in the app.
   */
  readonly secretName: string;
  /**
   * Name of the connection as people read it.
   *
   * @default - the connection's name
   */
  readonly displayName?: string;
  /**
   * Argo CD sync wave.
   *
   * @default - the workspace's wave plus one
   */
  readonly syncWave?: number | null;
}

/** What a copy needs besides its workspace (for `Workspace.copyConnectionsFrom`). */
export interface ConnectionCopyOptions {
  /**
   * Name of the copy.
   *
   * @default - `<source connection name>-<workspace slug>`
   */
  readonly name?: string;
  /**
   * Name of the copy as people read it.
   *
   * @default - the copy's name
   */
  readonly displayName?: string;
  /**
   * Argo CD sync wave.
   *
   * @default - the workspace's wave plus one
   */
  readonly syncWave?: number | null;
}

export interface ConnectionProps {
  /** The workspace the connection belongs to. */
  readonly workspace: Workspace | { slug: string; namespace: string; syncWave?: number | null };
  /** Name of the Connection: 1 to 52 lower-case letters, digits and hyphens (it names `connection-<name>`). */
  readonly name: string;
  readonly displayName?: string;
  /** A source: where its credentials come from. Exactly one of `source` and `copyOf`. */
  readonly source?: { provider: string; secretName: string };
  /** A copy: the connection (construct or name, of the same account) it copies. */
  readonly copyOf?: Connection | string;
  readonly syncWave?: number | null;
}

/**
 * The credentials of one external account a workspace's work uses (Connection). A source names a Secret; a copy of
 * another workspace's connection always carries its lineage source's credentials, and the operator gives the
 * workspace's namespace a Secret `connection-<name>` with them.
 */
export class Connection extends Construct {
  readonly name: string;
  readonly apiObject: tj.Connection;

  constructor(scope: Construct, id: string, props: ConnectionProps) {
    super(scope, id);
    const ws = props.workspace;
    this.name = props.name;
    const workspaceWave = ws.syncWave === undefined ? 1 : ws.syncWave;
    const syncWave =
      props.syncWave !== undefined ? props.syncWave : workspaceWave === null ? null : workspaceWave + 1;
    const copyOf = typeof props.copyOf === 'string' ? props.copyOf : props.copyOf?.name;
    const spec = {
      workspace: ws.slug,
      displayName: props.displayName ?? props.name,
      ...(props.source
        ? { provider: props.source.provider, credentials: { secretRef: { name: props.source.secretName } } }
        : {}),
      ...(copyOf !== undefined ? { copyOf: { name: copyOf } } : {}),
    };
    this.apiObject = new tj.Connection(this, 'Resource', {
      metadata: { name: this.name, namespace: ws.namespace, annotations: syncWaveAnnotation(syncWave) },
      spec,
    });
    // The operator converges in any order; the dependencies only keep the output readable.
    if ('apiObject' in ws) this.node.addDependency(ws.apiObject);
    if (props.copyOf instanceof Connection) this.node.addDependency(props.copyOf.apiObject);
    this.node.addValidation({
      validate: () => [
        ...(new RegExp(CONNECTION_NAME_PATTERN).test(this.name)
          ? []
          : [`Connection ${this.name}: the name must be 1 to 52 lower-case letters, digits and hyphens`]),
        ...((props.source === undefined) === (copyOf === undefined)
          ? [`Connection ${this.name}: give exactly one of source and copyOf`]
          : []),
        ...issuesOf(`Connection ${this.name}: spec`, ConnectionSpec.safeParse(spec)),
      ],
    });
  }
}
