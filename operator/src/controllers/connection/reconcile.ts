import {
  Reason,
  progressingConditions,
  readyConditions,
  stalledConditions,
  type ConditionInput,
} from '../../api/conditions.js';
import { describeIssues } from '../../api/issues.js';
import { plural } from '../../api/text.js';
import type { ConnectionStatus } from '../../api/v1alpha1/connection.js';
import { Labels } from '../../api/v1alpha1/group.js';
import type { ConnectionObject, CredentialsObject } from '../../caches.js';
import { trimCredentials } from '../../caches.js';
import { workspaceNamespace } from '../../db/names.js';
import {
  connectionEntries,
  contentDigest,
  copiesOf,
  lineageOf,
  lineageProblem,
  mountedSecretName,
  revisionDigest,
  type ConnectionEntry,
} from '../../domain/connections.js';
import { terminal } from '../../errors.js';
import type { Reconciler, Result } from '../../kube/controller.js';
import { splitKey } from '../../kube/informer.js';
import { Resources } from '../../kube/resources.js';
import { StatusWriter } from '../../kube/status.js';
import type { Logger } from '../../log.js';
import type { ControllerContext } from '../context.js';
import { carriedRevision, carries, mountedSecret, type Carried } from './desired.js';

/** How often a connection whose Secret does not exist yet looks again (an unlabelled Secret sends no event). */
const SECRET_POLL_MS = 15_000;

interface LiveSecret {
  metadata: { uid?: string; resourceVersion?: string; labels?: Record<string, string> };
  data?: Record<string, string>;
}

/** The lineage's credentials as the source records them: the revision and the digest it stands for. */
interface Revision {
  secretName: string;
  revision: number;
  digest: string;
  reconnectedAt: string | undefined;
}

/**
 * Connection: the credentials of one external account, given to its workspace's namespace as the Secret
 * `connection-<name>`. A source takes them from the Secret it names and counts a revision each time they change; a
 * copy carries its lineage source's, under the source's revision. Level-based like every reconciler here: each pass
 * resolves the lineage, compares digests, and writes only a Secret or status that differs.
 */
export class ConnectionReconciler implements Reconciler {
  readonly name = 'connection';
  readonly kind = 'Connection';
  private readonly status: StatusWriter<ConnectionObject>;

  constructor(private readonly ctx: ControllerContext) {
    this.status = new StatusWriter(ctx.api, ctx.caches.connections, Resources.Connection, ctx.now);
  }

  /** The account's connections, as the lineage rules read them. */
  entries(account: string): ConnectionEntry[] {
    return connectionEntries(this.ctx.caches.connections.inNamespace(account));
  }

  async reconcile(key: string, log: Logger): Promise<Result | void> {
    const { caches } = this.ctx;
    const obj = caches.connections.get(key);
    const { namespace: account = '', name } = splitKey(key);
    if (!obj) return this.removeMounted(account, name, log);
    if (obj.metadata.deletionTimestamp) return;
    const status: ConnectionStatus = obj.status ?? {};
    if (!obj.spec) {
      const message = describeIssues(obj.specIssues ?? [], 'spec');
      await this.write(obj, status, stalledConditions(Reason.InvalidSpec, message));
      throw terminal(`Connection ${key}: ${message}`);
    }
    const entries = this.entries(account);
    const copies = copiesOf(name, entries).length;
    const lineage = lineageOf(name, entries);
    if (!lineage.ok) {
      // What the workspace holds stays as it is: a copy whose source went keeps the credentials it last had.
      const waiting = progressingConditions(Reason.LineageBroken, lineageProblem(lineage));
      await this.write(obj, { ...status, copies }, waiting);
      return;
    }
    const source = lineage.source;
    const provider = lineage.sourceSpec.provider ?? '';
    const secretName = lineage.sourceSpec.credentials?.secretRef.name ?? '';
    const base: ConnectionStatus = { ...status, source, provider, copies };
    if (obj.spec.provider !== undefined && obj.spec.provider !== provider) {
      const message = `spec.provider is ${obj.spec.provider}, but source ${source} of this copy is a ${provider} connection; leave provider out of a copy or make it the same`;
      await this.write(obj, base, stalledConditions(Reason.ProviderMismatch, message));
      return;
    }

    let credentials = caches.credentialSources.get(`${account}/${secretName}`);
    if (!credentials) {
      const found = await this.adoptSecret(account, secretName);
      if (!found) {
        const message = `Secret ${secretName} of namespace ${account}, where connection ${source} takes its credentials from, does not exist`;
        await this.write(obj, base, progressingConditions(Reason.SecretNotFound, message));
        return { requeueAfterMs: SECRET_POLL_MS };
      }
      credentials = found;
    }

    const revision =
      source === name
        ? this.nextRevision(status, secretName, credentials)
        : this.sourceRevision(account, source, secretName, credentials);
    if (!revision) {
      const message = `Waiting for source ${source} to take the credentials of Secret ${secretName}`;
      await this.write(obj, base, progressingConditions(Reason.WaitingForSource, message));
      return;
    }
    const previous = status.credentials;
    const lineageStatus = {
      secretName,
      latestRevision: revision.revision,
      digest: revision.digest,
      reconnectedAt: revision.reconnectedAt,
    };

    const slug = obj.spec.workspace;
    const namespace = workspaceNamespace(account, slug);
    const carried: Carried = { source, provider, revision: revision.revision };
    const mountedKey = `${namespace}/${mountedSecretName(name)}`;
    const workspace = caches.workspaces.get(`${account}/${slug}`);
    if (!workspace || workspace.metadata.deletionTimestamp || !caches.namespaces.get(namespace)) {
      const carriedNow = carriedRevision(caches.mountedSecrets.get(mountedKey)) ?? 0;
      const reason = workspace ? Reason.WorkspaceNotReady : Reason.WorkspaceNotFound;
      const message = workspace
        ? `Waiting for the namespace ${namespace} of workspace ${slug}`
        : `Workspace ${slug} does not exist in account ${account}`;
      await this.write(
        obj,
        {
          ...base,
          credentials: { ...lineageStatus, revision: carriedNow, upToDate: false },
        },
        progressingConditions(reason, message),
      );
      return;
    }

    if (!carries(caches.mountedSecrets.get(mountedKey), credentials.contentDigest, carried)) {
      const live = await this.readSource(account, secretName);
      if (!live || revisionDigest(live.metadata.uid ?? '', contentDigest(live.data)) !== revision.digest) {
        // The Secret changed again since the revision was counted: its event brings the source back first.
        const message = `Waiting for source ${source} to count the newest credentials of Secret ${secretName}`;
        await this.write(obj, base, progressingConditions(Reason.WaitingForSource, message));
        return;
      }
      const desired = mountedSecret(namespace, account, slug, name, carried, live.data ?? {});
      caches.mountedSecrets.observe(await this.ctx.api.apply(Resources.Secret, desired));
    }

    const next: ConnectionStatus = {
      ...base,
      credentials: {
        ...lineageStatus,
        revision: revision.revision,
        upToDate: true,
        mountedSecret: mountedSecretName(name),
      },
    };
    const message = `Carries revision ${revision.revision} of ${source === name ? 'its' : `source ${source}'s`} credentials in Secret ${mountedSecretName(name)} of namespace ${namespace}`;
    await this.write(obj, next, readyConditions(Reason.CredentialsMounted, message));
    if (previous && previous.revision > 0 && previous.revision !== revision.revision) {
      const note =
        source === name
          ? `Secret ${secretName} has new credentials: revision ${revision.revision}${copies > 0 ? `; ${plural(copies, 'copy', 'copies')} ${copies === 1 ? 'follows' : 'follow'}` : ''}`
          : `Reconnected with source ${source}: now carries revision ${revision.revision}`;
      this.ctx.events.emit(obj, 'Normal', Reason.Reconnected, 'Reconnect', note);
      log.info({ source, revision: revision.revision }, 'connection reconnected');
    }
  }

