import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workspaceNamespace } from '../../operator/src/db/names.js';
import type { AcceptResult } from '../../operator/src/invitations/accept.js';
import type { Api } from '../../operator/src/kube/api.js';
import { Resources } from '../../operator/src/kube/resources.js';
import type { Operator } from '../../operator/src/operator.js';
import { adminApi, eventually, rejection, uniqueName } from '../support/env.js';
import { createAccount, createWorkspace, read, waitReady } from '../support/fixtures.js';
import { SHARD_LABEL } from '../support/operator.js';
import { kubectlTable } from '../support/kubectl.js';
import { TestSmtpServer, tokenOf, type ReceivedMail } from '../support/smtp.js';
import { postAccept, startOperatorWithWebhook } from '../support/webhook.js';

const DAY = 86_400_000;
const shard = uniqueName('invite');
const account = `${shard}-acme`;
const owner = `olivia@${account}.example`;
const smtp = new TestSmtpServer();
/** The operator's clock: real time plus whatever a test adds. */
let skew = 0;
let api: Api;
let operator: Operator;
let stop: () => Promise<void> = async () => {};

beforeAll(async () => {
  api = await adminApi();
  await smtp.start();
  ({ operator, stop } = await startOperatorWithWebhook({
    api,
    shard,
    accounts: [account],
    env: { ...smtp.env(), ACCEPT_BASE_URL: 'https://portal.example/accept' },
    now: () => new Date(Date.now() + skew),
  }));
  await createAccount(api, shard, account, { teammates: [{ email: owner, role: 'Owner' }] });
  for (const slug of ['web', 'mobile']) await createWorkspace(api, shard, account, slug);
  for (const slug of ['web', 'mobile']) await waitReady(api, Resources.Workspace, account, slug);
});

afterAll(async () => {
  await stop();
  await smtp.stop();
  api.client.close();
});

async function invite(name: string, email: string, workspace = 'web'): Promise<void> {
  await api.create(Resources.ClientInvitation, {
    metadata: { name, namespace: account, labels: { [SHARD_LABEL]: shard } },
    spec: { workspace, email },
  });
}

async function mailFor(address: string, count = 1): Promise<ReceivedMail> {
  return eventually(`email ${count} to ${address}`, async () => {
    const mails = smtp.to(address);
    return mails.length >= count ? mails[count - 1] : undefined;
  });
}

const accept = (token: string): Promise<AcceptResult> => postAccept(operator, token);

async function can(user: string, verb: string, resource: string, namespace: string): Promise<boolean> {
  const review = (await api.create(Resources.SubjectAccessReview, {
    spec: { user, resourceAttributes: { verb, resource, namespace } },
  })) as { status: { allowed: boolean } };
  return review.status.allowed;
}

