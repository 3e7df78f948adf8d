import {
  isTrue,
  progressingConditions,
  readyConditions,
  setConditions,
  stalledConditions,
  type ConditionInput,
} from '../../api/conditions.js';
import { canonicalEmail } from '../../api/email.js';
import { describeIssues } from '../../api/issues.js';
import type { Condition } from '../../api/meta.js';
import { AccountSpec } from '../../api/v1alpha1/account.js';
import { ClientInvitationSpec, ClientInvitationStatus } from '../../api/v1alpha1/clientinvitation.js';
import { errorMessage, isCode, terminal } from '../../errors.js';
import type { Mailer } from '../../invitations/mailer.js';
import { newToken } from '../../invitations/token.js';
import type { Reconciler, Result } from '../../kube/controller.js';
import type { CachedObject } from '../../kube/informer.js';
import { Resources } from '../../kube/resources.js';
import type { Logger } from '../../log.js';
import { teammatesOf } from '../../webhook/view.js';
import type { ControllerContext } from '../context.js';
import { writeStatus } from '../status.js';

export const Delivered = 'Delivered';
export const AcceptedCondition = 'Accepted';

type Status = ClientInvitationStatus;

const accepted = (status: 'True' | 'False', reason: string, message: string): ConditionInput => ({
  type: AcceptedCondition,
  status,
  reason,
  message,
});

/** The link in the email: the accept endpoint with the token. */
export function acceptLink(base: string, token: string): string {
  const url = new URL(base);
  url.searchParams.set('token', token);
  return url.toString();
}

/**
 * ClientInvitation: sends a single-use link (only the token's hash is kept), resends on a raised
 * `spec.resendRevision` (a new token: the old link stops working; a new 7-day expiry), expires, and follows
 * revocation. Ready=True once the email went out, with a separate Accepted condition that the accept endpoint
 * sets, so a GitOps sync never waits for a person. Status is written with the version it was computed from,
 * because the accept endpoint writes it too.
 */
export class InvitationReconciler implements Reconciler {
  readonly name = 'invitation';

  constructor(
    private readonly ctx: ControllerContext,
    private readonly mailer: Mailer,
  ) {}

