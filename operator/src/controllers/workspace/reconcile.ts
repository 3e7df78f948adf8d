import {
  AccessReady,
  CredentialsReady,
  DatabaseReady,
  NamespaceReady,
  Ready,
  Reason,
  isTrue,
  progressingConditions,
  readyConditions,
  stalledConditions,
  type ConditionInput,
} from '../../api/conditions.js';
import { describeIssues } from '../../api/issues.js';
import { plural } from '../../api/text.js';
import { Annotations } from '../../api/v1alpha1/group.js';
import type { WorkspaceStatus } from '../../api/v1alpha1/workspace.js';
import type { AccountObject, WorkspaceObject } from '../../caches.js';
import { tenantNames, workspaceNamespace, type TenantNames } from '../../db/names.js';
import { SECRET_NAME } from '../../domain/children.js';
import { beyondPlanLimit, describeLimit, resolvePlan } from '../../domain/plans.js';
import { connectionEntries, copiedElsewhere } from '../../domain/connections.js';
import { DEFAULT_SERVER } from '../../api/v1alpha1/databaseserver.js';
import type { Server } from '../../db/servers.js';
import { serverFor, serverOfDeleted } from './placement.js';
import { Mover, moveTarget } from './move.js';
import { OperatorError, errorMessage, isCode, terminal } from '../../errors.js';
import type { Reconciler, Result } from '../../kube/controller.js';
import { Resources } from '../../kube/resources.js';
import { StatusWriter } from '../../kube/status.js';
import type { Logger } from '../../log.js';
import type { ControllerContext } from '../context.js';
import { ensureAccess, ensureNamespace, type Place } from './access.js';
import { ensureCredentials } from './credentials.js';
import { dropDatabase, ensureDatabase } from './database.js';
import { FINALIZER } from './desired.js';
import { addFinalizer, removeFinalizer } from './finalizer.js';

/** How soon a workspace placed on a server that is not open yet looks again. */
const NOT_OPEN_RETRY_MS = 5_000;

const PARTS = [NamespaceReady, AccessReady, CredentialsReady, DatabaseReady];

const part = (type: string, ok: boolean, reason: string, message: string): ConditionInput => ({
  type,
  status: ok ? 'True' : 'False',
  reason,
  message,
});

/**
 * Workspace: its namespace with staff and client access and a default NetworkPolicy, a PostgreSQL schema and
 * LOGIN role that reach nothing else, and the credentials Secret. Level-based: every pass computes the whole
 * desired state in three phases (namespace and access, credentials, database), writes only what differs, and
 * runs SQL only when the database objects are missing or the Secret's password is not the one the role was last
 * given.
 */
export class WorkspaceReconciler implements Reconciler {
  readonly name = 'workspace';
  readonly kind = 'Workspace';
  private readonly status: StatusWriter<WorkspaceObject>;

  constructor(private readonly ctx: ControllerContext) {
    this.status = new StatusWriter(ctx.api, ctx.caches.workspaces, Resources.Workspace, ctx.now);
    this.mover = new Mover(ctx, this.status);
  }

  private readonly mover: Mover;

  /**
   * Workspaces that disappeared while they carried the finalizer, by key. The API server can remove an object whose
   * DELETE was decided before a concurrent patch added a finalizer: the patch succeeds, the object goes anyway, and
   * what the reconcile provisioned meanwhile would stay behind. Its DELETED event still lists the finalizer, which
   * a finalized workspace never does (the operator removes it last), so the cleanup runs here instead.
   */
  readonly vanished = new Map<string, WorkspaceObject>();

