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
import { TOKEN_PATTERN, hashToken, sameHash } from '../domain/tokens.js';
import { teammatesOf } from '../domain/teammates.js';

export interface AcceptResult {
  status: number;
  outcome:
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

const fail = (status: number, outcome: AcceptResult['outcome'], message: string): AcceptResult => ({
  status,
  outcome,
  message,
});

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

  private async attempt(token: string): Promise<AcceptResult> {
    if (!TOKEN_PATTERN.test(token))
      return fail(400, 'malformed', 'This invitation link is malformed; open the link from the email again.');
    const hash = hashToken(token);
    const cached = this.find(hash);
    if (!cached) {
      return fail(
        404,
        'unknown',
        'This invitation link is not valid. It may have been replaced by a newer invitation; use the latest email.',
      );
    }
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
      return fail(
        404,
        'unknown',
        'This invitation link is not valid. It may have been replaced by a newer invitation; use the latest email.',
      );
    }
    const account = live.metadata.namespace ?? '';
    const where = { workspace: spec.workspace, account };
    if (spec.revoked || status.phase === 'Revoked')
      return { ...fail(410, 'revoked', 'This invitation was revoked.'), ...where };
    if (status.phase === 'Accepted')
      return {
        ...fail(409, 'used', 'This invitation was already accepted; the link works only once.'),
        ...where,
      };
    const now = this.deps.now();
    if (status.phase === 'Expired' || !status.expiresAt || now >= new Date(status.expiresAt)) {
      return {
        ...fail(
          410,
          'expired',
          `This invitation expired on ${status.expiresAt ?? 'an unknown date'}; ask for a new one.`,
        ),
        ...where,
      };
    }
    if (status.phase !== 'Pending')
      return { ...fail(410, 'gone', 'This invitation cannot be accepted.'), ...where };

    const email = canonicalEmail(spec.email);
    if (!email.ok) return { ...fail(410, 'gone', 'This invitation cannot be accepted.'), ...where };
    const liveAccount = this.deps.caches.accounts.parse(
      await this.deps.api.get(Resources.Account, { name: account }),
    );
    if (teammatesOf(liveAccount?.spec).has(email.email)) {
      return {
        ...fail(
          409,
          'teammate',
          `${email.email} is a teammate of this account; a teammate cannot accept a client invitation.`,
        ),
        ...where,
      };
    }
    const workspace = await this.deps.api.get(Resources.Workspace, {
      namespace: account,
      name: spec.workspace,
    });
    if (!workspace)
      return { ...fail(410, 'gone', `The workspace ${spec.workspace} no longer exists.`), ...where };
    const claim = { account, email: email.email, population: 'client' as const };
    const reservation = await this.deps.claims.reserve(claim, `accept:${live.metadata.uid ?? ''}`, false);
    if (!reservation.ok) return { ...fail(409, 'teammate', conflictMessage(claim)), ...where };

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
      if (write.gone) return { ...fail(410, 'gone', 'This invitation no longer exists.'), ...where };
      this.deps.events.emit(
        write.object,
        'Normal',
        Reason.Accepted,
        'Accept',
        `Invitation to workspace ${spec.workspace} accepted; the client reads its namespace`,
      );
    } catch (err) {
      if (isCode(err, 'Conflict')) {
        return {
          ...fail(
            409,
            'conflict',
            'The invitation changed while it was being accepted; open the link again.',
          ),
          ...where,
        };
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

  /** `GET /accept?token=…` shows a confirmation page; `POST /accept` (form or JSON) accepts. */
  route = async (req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> => {
    const url = new URL(req.url ?? '/', 'https://operator.invalid');
    const wantsHtml = (req.headers.accept ?? '').includes('text/html');
    if (req.method === 'GET') {
      const token = url.searchParams.get('token') ?? '';
      res.writeHead(200, {
        'Content-Type': 'text/html; charset=utf-8',
        'Cache-Control': 'no-store',
        'Referrer-Policy': 'no-referrer',
      });
      res.end(
        page(
          'Accept your invitation',
          `<form method="post" action="?"><input type="hidden" name="token" value="${escapeHtml(token)}"><button type="submit">Accept the invitation</button></form>`,
        ),
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
    let result: AcceptResult;
    try {
      result = await this.accept(token);
    } catch (err) {
      this.deps.log.error({ err: errorMessage(err) }, 'accepting an invitation failed');
      result = fail(503, 'error', 'The invitation could not be accepted right now; try again in a moment.');
    }
    if (wantsHtml) {
      res.writeHead(result.status, {
        'Content-Type': 'text/html; charset=utf-8',
        'Cache-Control': 'no-store',
        'Referrer-Policy': 'no-referrer',
      });
      res.end(
        page(
          result.outcome === 'accepted' ? 'Invitation accepted' : 'Invitation not accepted',
          `<p>${escapeHtml(result.message)}</p>`,
        ),
      );
      return;
    }
    send(res, { status: result.status, body: result });
  };
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title: string, content: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1>${content}</body></html>`;
}
