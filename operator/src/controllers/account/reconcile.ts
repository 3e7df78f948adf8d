import {
  progressingConditions,
  readyConditions,
  setConditions,
  stalledConditions,
  type ConditionInput,
} from '../../api/conditions.js';
import type { Condition } from '../../api/meta.js';
import { AccountSpec, AccountStatus } from '../../api/v1alpha1/account.js';
import { errorMessage, isCode, terminal } from '../../errors.js';
import type { Logger } from '../../log.js';
import { ensure, ensureAbsent, ensureOwnedNamespace, ensureRoleBinding } from '../../kube/apply.js';
import type { Reconciler, Result } from '../../kube/controller.js';
import type { CachedObject } from '../../kube/informer.js';
import { countQuantity } from '../../kube/quantity.js';
import { Resources } from '../../kube/resources.js';
import type { ControllerContext } from '../context.js';
import { describeIssues } from '../../api/issues.js';
import { writeStatus } from '../status.js';
import { plural } from '../../api/text.js';
import { OrphansFound, orphansCondition } from './orphans.js';
import {
  QUOTA_NAME,
  QUOTA_RESOURCE,
  accountBindings,
  homeNamespace,
  ownsHome,
  resolvePlan,
  workspaceQuota,
} from './desired.js';

/** The reason of an account whose workspaces outnumber its plan (after a downgrade, say). */
export const OVER_PLAN = 'OverPlanLimit';

/** How often to look again while the quota controller has not counted the account's workspaces yet. */
const QUOTA_POLL_MS = 2_000;

/**
 * Account: the home namespace, the teammates' RBAC in it, and the quota that holds the plan limit. Nothing lives
 * outside the cluster, so there is no finalizer: the home namespace is owned by the Account and goes with it.
 */
export class AccountReconciler implements Reconciler {
  readonly name = 'account';

  constructor(private readonly ctx: ControllerContext) {}

  async reconcile(key: string, log: Logger): Promise<Result | void> {
    const { caches } = this.ctx;
    const obj = caches.accounts.get(key);
    if (!obj || obj.metadata.deletionTimestamp) return;
    const generation = obj.metadata.generation ?? 0;
    const status = AccountStatus.safeParse(obj.status ?? {}).data ?? {};

    const spec = AccountSpec.safeParse(obj.spec);
    if (!spec.success) {
      const message = describeIssues(spec.error.issues, 'spec');
      await this.write(
        obj,
        { ...status, observedGeneration: generation },
        stalledConditions('InvalidSpec', message),
      );
      throw terminal(`Account ${key}: ${message}`);
    }
    const plan = resolvePlan(spec.data.plan, this.ctx.config.plans);
    // Conditions every write of this pass carries, beside the summary ones.
    const orphans = orphansCondition(this.ctx.orphans.of(key));
    const facts = [plan.condition, orphans];
    const workspaceCount = [...caches.workspaces.inNamespace(key)].length;
    const base: AccountStatus = {
      ...status,
      observedGeneration: generation,
      namespace: key,
      plan: { name: plan.name, resolved: plan.resolved, workspaceLimit: plan.workspaceLimit },
      workspaceCount,
    };
    if (!obj.status) {
      await this.write(obj, base, [
        ...facts,
        ...progressingConditions('Provisioning', 'Creating the home namespace'),
      ]);
    }

    try {
      const { rbac, workspaces } = this.ctx.config;
      await ensureOwnedNamespace(
        this.ctx.api,
        caches.namespaces,
        homeNamespace(obj, workspaces.podSecurityLevel),
        (labels) => ownsHome(key, labels),
      );
      await Promise.all([
        ...accountBindings(key, spec.data.teammates, {
          manager: rbac.accountManagerClusterRole,
          member: rbac.accountMemberClusterRole,
        }).map(({ name, desired }) =>
          desired
            ? ensureRoleBinding(this.ctx.api, caches.roleBindings, desired)
            : ensureAbsent(this.ctx.api, caches.roleBindings, Resources.RoleBinding, {
                namespace: key,
                name,
              }),
        ),
        ensure(
          this.ctx.api,
          caches.quotas,
          Resources.ResourceQuota,
          workspaceQuota(key, plan.workspaceLimit),
        ),
      ]);
    } catch (err) {
      if (isCode(err, 'Terminal')) {
        await this.write(obj, base, [...facts, ...stalledConditions('NamespaceConflict', errorMessage(err))]);
        throw err;
      }
      await this.write(obj, base, [
        ...facts,
        ...progressingConditions('ProvisioningFailed', errorMessage(err)),
      ]);
      throw err;
    }

    // The quota controller must have counted the account's workspaces before a create can pass the quota.
    const quota = caches.quotas.get(`${key}/${QUOTA_NAME}`) as
      | (CachedObject & { status?: { hard?: Record<string, string>; used?: Record<string, string> } })
      | undefined;
    const counted =
      quota?.status?.hard?.[QUOTA_RESOURCE] === countQuantity(plan.workspaceLimit) &&
      quota.status.used?.[QUOTA_RESOURCE] !== undefined;
    if (!counted) {
      await this.write(obj, base, [
        ...facts,
        ...progressingConditions('QuotaPending', 'Waiting for the quota controller to count the workspaces'),
      ]);
      return { requeueAfterMs: QUOTA_POLL_MS };
    }

    // Lowering a plan never takes a workspace away, but the account no longer fits it: a person must act.
    if (workspaceCount > plan.workspaceLimit) {
      const message = `account ${key} has ${plural(workspaceCount, 'workspace')}, more than plan ${plan.name ?? '(none)'} allows (${plan.workspaceLimit}); no workspace can be created until the plan is raised or ${plural(workspaceCount - plan.workspaceLimit, 'workspace')} deleted`;
      if (!hasCondition(obj, 'Stalled', 'True'))
        this.ctx.events.emit(obj, 'Warning', OVER_PLAN, 'Audit', message);
      await this.write(obj, base, [...facts, ...stalledConditions(OVER_PLAN, message)]);
      return;
    }
    if (orphans.status === 'True' && !hasCondition(obj, OrphansFound, 'True')) {
      this.ctx.events.emit(obj, 'Warning', OrphansFound, 'Audit', orphans.message);
    }
    const becameReady = await this.write(obj, base, [
      ...facts,
      ...readyConditions(
        'Provisioned',
        `Home namespace ${key}, ${workspaceCount} of ${plural(plan.workspaceLimit, 'workspace')} used`,
      ),
    ]);
    if (becameReady && !isReady(obj)) {
      this.ctx.events.emit(obj, 'Normal', 'Provisioned', 'Provision', `Home namespace ${key} is ready`);
    }
    log.debug({ workspaceCount }, 'account reconciled');
  }

  private async write(
    obj: CachedObject,
    status: AccountStatus,
    conditions: ConditionInput[],
  ): Promise<boolean> {
    const current = (AccountStatus.safeParse(obj.status ?? {}).data?.conditions ?? []) as Condition[];
    const next = setConditions(current, conditions, obj.metadata.generation ?? 0, this.ctx.now());
    return writeStatus(this.ctx.api, this.ctx.caches.accounts, Resources.Account, obj, {
      ...status,
      conditions: next,
    });
  }
}

function hasCondition(obj: CachedObject, type: string, status: 'True' | 'False'): boolean {
  const conditions = (obj.status as { conditions?: Condition[] } | undefined)?.conditions;
  return conditions?.some((c) => c.type === type && c.status === status) ?? false;
}

const isReady = (obj: CachedObject) => hasCondition(obj, 'Ready', 'True');
