import type { IncomingMessage, ServerResponse } from 'node:http';
import { Accepted, Reason, readyConditions } from '../api/conditions.js';
import { canonicalEmail } from '../api/email.js';
import type { Caches, InvitationObject } from '../caches.js';
import { errorMessage, isCode } from '../errors.js';
import { StatusWriter } from '../kube/status.js';
import type { Api } from '../kube/api.js';
import type { EventRecorder } from '../kube/events.js';
import { Resources } from '../kube/resources.js';
import type { Logger } from '../log.js';
import { conflictMessage, type Claims } from '../domain/claims.js';
import { send } from '../tls/https-server.js';
import type { TokenIndex } from './token-index.js';
import { PAGE_HEADERS, invitationPage, outcomePage, type InvitationView } from './accept-page.js';
import { TOKEN_PATTERN, hashToken, sameHash } from '../domain/tokens.js';
import { teammatesOf } from '../domain/teammates.js';

export interface AcceptResult {
  status: number;
  outcome:
    | 'pending'
    | 'accepted'
    | 'malformed'
    | 'unknown'
    | 'used'
    | 'revoked'
    | 'expired'
    | 'teammate'
    | 'gone'
    | 'conflict'
    | 'error';
  message: string;
  workspace?: string;
  account?: string;
  /** What the page shows; not in the JSON answer. */
  view?: InvitationView;
}

export interface AcceptDeps {
  api: Api;
  caches: Caches;
  claims: Pick<Claims, 'reserve'>;
  events: Pick<EventRecorder, 'emit'>;
  tokens: Pick<TokenIndex, 'lookup'>;
  now: () => Date;
  log: Logger;
}

/** How often one click is decided again after losing a race with another writer of the invitation's status. */
const ACCEPT_ATTEMPTS = 3;

const UNKNOWN =
  'This invitation link is not valid. It may have been replaced by a newer invitation; use the latest email.';

const refused = (status: number, outcome: AcceptResult['outcome'], message: string): Refused => ({
  ok: false,
  result: { status, outcome, message },
});

/** A link checked: refused with an answer, or everything an accept of it needs. */
type Refused = { ok: false; result: AcceptResult };
type Checked =
  | Refused
  | {
      ok: true;
      live: InvitationObject;
      spec: NonNullable<InvitationObject['spec']>;
      status: NonNullable<InvitationObject['status']>;
      email: string;
      now: Date;
      where: { workspace: string; account: string; view: InvitationView };
    };

/**
 * Accepting an invitation: the token must match the stored hash of a pending, unrevoked, unexpired invitation
 * whose email is not a teammate of the account (decided through the same claim as the webhook's). The status
 * write carries the version that was checked, so of two concurrent uses of one link exactly one wins. The
 * workspace controller then grants the client read access to the workspace's namespace alone.
 */
export class AcceptHandler {
  private readonly status: StatusWriter<InvitationObject>;

  constructor(private readonly deps: AcceptDeps) {
    const { api, caches, now } = deps;
    this.status = new StatusWriter(api, caches.invitations, Resources.ClientInvitation, now, {
      optimistic: true,
    });
  }

  private find(hash: string): InvitationObject | undefined {
    const key = this.deps.tokens.lookup(hash);
    return key === undefined ? undefined : this.deps.caches.invitations.get(key);
  }

  /**
   * The operator writes the invitation's status too (its Sent pass can land while a client clicks): a lost race is
   * decided again on the newer version, not handed to the person as an error. Of two uses of one link, the second
   * then finds it Accepted.
   */
  async accept(token: string): Promise<AcceptResult> {
    let result = await this.attempt(token);
    for (let n = 1; result.outcome === 'conflict' && n < ACCEPT_ATTEMPTS; n++)
      result = await this.attempt(token);
    return result;
  }

  /**
   * What a valid link opens, without accepting: the same checks as an accept, on the objects as the API server
   * has them, so a link that would be refused says so before the person clicks.
   */
  async preview(token: string): Promise<AcceptResult> {
    const checked = await this.check(token);
    if (!checked.ok) return checked.result;
    return {
      status: 200,
      outcome: 'pending',
      message: `You are invited to the ${checked.spec.workspace} workspace.`,
      ...checked.where,
    };
  }

