import {
  Ready,
  isTrue,
  progressingConditions,
  readyConditions,
  setConditions,
  stalledConditions,
  type ConditionInput,
} from '../../api/conditions.js';
import type { Condition } from '../../api/meta.js';
import { AccountSpec } from '../../api/v1alpha1/account.js';
import { Annotations } from '../../api/v1alpha1/group.js';
import { WorkspaceSpec, WorkspaceStatus } from '../../api/v1alpha1/workspace.js';
import { newPassword } from '../../db/scram.js';
import { tenantNames, workspaceNamespace, type TenantNames } from '../../db/names.js';
import { OperatorError, errorMessage, isCode, terminal } from '../../errors.js';
import { ensure, ensureAbsent, ensureOwnedNamespace, ensureRoleBinding } from '../../kube/apply.js';
import type { Reconciler, Result } from '../../kube/controller.js';
import type { CachedObject } from '../../kube/informer.js';
import { Resources } from '../../kube/resources.js';
import type { Logger } from '../../log.js';
import type { ControllerContext } from '../context.js';
import { invitationState, isMember } from '../invitation/state.js';
import { describeIssues } from '../../api/issues.js';
import { writeStatus } from '../status.js';
import { plural } from '../../api/text.js';
import { resolvePlan } from '../account/desired.js';
import {
  CLIENTS_BINDING,
  FINALIZER,
  LIMIT_RANGE,
  RESOURCE_QUOTA,
  OVER_PLAN_LIMIT,
  beyondPlanLimit,
  SECRET_NAME,
  clientsBinding,
  credentialsHash,
  credentialsSecret,
  isolationPolicy,
  ownsWorkspaceNamespace,
  passwordOf,
  staffBinding,
  workspaceLimitRange,
  workspaceNamespaceObject,
  workspaceQuota,
} from './desired.js';

/** Conditions for the provisioned parts, beside Ready, Reconciling and Stalled. */
const NamespaceReady = 'NamespaceReady';
const AccessReady = 'AccessReady';
const DatabaseReady = 'DatabaseReady';
const CredentialsReady = 'CredentialsReady';

type Status = WorkspaceStatus;

function partCondition(type: string, ok: boolean, reason: string, message: string): ConditionInput {
  return { type, status: ok ? 'True' : 'False', reason, message };
}

/**
 * Workspace: its namespace with staff and client access and a default NetworkPolicy, a PostgreSQL schema and
 * LOGIN role that reach nothing else, and the credentials Secret. Level-based: every pass computes the whole
 * desired state, writes only what differs, and runs SQL only when the database objects are missing or the
 * Secret's password is not the one the role was last given.
 */
export class WorkspaceReconciler implements Reconciler {
  readonly name = 'workspace';

  constructor(private readonly ctx: ControllerContext) {}

