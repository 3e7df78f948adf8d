import {
  OrphansFound,
  Ready,
  Reason,
  Stalled,
  isTrue,
  progressingConditions,
  readyConditions,
  stalledConditions,
  type ConditionInput,
} from '../../api/conditions.js';
import { describeIssues } from '../../api/issues.js';
import { plural } from '../../api/text.js';
import type { AccountStatus } from '../../api/v1alpha1/account.js';
import type { AccountObject } from '../../caches.js';
import { QUOTA_NAME, QUOTA_RESOURCE, ownsHome } from '../../domain/children.js';
import { describeLimit, resolvePlan } from '../../domain/plans.js';

import { errorMessage, isCode, terminal } from '../../errors.js';
import { ensure, ensureAbsent, ensureOwnedNamespace, ensureRoleBinding } from '../../kube/apply.js';
import type { Reconciler, Result } from '../../kube/controller.js';
import { countQuantity } from '../../kube/quantity.js';
import { Resources } from '../../kube/resources.js';
import { StatusWriter } from '../../kube/status.js';
import type { Logger } from '../../log.js';
import type { ControllerContext } from '../context.js';
import { accountBindings, homeNamespace, teammateReach, workspaceQuota } from './desired.js';
import { orphansCondition, type OrphanReport } from './orphans.js';

/** How often to look again while the quota controller has not counted the account's workspaces yet. */
const QUOTA_POLL_MS = 2_000;

/**
 * Account: the home namespace, the teammates' RBAC in it, and the quota that holds the plan limit. Nothing lives
 * outside the cluster, so there is no finalizer: the home namespace is owned by the Account and goes with it.
 */
export class AccountReconciler implements Reconciler {
  readonly name = 'account';
  readonly kind = 'Account';
  private readonly status: StatusWriter<AccountObject>;

  constructor(
    private readonly ctx: ControllerContext,
    /** What the last scan found left behind by workspaces that are gone, per account. */
    private readonly orphans: Pick<OrphanReport, 'of'>,
  ) {
    this.status = new StatusWriter(ctx.api, ctx.caches.accounts, Resources.Account, ctx.now);
  }

  async reconcile(key: string, log: Logger): Promise<Result | void> {
    const { caches } = this.ctx;
    const obj = caches.accounts.get(key);
    if (!obj || obj.metadata.deletionTimestamp) return;
    const status = obj.status ?? {};

    if (!obj.spec) {
      const message = describeIssues(obj.specIssues ?? [], 'spec');
      await this.write(obj, status, stalledConditions(Reason.InvalidSpec, message));
      throw terminal(`Account ${key}: ${message}`);
    }
    const plan = resolvePlan(obj.spec, this.ctx.config.plans);
    // Conditions every write of this pass carries, beside the summary ones.
    const orphans = orphansCondition(this.orphans.of(key));
    const facts = [plan.condition, orphans];
    // Counted and looked up by key, not listed: an account of 1,000 workspaces costs a pass what one of 5 does.
    const workspaceCount = caches.workspaces.countInNamespace(key);
    const exists = (slug: string) => caches.workspaces.get(`${key}/${slug}`) !== undefined;
    const base: AccountStatus = {
      ...status,
      namespace: key,
      plan: {
        name: plan.name,
        resolved: plan.resolved,
        workspaceLimit: plan.workspaceLimit,
        planLimit: plan.planLimit,
        limitSource: plan.source,
      },
      workspaceCount,
      teammates: teammateReach(obj.spec.teammates, exists),
    };
    if (!obj.status) {
      await this.write(obj, base, [
        ...facts,
        ...progressingConditions(Reason.Provisioning, 'Creating the home namespace'),
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
        ...accountBindings(key, obj.spec.teammates, {
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
      const reason = isCode(err, 'Terminal') ? Reason.NamespaceConflict : Reason.ProvisioningFailed;
      const summary = isCode(err, 'Terminal') ? stalledConditions : progressingConditions;
      await this.write(obj, base, [...facts, ...summary(reason, errorMessage(err))]);
      throw err;
    }

    // The quota controller must have counted the account's workspaces before a create can pass the quota.
    const quota = caches.quotas.get(`${key}/${QUOTA_NAME}`);
    const counted =
      quota?.status?.hard?.[QUOTA_RESOURCE] === countQuantity(plan.workspaceLimit) &&
      quota.status.used?.[QUOTA_RESOURCE] !== undefined;
    if (!counted) {
      await this.write(obj, base, [
        ...facts,
        ...progressingConditions(
          Reason.QuotaPending,
          'Waiting for the quota controller to count the workspaces',
        ),
      ]);
      return { requeueAfterMs: QUOTA_POLL_MS };
    }

    // Lowering a plan never takes a workspace away, but the account no longer fits it: a person must act.
    if (workspaceCount > plan.workspaceLimit) {
      const over = plural(workspaceCount - plan.workspaceLimit, 'workspace');
      const message =
        plan.source === 'Override'
          ? `account ${key} has ${plural(workspaceCount, 'workspace')}, more than ${describeLimit(plan)}; no workspace can be created until Support raises spec.workspaceLimit or ${over} deleted`
          : `account ${key} has ${plural(workspaceCount, 'workspace')}, more than plan ${plan.name ?? '(none)'} allows (${plan.workspaceLimit}); no workspace can be created until the plan is raised or ${over} deleted`;
      if (!isTrue(status.conditions, Stalled))
        this.ctx.events.emit(obj, 'Warning', Reason.OverPlanLimit, 'Audit', message);
      await this.write(obj, base, [...facts, ...stalledConditions(Reason.OverPlanLimit, message)]);
      return;
    }
    if (orphans.status === 'True' && !isTrue(status.conditions, OrphansFound)) {
      this.ctx.events.emit(obj, 'Warning', OrphansFound, 'Audit', orphans.message);
    }
    const becameReady = await this.write(obj, base, [
      ...facts,
      ...readyConditions(
        Reason.Provisioned,
        `Home namespace ${key}, ${workspaceCount} of ${plural(plan.workspaceLimit, 'workspace')} used${plan.source === 'Override' ? `; the limit is set by spec.workspaceLimit (plan ${plan.name ?? '(none)'} allows ${plan.planLimit})` : ''}`,
      ),
    ]);
    if (becameReady && !isTrue(status.conditions, Ready)) {
      this.ctx.events.emit(obj, 'Normal', Reason.Provisioned, 'Provision', `Home namespace ${key} is ready`);
    }
    log.debug({ workspaceCount }, 'account reconciled');
  }

  private async write(obj: AccountObject, status: AccountStatus, conditions: ConditionInput[]) {
    return (await this.status.write(obj, status, conditions)).written;
  }
}