describe('a client invitation', () => {
  it('arrives by email with a link that works once, and Ready does not wait for the client', async () => {
    const email = 'dana@contoso.example';
    await invite('dana', 'Dana@Contoso.example');
    const mail = await mailFor(email);
    expect(mail.subject).toMatch(/invited to the Client web workspace of Agency/);
    expect(mail.text).toMatch(/https:\/\/portal\.example\/accept\?token=/);
    const inv = await waitReady(api, Resources.ClientInvitation, account, 'dana');
    expect(inv.status?.phase).toBe('Pending');
    expect(inv.status?.conditions?.find((c) => c.type === 'Accepted')?.status).toBe('False');
    // The token is in the email only; status keeps its hash.
    const token = tokenOf(mail);
    expect(JSON.stringify(inv)).not.toContain(token);

    const first = await accept(token);
    expect(first).toMatchObject({ status: 200, outcome: 'accepted', workspace: 'web', account });
    const again = await accept(token);
    expect(again).toMatchObject({ status: 409, outcome: 'used' });

    const accepted = await eventually('Accepted', async () => {
      const i = await read(api, Resources.ClientInvitation, account, 'dana');
      return i?.status?.phase === 'Accepted' ? i : undefined;
    });
    expect(accepted.status?.conditions?.find((c) => c.type === 'Accepted')?.status).toBe('True');
    // Events tell the story without the token.
    const mine = await eventually('the Sent and Accepted events', async () => {
      const events = (await api.list(Resources.Event, { namespace: account })).items as {
        regarding: { name: string };
        reason: string;
        note: string;
      }[];
      const found = events.filter((e) => e.regarding.name === 'dana');
      const reasons = found.map((e) => e.reason);
      return reasons.includes('Sent') && reasons.includes('Accepted') ? found : undefined;
    });
    expect(JSON.stringify(mine)).not.toContain(token);
    const ws = await eventually('the client on the workspace', async () => {
      const w = await read(api, Resources.Workspace, account, 'web');
      return w?.status?.clients?.includes(email) ? w : undefined;
    });
    expect(ws.status?.clients).toEqual([email]);
    expect(ws.status?.clientCount).toBe(1);
    // The /clients page of the product: name, slug and client count, as kubectl shows them.
    const rows = await kubectlTable(['workspaces', '-n', account, 'web', '-o', 'wide']);
    expect(rows).toEqual([
      expect.objectContaining({
        NAME: 'web',
        'DISPLAY NAME': 'Client web',
        CLIENTS: '1',
        'CLIENT EMAILS': `["${email}"]`,
      }),
    ]);
  });

  it('gives the accepted client read access to its workspace namespace alone, and takes it away with the invitation', async () => {
    const email = 'dana@contoso.example';
    const web = workspaceNamespace(account, 'web');
    await eventually('the client binding', async () =>
      (await can(email, 'list', 'configmaps', web)) ? true : undefined,
    );
    expect(await can(email, 'get', 'pods', web)).toBe(true);
    expect(await can(email, 'create', 'configmaps', web)).toBe(false); // read-only
    expect(await can(email, 'get', 'secrets', web)).toBe(false); // the credentials stay with staff
    expect(await can(email, 'list', 'configmaps', workspaceNamespace(account, 'mobile'))).toBe(false);
    expect(await can(email, 'list', 'workspaces', account)).toBe(false); // not the agency's side

    await api.delete(Resources.ClientInvitation, { namespace: account, name: 'dana' });
    await eventually('the client binding to go', async () =>
      (await can(email, 'list', 'configmaps', web)) ? undefined : true,
    );
    const ws = await eventually('the client off the workspace', async () => {
      const w = await read(api, Resources.Workspace, account, 'web');
      return (w?.status?.clients ?? []).length === 0 ? w : undefined;
    });
    expect(ws.status?.clients ?? []).toEqual([]);
    expect(ws.status?.clientCount).toBe(0);
  });

  it('refuses an unknown or malformed token, changing nothing', async () => {
    expect(await accept('A'.repeat(43))).toMatchObject({ status: 404, outcome: 'unknown' });
    expect(await accept('not a token')).toMatchObject({ status: 400, outcome: 'malformed' });
  });

  it('refuses a revoked invitation, and its link stops working', async () => {
    await invite('rev', 'rev@client.example');
    const token = tokenOf(await mailFor('rev@client.example'));
    await waitReady(api, Resources.ClientInvitation, account, 'rev');
    await api.mergePatch(
      Resources.ClientInvitation,
      { namespace: account, name: 'rev' },
      { spec: { revoked: true } },
    );
    const revoked = await eventually('Revoked', async () => {
      const i = await read(api, Resources.ClientInvitation, account, 'rev');
      return i?.status?.phase === 'Revoked' ? i : undefined;
    });
    expect(revoked.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    const result = await accept(token);
    expect(['unknown', 'revoked']).toContain(result.outcome);
    expect(result.status).toBeGreaterThanOrEqual(400);
    expect((await read(api, Resources.ClientInvitation, account, 'rev'))?.status?.phase).toBe('Revoked');
  });

  it('expires seven days after the last send, and resending resets the expiry and kills the old link', async () => {
    await invite('exp', 'exp@client.example', 'mobile');
    const firstToken = tokenOf(await mailFor('exp@client.example'));
    const first = await waitReady(api, Resources.ClientInvitation, account, 'exp');
    const sentAt = new Date((first.status as { sentAt: string }).sentAt).getTime();
    const expiresAt = new Date((first.status as { expiresAt: string }).expiresAt).getTime();
    expect(expiresAt - sentAt).toBe(7 * DAY);

    // A resend from Git: the revision goes up, a new link goes out, the old one dies.
    skew = 3 * DAY;
    await api.mergePatch(
      Resources.ClientInvitation,
      { namespace: account, name: 'exp' },
      { spec: { resendRevision: 1 } },
    );
    const secondToken = tokenOf(await mailFor('exp@client.example', 2));
    expect(secondToken).not.toBe(firstToken);
    const resent = await waitReady(api, Resources.ClientInvitation, account, 'exp');
    expect(new Date((resent.status as { expiresAt: string }).expiresAt).getTime()).toBeGreaterThan(
      expiresAt + 2 * DAY,
    );
    expect(await accept(firstToken)).toMatchObject({ status: 404, outcome: 'unknown' });

    // Past the new expiry: refused, and nothing changes.
    skew = 3 * DAY + 7 * DAY + 60_000;
    const expired = await accept(secondToken);
    expect(expired).toMatchObject({ status: 410, outcome: 'expired' });
    operator.controllers.invitation.enqueue(`${account}/exp`);
    const after = await eventually('Expired', async () => {
      const i = await read(api, Resources.ClientInvitation, account, 'exp');
      return i?.status?.phase === 'Expired' ? i : undefined;
    });
    expect(after.status?.conditions?.find((c) => c.type === 'Stalled')?.status).toBe('True');
    expect(after.status?.conditions?.find((c) => c.type === 'Accepted')?.status).toBe('False');
    skew = 0;
  });

  it('cannot be made for a teammate, and an accepted client cannot be made a teammate (through the webhook)', async () => {
    const err = await rejection(invite('boss', owner.toUpperCase()));
    expect(err.message).toMatch(/is a teammate \(Owner\) of account/);

    await invite('carl', 'carl@client.example');
    const result = await accept(tokenOf(await mailFor('carl@client.example')));
    expect(result.outcome).toBe('accepted');
    await eventually('the acceptance in the cache', async () =>
      (operator.caches.invitations.get(`${account}/carl`)?.status as { phase?: string } | undefined)
        ?.phase === 'Accepted'
        ? true
        : undefined,
    );
    const promote = await rejection(
      api.jsonPatch(Resources.Account, { name: account }, [
        { op: 'add', path: '/spec/teammates/-', value: { email: 'Carl@Client.example', role: 'Admin' } },
      ]),
    );
    expect(promote.message).toMatch(/carl@client.example is a client of workspace web/);
  });
});