  async reconcile(key: string, log: Logger): Promise<Result | void> {
    const obj = this.ctx.caches.workspaces.get(key);
    if (!obj) return;
    const account = obj.metadata.namespace ?? '';
    const slug = obj.metadata.name;
    const names = tenantNames(this.ctx.config.database.namePrefix, account, slug);
    const namespace = workspaceNamespace(account, slug);
    const status: Status = WorkspaceStatus.safeParse(obj.status ?? {}).data ?? {};

    if (obj.metadata.deletionTimestamp) return this.finalize(obj, names, namespace, status, log);

    const spec = WorkspaceSpec.safeParse(obj.spec);
    if (!spec.success) {
      const message = describeIssues(spec.error.issues, 'spec');
      await this.write(obj, { ...status, phase: 'Failed' }, stalledConditions('InvalidSpec', message));
      throw terminal(`Workspace ${key}: ${message}`);
    }

    // Status on first sight and the finalizer, together: one round trip of latency, not two. Nothing is
    // provisioned for a workspace that went away before its finalizer held it: that would be left behind.
    const firstSight: Promise<boolean>[] = [];
    if (!obj.metadata.finalizers?.includes(FINALIZER)) firstSight.push(this.addFinalizer(obj));
    if (!obj.status) {
      firstSight.push(
        this.write(
          obj,
          { phase: 'Provisioning' },
          progressingConditions('Provisioning', 'Provisioning the namespace, database and credentials'),
        ).then(() => true),
      );
    }
    if ((await Promise.all(firstSight)).includes(false)) return;

    const accountObj = this.ctx.caches.accounts.get(account);
    const accountSpec = AccountSpec.safeParse(accountObj?.spec);
    if (!accountObj || !accountSpec.success) {
      // GitOps may apply a workspace before its account: wait for the account, which brings this one back.
      await this.write(
        obj,
        { ...status, phase: 'Provisioning' },
        progressingConditions(
          'AccountNotReady',
          `Waiting for Account ${account}, the owner of namespace ${account}`,
        ),
      );
      return;
    }

    // Only a workspace not provisioned yet waits for room: a plan lowered later never takes one away.
    const provisioned = status.database !== undefined || this.ctx.inventory.has(names);
    const plan = resolvePlan(accountSpec.data.plan, this.ctx.config.plans);
    if (
      !provisioned &&
      beyondPlanLimit(obj, this.ctx.caches.workspaces.inNamespace(account), plan.workspaceLimit)
    ) {
      const message = `plan ${plan.name ?? '(none)'} of account ${account} allows ${plural(plan.workspaceLimit, 'workspace')} and ${plan.workspaceLimit === 1 ? '1 was' : `${plan.workspaceLimit} were`} created before this one; it is provisioned when one of them is deleted or the plan is raised`;
      const waiting = status.conditions?.some((c) => c.type === Ready && c.reason === OVER_PLAN_LIMIT);
      // Nothing is provisioned while it waits, whatever an earlier pass reported of its parts.
      const notProvisioned = [NamespaceReady, AccessReady, CredentialsReady, DatabaseReady].map((type) =>
        partCondition(type, false, OVER_PLAN_LIMIT, 'Not provisioned: waiting for a place in the plan'),
      );
      await this.write(obj, { ...status, phase: 'Failed' }, [
        ...notProvisioned,
        ...stalledConditions(OVER_PLAN_LIMIT, message),
      ]);
      if (!waiting) this.ctx.events.emit(obj, 'Warning', OVER_PLAN_LIMIT, 'Provision', message);
      return;
    }

    const parts: ConditionInput[] = [];
    let next: Status = { ...status, namespace };
    try {
      const { api, caches, config } = this.ctx;
      const podSecurity = config.workspaces.podSecurityLevel;
      await ensureOwnedNamespace(
        api,
        caches.namespaces,
        workspaceNamespaceObject(accountObj, slug, namespace, podSecurity),
        ownsWorkspaceNamespace(account, slug),
      );
      // The bounds are in place before anyone is given access: no pod and no connection of a teammate ever
      // predates the quota, the container defaults or the isolation policy.
      await Promise.all([
        this.ensureQuota(namespace, account, slug),
        this.ensureLimitRange(namespace, account, slug),
        ensure(
          api,
          caches.networkPolicies,
          Resources.NetworkPolicy,
          isolationPolicy(namespace, account, slug),
        ),
      ]);
      parts.push(
        partCondition(NamespaceReady, true, 'Created', `Namespace ${namespace}, Pod Security ${podSecurity}`),
      );

      const clients = this.clientsOf(account, slug);
      const teammates = accountSpec.data.teammates.map((t) => t.email);
      const staff = staffBinding(namespace, account, slug, teammates, config.rbac.staffClusterRole);
      const clientAccess = clientsBinding(namespace, account, slug, clients, config.rbac.clientClusterRole);
      const [, , password] = await Promise.all([
        staff ? ensureRoleBinding(api, caches.roleBindings, staff) : undefined,
        clientAccess
          ? ensureRoleBinding(api, caches.roleBindings, clientAccess)
          : ensureAbsent(api, caches.roleBindings, Resources.RoleBinding, {
              namespace,
              name: CLIENTS_BINDING,
            }),
        this.ensureSecret(obj, namespace, names, status),
      ]);
      parts.push(
        partCondition(
          AccessReady,
          true,
          'Granted',
          `${plural(teammates.length, 'teammate')}, ${plural(clients.length, 'client')}`,
        ),
      );
      parts.push(
        partCondition(CredentialsReady, true, 'SecretWritten', `Secret ${SECRET_NAME} in ${namespace}`),
      );

      const hash = credentialsHash(password.value);
      const rotation = obj.metadata.annotations?.[Annotations.rotateCredentials];
      if (!this.ctx.inventory.has(names) || status.database?.credentialsHash !== hash) {
        await this.ctx.db.provisionTenant(names, password.value);
        this.ctx.inventory.record(names);
        if (password.rotated)
          this.ctx.events.emit(
            obj,
            'Normal',
            'CredentialsRotated',
            'Rotate',
            `New password for role ${names.role}`,
          );
      }
      parts.push(
        partCondition(
          DatabaseReady,
          true,
          'Provisioned',
          `Schema ${names.schema} owned by role ${names.role}`,
        ),
      );
      next = {
        ...next,
        phase: 'Ready',
        database: {
          schema: names.schema,
          role: names.role,
          secretName: SECRET_NAME,
          credentialsHash: hash,
          rotation,
        },
        binding: { name: SECRET_NAME },
        clients,
      };
    } catch (err) {
      const failed = (type: string) => !parts.some((p) => p.type === type);
      const missing = [NamespaceReady, AccessReady, CredentialsReady, DatabaseReady].filter(failed);
      const reason = isCode(err, 'Database') ? 'DatabaseUnavailable' : 'ProvisioningFailed';
      for (const type of missing) parts.push(partCondition(type, false, reason, errorMessage(err)));
      if (isCode(err, 'Terminal')) {
        await this.write(obj, { ...next, phase: 'Failed' }, [
          ...parts,
          ...stalledConditions('Conflict', errorMessage(err)),
        ]);
      } else {
        await this.write(obj, { ...next, phase: 'Provisioning' }, [
          ...parts,
          ...progressingConditions(reason, errorMessage(err)),
        ]);
      }
      throw err;
    }

    const wasReady = isTrue(status.conditions, Ready);
    await this.write(obj, next, [
      ...parts,
      ...readyConditions('Provisioned', `Namespace ${namespace}, schema ${names.schema}`),
    ]);
    if (!wasReady)
      this.ctx.events.emit(
        obj,
        'Normal',
        'Provisioned',
        'Provision',
        `Namespace ${namespace} and schema ${names.schema} are ready`,
      );
    log.debug({ namespace, schema: names.schema }, 'workspace reconciled');
  }