  async reconcile(key: string, log: Logger): Promise<Result | void> {
    const obj = this.ctx.caches.workspaces.get(key);
    const vanished = this.vanished.get(key);
    this.vanished.delete(key);
    // A workspace of the same name that exists again adopts what the vanished one left; nothing is dropped.
    if (!obj) return vanished && this.cleanUpVanished(vanished, key, log);
    const account = obj.metadata.namespace ?? '';
    const slug = obj.metadata.name;
    const place: Place = { account, slug, namespace: workspaceNamespace(account, slug) };
    const names = tenantNames(this.ctx.config.database.namePrefix, account, slug);
    const status: WorkspaceStatus = obj.status ?? {};

    if (obj.metadata.deletionTimestamp) return this.finalize(obj, names, place, log);
    if (!obj.spec) {
      const message = describeIssues(obj.specIssues ?? [], 'spec');
      await this.write(obj, { ...status, phase: 'Failed' }, stalledConditions(Reason.InvalidSpec, message));
      throw terminal(`Workspace ${key}: ${message}`);
    }

    // The finalizer goes on together with the pass's first status write: one round trip of latency, not two.
    // Every way on from here writes a status before anything is provisioned (the first sight of a workspace always
    // places it), so a new workspace's first status is its placement, not a "Provisioning" of its own. Nothing is
    // provisioned for a workspace that went away before its finalizer held it: that would be left behind.
    const finalizing = obj.metadata.finalizers?.includes(FINALIZER) ? true : addFinalizer(this.ctx, obj);
    // Every way below awaits it; one that throws before it does leaves its failure to the retry, not to the process.
    if (finalizing !== true) finalizing.catch(() => undefined);
    const withFinalizer = async <T>(write: Promise<T>): Promise<T | undefined> => {
      const [held, written] = await Promise.all([finalizing, write]);
      return held ? written : undefined;
    };

    const accountObj = this.ctx.caches.accounts.get(account);
    if (!accountObj?.spec) {
      // GitOps may apply a workspace before its account: wait for the account, which brings this one back.
      const message = `Waiting for Account ${account}, the owner of namespace ${account}`;
      await withFinalizer(
        this.write(
          obj,
          { ...status, phase: 'Provisioning' },
          progressingConditions(Reason.AccountNotReady, message),
        ),
      );
      return;
    }
    const waiting = this.waitForPlan(obj, accountObj, names);
    if (waiting) {
      await withFinalizer(waiting);
      return;
    }
    const choice = serverFor(this.ctx, obj, accountObj, names);
    if (!choice.ok) {
      await withFinalizer(
        this.write(obj, { ...status, phase: 'Provisioning' }, [
          part(DatabaseReady, false, choice.reason, choice.message),
          ...progressingConditions(choice.reason, choice.message),
        ]),
      );
      // A server that is not open yet may open without its DatabaseServer changing (its status already says
      // Ready), so no event would bring this workspace back: look again. A full server changes when it has room.
      return choice.reason === 'DatabaseServerNotOpen' ? { requeueAfterMs: NOT_OPEN_RETRY_MS } : undefined;
    }
    let placed: WorkspaceObject | undefined = obj;
    if (choice.placed) {
      // Recorded before anything is provisioned on it: the choice never changes by itself. The Provisioned Event
      // names the server; an Event of its own here would be one more write per workspace saying the same.
      const message = `Placed on DatabaseServer ${choice.server.name}`;
      const recorded = {
        ...status,
        phase: status.phase ?? 'Provisioning',
        databaseServer: choice.server.name,
      };
      placed = (
        await withFinalizer(
          this.status.write(obj, recorded, progressingConditions(Reason.Provisioning, message)),
        )
      )?.object;
    } else if (!(await finalizing)) placed = undefined;
    if (!placed) return;
    const target = moveTarget(this.ctx, placed, choice.server, accountObj);
    if (placed.status?.move || (target && 'to' in target)) {
      return this.mover.run(
        placed,
        place,
        names,
        choice.server,
        target && 'to' in target ? target.to : undefined,
        log,
      );
    }
    await this.provision(placed, accountObj, place, names, choice.server, log);
  }