  private async check(token: string): Promise<Checked> {
    if (!TOKEN_PATTERN.test(token))
      return refused(
        400,
        'malformed',
        'This invitation link is malformed; open the link from the email again.',
      );
    const hash = hashToken(token);
    const cached = this.find(hash);
    if (!cached) return refused(404, 'unknown', UNKNOWN);
    const ref = { namespace: cached.metadata.namespace, name: cached.metadata.name };
    // Decide on the object as the API server has it now, not on the cache.
    const live = this.deps.caches.invitations.parse(await this.deps.api.get(Resources.ClientInvitation, ref));
    const status = live?.status ?? {};
    const spec = live?.spec;
    if (
      !live ||
      live.metadata.deletionTimestamp ||
      !spec ||
      !status.tokenHash ||
      !sameHash(status.tokenHash, hash)
    ) {
      return refused(404, 'unknown', UNKNOWN);
    }
    // Only the holder of a valid token gets this far, so these reads are bounded by the tokens handed out.
    const account = live.metadata.namespace ?? '';
    const liveAccount = this.deps.caches.accounts.parse(
      await this.deps.api.get(Resources.Account, { name: account }),
    );
    const workspace = this.deps.caches.workspaces.parse(
      await this.deps.api.get(Resources.Workspace, { namespace: account, name: spec.workspace }),
    );
    const email = canonicalEmail(spec.email);
    const view: InvitationView = {
      agency: liveAccount?.spec?.displayName ?? account,
      workspace: workspace?.spec?.displayName ?? spec.workspace,
      email: email.ok ? email.email : spec.email,
      expiresAt: status.expiresAt,
    };
    const where = { workspace: spec.workspace, account, view };
    const fail = (code: number, outcome: AcceptResult['outcome'], message: string): Refused => ({
      ok: false,
      result: { status: code, outcome, message, ...where },
    });
    if (spec.revoked || status.phase === 'Revoked')
      return fail(410, 'revoked', 'This invitation was revoked.');
    if (status.phase === 'Accepted')
      return fail(409, 'used', 'This invitation was already accepted; the link works only once.');
    const now = this.deps.now();
    if (status.phase === 'Expired' || !status.expiresAt || now >= new Date(status.expiresAt)) {
      return fail(
        410,
        'expired',
        `This invitation expired on ${status.expiresAt ?? 'an unknown date'}; ask for a new one.`,
      );
    }
    if (status.phase !== 'Pending' || !email.ok)
      return fail(410, 'gone', 'This invitation cannot be accepted.');
    if (teammatesOf(liveAccount?.spec).has(email.email)) {
      return fail(
        409,
        'teammate',
        `${email.email} is a teammate of this account; a teammate cannot accept a client invitation.`,
      );
    }
    if (!workspace) return fail(410, 'gone', `The workspace ${spec.workspace} no longer exists.`);
    return { ok: true, live, spec, status, email: email.email, now, where };
  }

  private async attempt(token: string): Promise<AcceptResult> {
    const checked = await this.check(token);
    if (!checked.ok) return checked.result;
    const { live, spec, status, email, now, where } = checked;
    const account = where.account;
    const fail = (code: number, outcome: AcceptResult['outcome'], message: string): AcceptResult => ({
      status: code,
      outcome,
      message,
      ...where,
    });
    const claim = { account, email, population: 'client' as const };
    const reservation = await this.deps.claims.reserve(claim, `accept:${live.metadata.uid ?? ''}`, false);
    if (!reservation.ok) return fail(409, 'teammate', conflictMessage(claim));

    const conditions = [
      ...readyConditions(Reason.Accepted, `Accepted; the client reads workspace ${spec.workspace}`),
      {
        type: Accepted,
        status: 'True' as const,
        reason: Reason.Accepted,
        message: `Accepted at ${now.toISOString()}`,
      },
    ];
    try {
      const write = await this.status.write(
        live,
        { ...status, phase: 'Accepted', acceptedAt: now.toISOString() },
        conditions,
      );
      if (write.gone) return fail(410, 'gone', 'This invitation no longer exists.');
      this.deps.events.emit(
        write.object,
        'Normal',
        Reason.Accepted,
        'Accept',
        `Invitation to workspace ${spec.workspace} accepted; the client reads its namespace`,
      );
    } catch (err) {
      if (isCode(err, 'Conflict')) {
        return fail(
          409,
          'conflict',
          'The invitation changed while it was being accepted; open the link again.',
        );
      }
      throw err;
    }
    this.deps.log.info(
      { account, workspace: spec.workspace, invitation: live.metadata.name },
      'invitation accepted',
    );
    return {
      status: 200,
      outcome: 'accepted',
      message: `Welcome: you now have read access to the ${spec.workspace} workspace.`,
      ...where,
    };
  }

  /**
   * `GET /accept?token=…` shows who invites whom where, with a button; `POST /accept` (that form, or JSON)
   * accepts. The form posts the token in its body to `/accept?`, so the page after it has no token in its address.
   */
  route = async (req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> => {
    const url = new URL(req.url ?? '/', 'https://operator.invalid');
    if (req.method === 'GET') {
      const token = url.searchParams.get('token') ?? '';
      const result = await this.answer(() => this.preview(token));
      res.writeHead(result.status, PAGE_HEADERS);
      res.end(
        result.outcome === 'pending' && result.view
          ? invitationPage(result.view, token)
          : outcomePage(result),
      );
      return;
    }
    let token = url.searchParams.get('token') ?? '';
    const text = body.toString('utf8');
    if ((req.headers['content-type'] ?? '').includes('application/json')) {
      try {
        const parsed = JSON.parse(text) as { token?: unknown };
        if (typeof parsed.token === 'string') token = parsed.token;
      } catch {
        /* malformed: the token check below answers */
      }
    } else if (text) {
      token = new URLSearchParams(text).get('token') ?? token;
    }
    const result = await this.answer(() => this.accept(token));
    if ((req.headers.accept ?? '').includes('text/html')) {
      res.writeHead(result.status, PAGE_HEADERS);
      res.end(outcomePage(result));
      return;
    }
    const { view: _view, ...json } = result;
    send(res, { status: result.status, body: json });
  };

  private async answer(decide: () => Promise<AcceptResult>): Promise<AcceptResult> {
    try {
      return await decide();
    } catch (err) {
      this.deps.log.error({ err: errorMessage(err) }, 'answering an invitation link failed');
      return {
        status: 503,
        outcome: 'error',
        message: 'The invitation could not be answered right now; try again in a moment.',
      };
    }
  }
}