  /** The namespace's ResourceQuota, or none when no quota is configured. */
  private async ensureQuota(namespace: string, account: string, slug: string): Promise<void> {
    const { api, caches, config } = this.ctx;
    const key = { namespace, name: RESOURCE_QUOTA };
    const stored = caches.quotas.get(`${namespace}/${RESOURCE_QUOTA}`) as
      { spec?: { hard?: Record<string, unknown> } } | undefined;
    const desired = workspaceQuota(namespace, account, slug, config.workspaces.quota, stored?.spec?.hard);
    await (desired
      ? ensure(api, caches.quotas, Resources.ResourceQuota, desired)
      : ensureAbsent(api, caches.quotas, Resources.ResourceQuota, key));
  }

  /** The namespace's LimitRange for containers, or none when no limits are configured. */
  private async ensureLimitRange(namespace: string, account: string, slug: string): Promise<void> {
    const { api, caches, config } = this.ctx;
    const key = { namespace, name: LIMIT_RANGE };
    const stored = caches.limitRanges.get(`${namespace}/${LIMIT_RANGE}`) as
      { spec?: { limits?: Record<string, unknown>[] } } | undefined;
    const desired = workspaceLimitRange(
      namespace,
      account,
      slug,
      config.workspaces.limitRange,
      stored?.spec?.limits?.[0],
    );
    await (desired
      ? ensure(api, caches.limitRanges, Resources.LimitRange, desired)
      : ensureAbsent(api, caches.limitRanges, Resources.LimitRange, key));
  }

  /** Emails of the clients who accepted an invitation to this workspace and were not revoked. */
  private clientsOf(account: string, slug: string): string[] {
    const emails = new Set<string>();
    for (const inv of this.ctx.caches.invitations.inNamespace(account)) {
      const state = invitationState(inv);
      if (state.workspace === slug && state.email && isMember(state)) emails.add(state.email);
    }
    return [...emails].sort();
  }

