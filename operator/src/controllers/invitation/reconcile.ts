import {
  Accepted,
  Reason,
  Delivered,
  isTrue,
  progressingConditions,
  readyConditions,
  stalledConditions,
  type ConditionInput,
} from '../../api/conditions.js';
import { canonicalEmail } from '../../api/email.js';
import { describeIssues } from '../../api/issues.js';
import type { ClientInvitationStatus } from '../../api/v1alpha1/clientinvitation.js';
import { errorMessage, isCode, terminal } from '../../errors.js';
import { acceptLink, type Mailer } from '../../domain/invitations.js';
import { newToken } from '../../domain/tokens.js';
import type { Reconciler, Result } from '../../kube/controller.js';
import type { EventType } from '../../kube/events.js';
import { Resources } from '../../kube/resources.js';
import type { Logger } from '../../log.js';
import type { ControllerContext } from '../context.js';
import { StatusWriter } from '../../kube/status.js';
import type { AccountObject, InvitationObject, WorkspaceObject } from '../../caches.js';
import { teammatesOf } from '../../domain/teammates.js';

type Status = ClientInvitationStatus;

const accepted = (status: 'True' | 'False', reason: string, message: string): ConditionInput => ({
  type: Accepted,
  status,
  reason,
  message,
});

/**
 * ClientInvitation: sends a single-use link (only the token's hash is kept), resends on a raised
 * `spec.resendRevision` (a new token: the old link stops working; a new 7-day expiry), expires, and follows
 * revocation. Ready=True once the email went out, with a separate Accepted condition that the accept endpoint
 * sets, so a GitOps sync never waits for a person. Status is written with the version it was computed from,
 * because the accept endpoint writes it too.
 */
export class InvitationReconciler implements Reconciler {
  readonly name = 'invitation';
  readonly kind = 'ClientInvitation';
  private readonly status: StatusWriter<InvitationObject>;
  /**
   * Invitations (uid and revision) this process found it has no way to send: they stay Stalled until their
   * revision is raised or the operator restarts (with mail configured, say). Without it, the status the failed
   * attempt wrote brought the invitation straight back for another token and another failure, twice a second.
   */
  private readonly unsendable = new Set<string>();

  constructor(
    private readonly ctx: ControllerContext,
    private readonly mailer: Mailer,
  ) {
    this.status = new StatusWriter(ctx.api, ctx.caches.invitations, Resources.ClientInvitation, ctx.now, {
      optimistic: true,
    });
  }