  /** A source counts a new revision each time its Secret's digest changes (another Secret counts as a change). */
  private nextRevision(
    status: ConnectionStatus,
    secretName: string,
    credentials: CredentialsObject,
  ): Revision {
    const digest = revisionDigest(credentials.metadata.uid ?? '', credentials.contentDigest);
    const before = status.credentials;
    if (before && before.digest === digest && before.latestRevision > 0) {
      return { secretName, revision: before.latestRevision, digest, reconnectedAt: before.reconnectedAt };
    }
    const revision = (before?.latestRevision ?? 0) + 1;
    const reconnectedAt = before
      ? this.ctx
          .now()
          .toISOString()
          .replace(/\.\d{3}Z$/, 'Z')
      : undefined;
    return { secretName, revision, digest, reconnectedAt };
  }

  /** A copy takes the revision its source recorded, once the source has counted the Secret as it now is. */
  private sourceRevision(
    account: string,
    source: string,
    secretName: string,
    credentials: CredentialsObject,
  ): Revision | undefined {
    const recorded = this.ctx.caches.connections.get(`${account}/${source}`)?.status?.credentials;
    const digest = revisionDigest(credentials.metadata.uid ?? '', credentials.contentDigest);
    if (!recorded || recorded.digest !== digest || recorded.secretName !== secretName) return undefined;
    return { secretName, revision: recorded.latestRevision, digest, reconnectedAt: recorded.reconnectedAt };
  }

  private async readSource(account: string, name: string): Promise<LiveSecret | undefined> {
    return (await this.ctx.api.get(Resources.Secret, { namespace: account, name })) as LiveSecret | undefined;
  }

  /**
   * A Secret named by a source but not labelled as a connection's credentials is outside the operator's watch:
   * it is labelled once, so that its next change reaches the operator as an event.
   */
  private async adoptSecret(account: string, name: string): Promise<CredentialsObject | undefined> {
    const live = await this.readSource(account, name);
    if (!live) return undefined;
    const labelled = (await this.ctx.api.mergePatch(
      Resources.Secret,
      { namespace: account, name },
      { metadata: { labels: { [Labels.connectionCredentials]: 'true' } } },
    )) as Parameters<typeof trimCredentials>[0];
    this.ctx.caches.credentialSources.observe(labelled);
    return this.ctx.caches.credentialSources.get(`${account}/${name}`);
  }

  /** A connection that is gone takes its Secret out of the workspace namespace. */
  private async removeMounted(account: string, name: string, log: Logger): Promise<void> {
    const secretName = mountedSecretName(name);
    for (const secret of this.ctx.caches.mountedSecrets.list()) {
      const labels = secret.metadata.labels ?? {};
      if (labels[Labels.account] !== account || secret.metadata.name !== secretName) continue;
      const namespace = secret.metadata.namespace ?? '';
      await this.ctx.api.delete(Resources.Secret, { namespace, name: secretName });
      this.ctx.caches.mountedSecrets.forget(`${namespace}/${secretName}`);
      log.info({ namespace, secret: secretName }, 'connection deleted; its Secret removed');
    }
  }

  private async write(obj: ConnectionObject, status: ConnectionStatus, conditions: ConditionInput[]) {
    return (await this.status.write(obj, status, conditions)).written;
  }
}
