import { Reason, progressingConditions, readyConditions, stalledConditions } from '../../api/conditions.js';
import { describeIssues } from '../../api/issues.js';
import { plural } from '../../api/text.js';
import { DEFAULT_SERVER, type DatabaseServerStatus } from '../../api/v1alpha1/databaseserver.js';
import type { DatabaseServerObject } from '../../caches.js';
import { isPemCertificate, type Server } from '../../db/servers.js';
import { errorMessage } from '../../errors.js';
import type { Reconciler, Result } from '../../kube/controller.js';
import { Resources } from '../../kube/resources.js';
import { StatusWriter } from '../../kube/status.js';
import type { Logger } from '../../log.js';
import type { ControllerContext } from '../context.js';

/** How often a server is looked at again: its Secret re-read, its reachability and version probed. */
export const SERVER_RESYNC_MS = 30_000;

/**
 * DatabaseServer: opens a pool to the server its Secret names (set-up and tenant inventory first), and reports
 * whether it answers, its version and how full it is. The server named default is the configuration's
 * DATABASE_URL: a DatabaseServer of that name only tunes its capacity, state and labels.
 */
export class DatabaseServerReconciler implements Reconciler {
  readonly name = 'databaseserver';
  readonly kind = 'DatabaseServer';
  private readonly status: StatusWriter<DatabaseServerObject>;

  constructor(private readonly ctx: ControllerContext) {
    this.status = new StatusWriter(ctx.api, ctx.caches.databaseServers, Resources.DatabaseServer, ctx.now);
  }

  async reconcile(name: string, log: Logger): Promise<Result | void> {
    const { caches, servers } = this.ctx;
    const obj = caches.databaseServers.get(name);
    if (!obj || obj.metadata.deletionTimestamp) {
      // Its workspaces keep their record of it: they wait (DatabaseServerNotOpen) until it is back.
      await servers.remove(name);
      return;
    }
    const status: DatabaseServerStatus = obj.status ?? {};
    if (!obj.spec) {
      const message = describeIssues(obj.specIssues ?? [], 'spec');
      await this.status.write(obj, status, stalledConditions(Reason.InvalidSpec, message));
      return;
    }
    const placed = this.ctx.placement.placed(name);
    const counts = { workspaces: placed, freeCapacity: obj.spec.capacity - placed };
    let server: Server;
    try {
      server =
        name === DEFAULT_SERVER
          ? servers.primary
          : await servers.open(name, await this.url(obj), await this.clientCa(obj));
    } catch (err) {
      const message = `cannot open the server: ${errorMessage(err)}`;
      await this.status.write(
        obj,
        { ...status, ...counts, reachable: false },
        progressingConditions(Reason.Unreachable, message),
      );
      log.warn({ err: errorMessage(err) }, 'database server not reachable');
      return { requeueAfterMs: SERVER_RESYNC_MS };
    }
    let version: string;
    try {
      version = await server.db.serverVersion();
    } catch (err) {
      await this.status.write(
        obj,
        { ...status, ...counts, reachable: false },
        progressingConditions(Reason.Unreachable, `the server does not answer: ${errorMessage(err)}`),
      );
      return { requeueAfterMs: SERVER_RESYNC_MS };
    }
    const message = `${obj.spec.state}, PostgreSQL ${version}: ${placed} of ${plural(obj.spec.capacity, 'workspace')}`;
    await this.status.write(
      obj,
      { ...status, ...counts, reachable: true, version },
      readyConditions(Reason.Reachable, message),
    );
    return { requeueAfterMs: SERVER_RESYNC_MS };
  }

  /** The connection string, from the Secret in the operator's namespace. */
  private async url(obj: DatabaseServerObject): Promise<string> {
    const ref = obj.spec?.connectionSecret;
    if (!ref) throw new Error('spec.connectionSecret is not set');
    return this.secretEntry(ref);
  }

  /** The server's CA certificate for its workspaces' Secrets, when spec.clientCA names one. */
  private async clientCa(obj: DatabaseServerObject): Promise<string | undefined> {
    const ref = obj.spec?.clientCA;
    if (!ref) return undefined;
    const pem = await this.secretEntry(ref);
    if (!isPemCertificate(pem))
      throw new Error(`spec.clientCA: entry ${ref.key} of Secret ${ref.name} holds no PEM certificate`);
    return pem;
  }

  /** One entry of a Secret in the operator's namespace (read live: these Secrets are not cached). */
  private async secretEntry(ref: { name: string; key: string }): Promise<string> {
    const namespace = this.ctx.config.namespace;
    const secret = (await this.ctx.api.get(Resources.Secret, { namespace, name: ref.name })) as
      { data?: Record<string, string> } | undefined;
    if (!secret) throw new Error(`Secret ${ref.name} does not exist in namespace ${namespace}`);
    const value = secret.data?.[ref.key];
    if (!value) throw new Error(`Secret ${ref.name} has no entry ${ref.key}`);
    return Buffer.from(value, 'base64').toString('utf8');
  }
}