  async reconcile(key: string, log: Logger): Promise<Result | void> {
    const obj = this.ctx.caches.invitations.get(key);
    if (!obj || obj.metadata.deletionTimestamp) return;
    const account = obj.metadata.namespace ?? '';
    const status: Status = ClientInvitationStatus.safeParse(obj.status ?? {}).data ?? {};
    const now = this.ctx.now();

    const spec = ClientInvitationSpec.safeParse(obj.spec);
    if (!spec.success) {
      const message = describeIssues(spec.error.issues, 'spec');
      await this.write(obj, { ...status, phase: 'Rejected' }, stalledConditions('InvalidSpec', message));
      throw terminal(`ClientInvitation ${key}: ${message}`);
    }
    const email = canonicalEmail(spec.data.email);
    const base: Status = { ...status, email: email.ok ? email.email : undefined };

    if (spec.data.revoked) {
      const { tokenHash: _gone, ...rest } = base;
      const changed = status.phase !== 'Revoked';
      await this.write(obj, { ...rest, phase: 'Revoked' }, [
        ...readyConditions(
          'Revoked',
          'The invitation was revoked; its link no longer works and a client it admitted lost access',
        ),
        accepted('False', 'Revoked', 'Revoked'),
      ]);
      if (changed)
        this.ctx.events.emit(
          obj,
          'Normal',
          'Revoked',
          'Revoke',
          `Invitation for workspace ${spec.data.workspace} revoked`,
        );
      return;
    }
    if (status.phase === 'Accepted') {
      await this.write(obj, base, [
        ...readyConditions('Accepted', `Accepted; the client reads workspace ${spec.data.workspace}`),
        accepted('True', 'Accepted', `Accepted at ${status.acceptedAt ?? 'an unknown time'}`),
      ]);
      return;
    }

    // Rules the webhook enforces on create; here for objects that predate it or whose world changed since.
    const accountSpec = AccountSpec.safeParse(this.ctx.caches.accounts.get(account)?.spec).data;
    if (email.ok && teammatesOf(accountSpec).has(email.email)) {
      return this.reject(
        obj,
        base,
        'TeammateEmail',
        `${email.email} is a teammate of account ${account}; a teammate cannot also be a client`,
      );
    }
    const workspace = this.ctx.caches.workspaces.get(`${account}/${spec.data.workspace}`);
    if (!workspace || workspace.metadata.deletionTimestamp) {
      return this.reject(
        obj,
        base,
        'WorkspaceNotFound',
        `workspace ${spec.data.workspace} does not exist in account ${account}`,
      );
    }

    const delivered =
      isTrue(status.conditions, Delivered) && status.sentRevision === spec.data.resendRevision;
    if (delivered) {
      const expiresAt = status.expiresAt ? new Date(status.expiresAt) : now;
      if (now >= expiresAt) {
        const { tokenHash: _gone, ...rest } = base;
        const changed = status.phase !== 'Expired';
        await this.write(obj, { ...rest, phase: 'Expired' }, [
          ...stalledConditions(
            'Expired',
            `The link expired at ${expiresAt.toISOString()}; raise spec.resendRevision to send a new one`,
          ),
          accepted('False', 'Expired', 'Expired before it was accepted'),
        ]);
        if (changed)
          this.ctx.events.emit(
            obj,
            'Warning',
            'Expired',
            'Expire',
            `The invitation link expired at ${expiresAt.toISOString()}`,
          );
        return;
      }
      await this.write(obj, { ...base, phase: 'Pending' }, [
        ...readyConditions('Sent', `Sent to ${base.email}; waiting for the client to accept`),
        accepted('False', 'Pending', 'Not accepted yet'),
      ]);
      return { requeueAfterMs: expiresAt.getTime() - now.getTime() + 1 };
    }

    // Send (first time, on a raised resendRevision, or after a failed delivery): the hash is stored before the
    // email goes out, so the link works the moment it arrives; a crash in between sends a new one next time.
    const { token, hash } = newToken();
    const expiresAt = new Date(now.getTime() + this.ctx.config.invitations.ttlMs);
    const sending: Status = {
      ...base,
      phase: 'Pending',
      tokenHash: hash,
      sentRevision: spec.data.resendRevision,
      expiresAt: expiresAt.toISOString(),
    };
    const sendingConditions = [
      {
        type: Delivered,
        status: 'False' as const,
        reason: 'Sending',
        message: 'Sending the invitation email',
      },
      ...progressingConditions('Sending', 'Sending the invitation email'),
      accepted('False', 'Pending', 'Not accepted yet'),
    ];
    const sent = await this.write(obj, sending, sendingConditions);
    const displayName = (o: CachedObject | undefined, fallback: string) =>
      ((o?.spec as { displayName?: unknown } | undefined)?.displayName as string | undefined) ?? fallback;
    try {
      await this.mailer.send({
        to: email.ok ? email.email : spec.data.email,
        link: acceptLink(this.ctx.config.invitations.acceptBaseUrl, token),
        workspace: displayName(workspace, spec.data.workspace),
        account: displayName(this.ctx.caches.accounts.get(account), account),
        expiresAt,
      });
    } catch (err) {
      // No way to deliver at all is for a person to fix (Stalled); a failed delivery is retried (Reconciling).
      const unconfigured = isCode(err, 'Terminal');
      const reason = unconfigured ? 'MailNotConfigured' : 'SendFailed';
      await this.write(sent, sending, [
        { type: Delivered, status: 'False', reason, message: errorMessage(err) },
        ...(unconfigured
          ? stalledConditions(reason, errorMessage(err))
          : progressingConditions(reason, errorMessage(err))),
        accepted('False', 'Pending', 'Not accepted yet'),
      ]);
      throw err;
    }
    await this.write(sent, { ...sending, sentAt: now.toISOString() }, [
      { type: Delivered, status: 'True', reason: 'Sent', message: `Sent to ${sending.email}` },
      ...readyConditions('Sent', `Sent to ${sending.email}; waiting for the client to accept`),
      accepted('False', 'Pending', 'Not accepted yet'),
    ]);
    this.ctx.events.emit(
      obj,
      'Normal',
      'Sent',
      'Send',
      `Invitation to workspace ${spec.data.workspace} sent; it expires at ${expiresAt.toISOString()}`,
    );
    log.debug({ revision: spec.data.resendRevision }, 'invitation sent');
    return { requeueAfterMs: this.ctx.config.invitations.ttlMs + 1 };
  }

  private async reject(obj: CachedObject, status: Status, reason: string, message: string): Promise<never> {
    const { tokenHash: _gone, ...rest } = status;
    if (status.phase !== 'Rejected') this.ctx.events.emit(obj, 'Warning', reason, 'Reject', message);
    await this.write(obj, { ...rest, phase: 'Rejected' }, [
      ...stalledConditions(reason, message),
      accepted('False', reason, message),
    ]);
    throw terminal(message);
  }

  /**
   * Writes status, keeping the conditions this write does not mention (Delivered survives a revoke, say), and
   * returns the object as it now is, whose version the next write of the same pass must carry.
   */
  private async write(
    obj: CachedObject,
    status: Status,
    conditions: ConditionInput[],
  ): Promise<CachedObject> {
    const current = (ClientInvitationStatus.safeParse(obj.status ?? {}).data?.conditions ??
      []) as Condition[];
    const next = setConditions(current, conditions, obj.metadata.generation ?? 0, this.ctx.now());
    await writeStatus(
      this.ctx.api,
      this.ctx.caches.invitations,
      Resources.ClientInvitation,
      obj,
      { ...status, observedGeneration: obj.metadata.generation ?? 0, conditions: next },
      { optimistic: true },
    );
    return this.ctx.caches.invitations.get(`${obj.metadata.namespace}/${obj.metadata.name}`) ?? obj;
  }
}