  /**
   * Only a workspace not provisioned yet waits for room: a plan lowered later never takes one away. The status
   * write that says it waits, or undefined when it does not.
   */
  private waitForPlan(
    obj: WorkspaceObject,
    account: AccountObject,
    names: TenantNames,
  ): Promise<void> | undefined {
    const status = obj.status ?? {};
    const provisioned = status.database !== undefined || this.ctx.servers.has(names);
    const plan = resolvePlan(account.spec ?? {}, this.ctx.config.plans);
    const siblings = this.ctx.caches.workspaces.inNamespace(account.metadata.name);
    if (provisioned || !beyondPlanLimit(obj, siblings, plan.workspaceLimit)) return undefined;
    const limit = plan.workspaceLimit;
    const before = `${limit === 1 ? '1 was' : `${limit} were`} created before this one`;
    const message =
      plan.source === 'Override'
        ? `account ${account.metadata.name} allows ${plural(limit, 'workspace')} (${describeLimit(plan)}) and ${before}; it is provisioned when one of them is deleted or Support raises the limit`
        : `plan ${plan.name ?? '(none)'} of account ${account.metadata.name} allows ${plural(limit, 'workspace')} and ${before}; it is provisioned when one of them is deleted or the plan is raised`;
    const waiting = status.conditions?.some((c) => c.type === Ready && c.reason === Reason.OverPlanLimit);
    // Nothing is provisioned while it waits, whatever an earlier pass reported of its parts.
    const notProvisioned = PARTS.map((type) =>
      part(type, false, Reason.OverPlanLimit, 'Not provisioned: waiting for a place in the plan'),
    );
    return this.write(obj, { ...status, phase: 'Failed' }, [
      ...notProvisioned,
      ...stalledConditions(Reason.OverPlanLimit, message),
    ]).then(() => {
      if (!waiting) this.ctx.events.emit(obj, 'Warning', Reason.OverPlanLimit, 'Provision', message);
    });
  }

  private async provision(
    obj: WorkspaceObject,
    account: AccountObject,
    place: Place,
    names: TenantNames,
    server: Server,
    log: Logger,
  ): Promise<void> {
    const { namespace } = place;
    const status = obj.status ?? {};
    const parts: ConditionInput[] = [];
    let next: WorkspaceStatus = { ...status, namespace };
    try {
      await ensureNamespace(this.ctx, account, place);
      const podSecurity = this.ctx.config.workspaces.podSecurityLevel;
      parts.push(
        part(NamespaceReady, true, Reason.Created, `Namespace ${namespace}, Pod Security ${podSecurity}`),
      );
      const [access, password] = await Promise.all([
        ensureAccess(this.ctx, account, place),
        ensureCredentials(this.ctx, obj, place, names, server),
      ]);
      const people = `${plural(access.teammates, 'teammate')}, ${plural(access.clients.length, 'client')}`;
      parts.push(part(AccessReady, true, Reason.Granted, people));
      parts.push(part(CredentialsReady, true, Reason.SecretWritten, `Secret ${SECRET_NAME} in ${namespace}`));
      const credentialsHash = await ensureDatabase(this.ctx, obj, names, password, server);
      const on = server.name === DEFAULT_SERVER ? '' : ` on DatabaseServer ${server.name}`;
      parts.push(
        part(
          DatabaseReady,
          true,
          Reason.Provisioned,
          `Schema ${names.schema} owned by role ${names.role}${on}`,
        ),
      );
      next = {
        ...next,
        phase: 'Ready',
        database: {
          schema: names.schema,
          role: names.role,
          secretName: SECRET_NAME,
          credentialsHash,
          rotation: obj.metadata.annotations?.[Annotations.rotateCredentials],
        },
        binding: { name: SECRET_NAME },
        clients: access.clients,
        clientCount: access.clients.length,
        staffCount: access.teammates,
      };
    } catch (err) {
      const reason = isCode(err, 'Database') ? Reason.DatabaseUnavailable : Reason.ProvisioningFailed;
      for (const type of PARTS.filter((t) => !parts.some((p) => p.type === t)))
        parts.push(part(type, false, reason, errorMessage(err)));
      const stalled = isCode(err, 'Terminal');
      await this.write(obj, { ...next, phase: stalled ? 'Failed' : 'Provisioning' }, [
        ...parts,
        ...(stalled
          ? stalledConditions(Reason.Conflict, errorMessage(err))
          : progressingConditions(reason, errorMessage(err))),
      ]);
      throw err;
    }

    await this.write(obj, next, [
      ...parts,
      ...readyConditions(Reason.Provisioned, `Namespace ${namespace}, schema ${names.schema}`),
    ]);
    if (!isTrue(status.conditions, Ready)) {
      const note = `Namespace ${namespace} and schema ${names.schema} on DatabaseServer ${server.name} are ready`;
      this.ctx.events.emit(obj, 'Normal', Reason.Provisioned, 'Provision', note);
    }
    log.debug({ namespace, schema: names.schema }, 'workspace reconciled');
  }

