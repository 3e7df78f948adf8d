import { Annotations, Labels } from '../../api/v1alpha1/group.js';
import { workspaceLabels } from '../../domain/children.js';
import { mountedSecretName } from '../../domain/connections.js';

/** What a connection's Secret in the workspace namespace says of where its credentials come from. */
export interface Carried {
  /** The lineage's original source. */
  source: string;
  provider: string;
  revision: number;
}

/**
 * The Secret a workspace's work mounts for one connection: every entry of the lineage source's Secret, as it is,
 * and annotations naming the connection's source, provider and the credentials revision it carries.
 */
export function mountedSecret(
  namespace: string,
  account: string,
  slug: string,
  connection: string,
  carried: Carried,
  data: Record<string, string>,
) {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: mountedSecretName(connection),
      namespace,
      labels: { ...workspaceLabels(account, slug), [Labels.connection]: connection },
      annotations: {
        [Annotations.connectionSource]: carried.source,
        [Annotations.provider]: carried.provider,
        [Annotations.credentialsRevision]: String(carried.revision),
      },
    },
    type: 'Opaque',
    data,
  };
}

/** Whether a cached connection Secret already carries these credentials under this revision. */
export function carries(
  secret: { contentDigest: string; metadata: { annotations?: Record<string, string> } } | undefined,
  contentDigest: string,
  carried: Carried,
): boolean {
  const a = secret?.metadata.annotations ?? {};
  return (
    secret?.contentDigest === contentDigest &&
    a[Annotations.connectionSource] === carried.source &&
    a[Annotations.provider] === carried.provider &&
    a[Annotations.credentialsRevision] === String(carried.revision)
  );
}

/** The revision a connection Secret says it carries, if any. */
export function carriedRevision(secret: { metadata: { annotations?: Record<string, string> } } | undefined) {
  const value = Number(secret?.metadata.annotations?.[Annotations.credentialsRevision]);
  return Number.isInteger(value) && value > 0 ? value : undefined;
}