  async reconcile(key: string, log: Logger): Promise<Result | void> {
    const obj = this.ctx.caches.invitations.get(key);
    if (!obj || obj.metadata.deletionTimestamp) return;
    const account = obj.metadata.namespace ?? '';
    const status: Status = obj.status ?? {};
    const now = this.ctx.now();

    const spec = obj.spec;
    if (!spec) {
      const message = describeIssues(obj.specIssues ?? [], 'spec');
      await this.write(obj, { ...status, phase: 'Rejected' }, stalledConditions(Reason.InvalidSpec, message));
      throw terminal(`ClientInvitation ${key}: ${message}`);
    }
    const email = canonicalEmail(spec.email);
    const base: Status = { ...status, email: email.ok ? email.email : undefined };

    if (spec.revoked) {
      const message =
        'The invitation was revoked; its link no longer works and a client it admitted lost access';
      await this.end(
        obj,
        base,
        'Revoked',
        [...readyConditions(Reason.Revoked, message), accepted('False', Reason.Revoked, 'Revoked')],
        ['Normal', Reason.Revoked, 'Revoke', `Invitation for workspace ${spec.workspace} revoked`],
      );
      return;
    }
    if (status.phase === 'Accepted') {
      await this.write(obj, base, [
        ...readyConditions(Reason.Accepted, `Accepted; the client reads workspace ${spec.workspace}`),
        accepted('True', Reason.Accepted, `Accepted at ${status.acceptedAt ?? 'an unknown time'}`),
      ]);
      return;
    }

    // Rules the webhook enforces on create; here for objects that predate it or whose world changed since.
    const accountObj = this.ctx.caches.accounts.get(account);
    if (email.ok && teammatesOf(accountObj?.spec).has(email.email)) {
      return this.reject(
        obj,
        base,
        Reason.TeammateEmail,
        `${email.email} is a teammate of account ${account}; a teammate cannot also be a client`,
      );
    }
    const workspace = this.ctx.caches.workspaces.get(`${account}/${spec.workspace}`);
    if (!workspace || workspace.metadata.deletionTimestamp) {
      return this.reject(
        obj,
        base,
        Reason.WorkspaceNotFound,
        `workspace ${spec.workspace} does not exist in account ${account}`,
      );
    }

    const delivered = isTrue(status.conditions, Delivered) && status.sentRevision === spec.resendRevision;
    if (delivered) {
      const expiresAt = status.expiresAt ? new Date(status.expiresAt) : now;
      if (now >= expiresAt) {
        const at = expiresAt.toISOString();
        await this.end(
          obj,
          base,
          'Expired',
          [
            ...stalledConditions(
              Reason.Expired,
              `The link expired at ${at}; raise spec.resendRevision to send a new one`,
            ),
            accepted('False', Reason.Expired, 'Expired before it was accepted'),
          ],
          ['Warning', Reason.Expired, 'Expire', `The invitation link expired at ${at}`],
        );
        return;
      }
      await this.write(obj, { ...base, phase: 'Pending' }, [
        ...readyConditions(Reason.Sent, `Sent to ${base.email}; waiting for the client to accept`),
        accepted('False', Reason.Pending, 'Not accepted yet'),
      ]);
      return { requeueAfterMs: expiresAt.getTime() - now.getTime() + 1 };
    }

    const attempt = `${obj.metadata.uid ?? key}@${spec.resendRevision}`;
    if (this.unsendable.has(attempt)) return;
    // Send (first time, on a raised resendRevision, or after a failed delivery): the hash is stored before the
    // email goes out, so the link works the moment it arrives; a crash in between sends a new one next time.
    const { token, hash } = newToken();
    const expiresAt = new Date(now.getTime() + this.ctx.config.invitations.ttlMs);
    const sending: Status = {
      ...base,
      phase: 'Pending',
      tokenHash: hash,
      sentRevision: spec.resendRevision,
      expiresAt: expiresAt.toISOString(),
    };
    const sendingConditions = [
      {
        type: Delivered,
        status: 'False' as const,
        reason: Reason.Sending,
        message: 'Sending the invitation email',
      },
      ...progressingConditions(Reason.Sending, 'Sending the invitation email'),
      accepted('False', Reason.Pending, 'Not accepted yet'),
    ];
    const sent = await this.write(obj, sending, sendingConditions);
    const displayName = (o: AccountObject | WorkspaceObject | undefined, fallback: string) =>
      o?.spec?.displayName ?? fallback;
    try {
      await this.mailer.send({
        to: email.ok ? email.email : spec.email,
        link: acceptLink(this.ctx.config.invitations.acceptBaseUrl, token),
        workspace: displayName(workspace, spec.workspace),
        account: displayName(accountObj, account),
        expiresAt,
      });
    } catch (err) {
      // No way to deliver at all is for a person to fix (Stalled); a failed delivery is retried (Reconciling).
      const unconfigured = isCode(err, 'Terminal');
      const reason = unconfigured ? Reason.MailNotConfigured : Reason.SendFailed;
      this.ctx.metrics.mailFailures.inc({ reason: unconfigured ? 'not_configured' : 'send_failed' });
      if (unconfigured) this.unsendable.add(attempt);
      await this.write(sent, sending, [
        { type: Delivered, status: 'False', reason, message: errorMessage(err) },
        ...(unconfigured
          ? stalledConditions(reason, errorMessage(err))
          : progressingConditions(reason, errorMessage(err))),
        accepted('False', Reason.Pending, 'Not accepted yet'),
      ]);
      throw err;
    }
    this.ctx.metrics.mailsSent.inc();
    await this.write(sent, { ...sending, sentAt: now.toISOString() }, [
      { type: Delivered, status: 'True', reason: Reason.Sent, message: `Sent to ${sending.email}` },
      ...readyConditions(Reason.Sent, `Sent to ${sending.email}; waiting for the client to accept`),
      accepted('False', Reason.Pending, 'Not accepted yet'),
    ]);
    this.ctx.events.emit(
      obj,
      'Normal',
      Reason.Sent,
      'Send',
      `Invitation to workspace ${spec.workspace} sent; it expires at ${expiresAt.toISOString()}`,
    );
    log.debug({ revision: spec.resendRevision }, 'invitation sent');
    return { requeueAfterMs: this.ctx.config.invitations.ttlMs + 1 };
  }

  private async reject(
    obj: InvitationObject,
    status: Status,
    reason: string,
    message: string,
  ): Promise<never> {
    await this.end(
      obj,
      status,
      'Rejected',
      [...stalledConditions(reason, message), accepted('False', reason, message)],
      ['Warning', reason, 'Reject', message],
    );
    throw terminal(message);
  }

  /**
   * An end state (revoked, expired, rejected): the link stops working, since its hash goes, and the transition into
   * it is told once, in an Event.
   */
  private async end(
    obj: InvitationObject,
    status: Status,
    phase: 'Revoked' | 'Expired' | 'Rejected',
    conditions: ConditionInput[],
    [type, reason, action, note]: [EventType, string, string, string],
  ): Promise<void> {
    const { tokenHash: _gone, ...rest } = status;
    await this.write(obj, { ...rest, phase }, conditions);
    if (obj.status?.phase !== phase) this.ctx.events.emit(obj, type, reason, action, note);
  }

  /**
   * Writes status, keeping the conditions this write does not mention (Delivered survives a revoke, say), and
   * returns the object as it now is, whose version the next write of the same pass must carry.
   */
  private async write(
    obj: InvitationObject,
    status: Status,
    conditions: ConditionInput[],
  ): Promise<InvitationObject> {
    return (await this.status.write(obj, status, conditions)).object;
  }
}