  /**
   * Deletion: end the role's sessions, drop schema and role, delete the namespace (and with it the Secret), then
   * let the Workspace go. Every step is idempotent, so a restart half-way simply runs it again.
   */
  private async finalize(
    obj: WorkspaceObject,
    names: TenantNames,
    { namespace }: Place,
    log: Logger,
  ): Promise<Result | void> {
    if (!obj.metadata.finalizers?.includes(FINALIZER)) return;
    const status = obj.status ?? {};
    const deleting = (reason: string, message: string) =>
      this.write(obj, { ...status, phase: 'Deleting' }, progressingConditions(reason, message));
    // A source whose copies live in other workspaces goes last (the webhook says so; this holds if it was bypassed).
    const connections = [...this.ctx.caches.connections.inNamespace(obj.metadata.namespace ?? '')];
    const entries = connectionEntries(connections);
    const held = copiedElsewhere(obj.metadata.name, entries);
    if (held) {
      await deleting(Reason.ConnectionsCopied, held);
      return { requeueAfterMs: 15_000 };
    }
    await deleting(Reason.Deleting, 'Dropping the database objects and the namespace');
    try {
      for (const c of connections.filter((c) => c.spec?.workspace === obj.metadata.name)) {
        await this.ctx.api.delete(Resources.Connection, {
          namespace: c.metadata.namespace,
          name: c.metadata.name,
        });
      }
      await this.dropOn(obj, names);
      await this.ctx.api.delete(Resources.Namespace, { name: namespace });
      this.ctx.caches.namespaces.forget(namespace);
    } catch (err) {
      await deleting(Reason.CleanupFailed, errorMessage(err));
      throw err;
    }
    await removeFinalizer(this.ctx, obj);
    const note = `Dropped schema ${names.schema} and role ${names.role}; deleting namespace ${namespace}`;
    this.ctx.events.emit(obj, 'Normal', 'Deleted', 'Delete', note);
    log.info({ schema: names.schema, namespace }, 'workspace cleaned up');
  }

  private async cleanUpVanished(obj: WorkspaceObject, key: string, log: Logger): Promise<void> {
    const account = obj.metadata.namespace ?? '';
    const names = tenantNames(this.ctx.config.database.namePrefix, account, obj.metadata.name);
    const namespace = workspaceNamespace(account, obj.metadata.name);
    try {
      await this.dropOn(obj, names);
      await this.ctx.api.delete(Resources.Namespace, { name: namespace });
      this.ctx.caches.namespaces.forget(namespace);
    } catch (err) {
      this.vanished.set(key, obj); // tried again with backoff
      throw err;
    }
    log.info({ schema: names.schema, namespace }, 'workspace deleted before its finalizer held; cleaned up');
  }

  /** Drops the tenant on the server it was placed on; a server not open yet is retried, never skipped. */
  private async dropOn(obj: WorkspaceObject, names: TenantNames): Promise<void> {
    const server = serverOfDeleted(this.ctx, obj, names);
    if (server === 'not-open') {
      throw new OperatorError(
        'Database',
        `DatabaseServer ${obj.status?.databaseServer ?? ''} of this workspace is not open; its schema and role are dropped once it is`,
      );
    }
    if (server) await dropDatabase(names, server);
    // Deleted during a move: the target's copy goes too.
    const moving = obj.status?.move && this.ctx.servers.get(obj.status.move.to);
    if (moving && moving !== server) await dropDatabase(names, moving);
  }

  private async write(obj: WorkspaceObject, status: WorkspaceStatus, conditions: ConditionInput[]) {
    return (await this.status.write(obj, status, conditions)).written;
  }
}