  /**
   * The Secret holds the password: it is written before the role gets it, so a crash in between leaves a Secret
   * whose password the next pass gives to the role. A new password is made only when there is no usable one, or
   * when the rotate annotation carries a value not yet carried out.
   */
  private async ensureSecret(
    obj: CachedObject,
    namespace: string,
    names: TenantNames,
    status: Status,
  ): Promise<{ value: string; rotated: boolean }> {
    const { api, caches, config } = this.ctx;
    const current = passwordOf(
      caches.secrets.get(`${namespace}/${SECRET_NAME}`) as { data?: unknown } | undefined,
    );
    const rotation = obj.metadata.annotations?.[Annotations.rotateCredentials];
    const rotate = current !== undefined && rotation !== undefined && rotation !== status.database?.rotation;
    const value = current === undefined || rotate ? newPassword() : current;
    const desired = credentialsSecret(
      namespace,
      obj.metadata.namespace ?? '',
      obj.metadata.name,
      names,
      value,
      {
        host: config.database.clientHost,
        port: config.database.clientPort,
        database: config.database.databaseName,
        sslMode: config.database.clientSslMode,
      },
    );
    await ensure(api, caches.secrets, Resources.Secret, desired);
    return { value, rotated: rotate };
  }

  /**
   * Adds the finalizer to this very object (its uid is a precondition), never to a new one of the same name: a patch
   * creates nothing, so a workspace deleted meanwhile stays deleted. False when it is gone.
   */
  private async addFinalizer(obj: CachedObject): Promise<boolean> {
    const current = obj.metadata.finalizers;
    return this.patchFinalizers(obj, [
      ...(current ? [{ op: 'test', path: '/metadata/finalizers', value: current }] : []),
      current
        ? { op: 'add', path: '/metadata/finalizers/-', value: FINALIZER }
        : { op: 'add', path: '/metadata/finalizers', value: [FINALIZER] },
    ]);
  }

  /** A JSON patch of the finalizers of this object (by uid); false when the object no longer exists. */
  private async patchFinalizers(obj: CachedObject, ops: unknown[]): Promise<boolean> {
    try {
      const written = await this.ctx.api.jsonPatch(
        Resources.Workspace,
        { namespace: obj.metadata.namespace, name: obj.metadata.name },
        [{ op: 'test', path: '/metadata/uid', value: obj.metadata.uid }, ...ops],
      );
      this.ctx.caches.workspaces.observe(written);
      return true;
    } catch (err) {
      if (isCode(err, 'NotFound')) return false;
      throw err;
    }
  }

  /**
   * Deletion: end the role's sessions, drop schema and role, delete the namespace (and with it the Secret), then
   * let the Workspace go. Every step is idempotent, so a restart half-way simply runs it again.
   */
  private async finalize(
    obj: CachedObject,
    names: TenantNames,
    namespace: string,
    status: Status,
    log: Logger,
  ): Promise<void> {
    if (!obj.metadata.finalizers?.includes(FINALIZER)) return;
    await this.write(
      obj,
      { ...status, phase: 'Deleting' },
      progressingConditions('Deleting', 'Dropping the database objects and the namespace'),
    );
    try {
      await this.ctx.db.dropTenant(names);
      this.ctx.inventory.forget(names);
      await this.ctx.api.delete(Resources.Namespace, { name: namespace });
      this.ctx.caches.namespaces.forget(namespace);
    } catch (err) {
      await this.write(
        obj,
        { ...status, phase: 'Deleting' },
        progressingConditions('CleanupFailed', errorMessage(err)),
      );
      throw err;
    }
    // Only this finalizer goes, only from this object, and only if the list is still the one read (else: retry).
    const finalizers = obj.metadata.finalizers;
    await this.patchFinalizers(obj, [
      { op: 'test', path: '/metadata/finalizers', value: finalizers },
      { op: 'replace', path: '/metadata/finalizers', value: finalizers.filter((f) => f !== FINALIZER) },
    ]);
    this.ctx.events.emit(
      obj,
      'Normal',
      'Deleted',
      'Delete',
      `Dropped schema ${names.schema} and role ${names.role}; deleting namespace ${namespace}`,
    );
    log.info({ schema: names.schema, namespace }, 'workspace cleaned up');
  }

  private async write(obj: CachedObject, status: Status, conditions: ConditionInput[]): Promise<boolean> {
    const current = (status.conditions ?? []) as Condition[];
    const next = setConditions(current, conditions, obj.metadata.generation ?? 0, this.ctx.now());
    try {
      return await writeStatus(this.ctx.api, this.ctx.caches.workspaces, Resources.Workspace, obj, {
        ...status,
        observedGeneration: obj.metadata.generation ?? 0,
        conditions: next,
      });
    } catch (err) {
      // The object went away while its status was being written: nothing left to report on.
      if (isCode(err, 'NotFound')) return false;
      throw err instanceof OperatorError
        ? err
        : new OperatorError('Internal', errorMessage(err), { cause: err });
    }
  }
}
