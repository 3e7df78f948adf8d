import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workspaceNamespace } from '../../operator/src/db/names.js';
import { Api } from '../../operator/src/kube/api.js';
import { Resources } from '../../operator/src/kube/resources.js';
import type { Operator } from '../../operator/src/operator.js';
import { adminApi, eventually, rejection, uniqueName } from '../support/env.js';
import {
  createAccount,
  createWorkspace,
  secretData,
  waitEvent,
  waitGone,
  waitReady,
} from '../support/fixtures.js';
import { SHARD_LABEL } from '../support/operator.js';
import { TestSmtpServer, tokenOf } from '../support/smtp.js';
import { postAccept, startOperatorWithWebhook } from '../support/webhook.js';

/**
 * Connections against the real API server, through the webhook and RBAC, each request under the identity of the
 * person who would send it: an Owner builds a lineage, a client reconnects what is its own and nothing else.
 */
const shard = uniqueName('conn');
const acme = uniqueName('acme');
const people = {
  owner: 'olivia@acme.example',
  client: 'cleo@client.example',
};
const smtp = new TestSmtpServer();
let api: Api;
let owner: Api;
let client: Api;
let operator: Operator;
let stop: () => Promise<void> = async () => {};

interface ConnectionView {
  status?: {
    source?: string;
    copies?: number;
    credentials?: { revision: number; latestRevision: number; upToDate: boolean; mountedSecret?: string };
    conditions?: { type: string; status: string; reason: string; message: string }[];
  };
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
const labels = { [SHARD_LABEL]: shard };

async function credentialsSecret(name: string, token: string): Promise<void> {
  await owner.create(Resources.Secret, {
    metadata: { name, namespace: acme, labels },
    data: { token: b64(token) },
  });
}

async function connection(name: string, spec: Record<string, unknown>, as: Api = owner): Promise<unknown> {
  return as.create(Resources.Connection, {
    metadata: { name, namespace: acme, labels },
    spec: { displayName: name, ...spec },
  });
}

const read = async (name: string) =>
  (await api.get(Resources.Connection, { namespace: acme, name })) as ConnectionView | undefined;

/** Waits until the workspace's Secret of the connection carries this token under this revision. */
async function carried(name: string, slug: string, token: string, revision: number): Promise<void> {
  const namespace = workspaceNamespace(acme, slug);
  await eventually(
    `Secret connection-${name} in ${namespace} at revision ${revision}`,
    async () => {
      const s = (await api.get(Resources.Secret, { namespace, name: `connection-${name}` })) as
        { data?: Record<string, string>; metadata: { annotations?: Record<string, string> } } | undefined;
      const rev = s?.metadata.annotations?.['taskjuice.io/credentials-revision'];
      return s && rev === String(revision) && s.data?.token === b64(token) ? true : undefined;
    },
    60_000,
  );
  await eventually(`connection ${name} up to date at ${revision}`, async () => {
    const c = (await read(name))?.status?.credentials;
    return c?.revision === revision && c.upToDate ? true : undefined;
  });
}

beforeAll(async () => {
  api = await adminApi();
  owner = new Api(await api.client.as({ user: people.owner }));
  client = new Api(await api.client.as({ user: people.client }));
  await smtp.start();
  ({ operator, stop } = await startOperatorWithWebhook({
    api,
    shard,
    accounts: [acme],
    env: { ...smtp.env(), ACCEPT_BASE_URL: 'https://portal.example/accept' },
  }));
  await createAccount(api, shard, acme, { teammates: [{ email: people.owner, role: 'Owner' }] });
  for (const slug of ['web', 'mobile', 'shop']) await createWorkspace(api, shard, acme, slug);
  for (const slug of ['web', 'mobile', 'shop']) await waitReady(api, Resources.Workspace, acme, slug);
});

afterAll(async () => {
  await stop();
  await smtp.stop();
});

describe('a lineage', () => {
  it('copies carry the source’s credentials, and a reconnect cascades to every copy', async () => {
    await credentialsSecret('ads-creds', 'token-1');
    await connection('ads', {
      workspace: 'web',
      provider: 'google-ads',
      credentials: { secretRef: { name: 'ads-creds' } },
    });
    await connection('ads-mobile', { workspace: 'mobile', copyOf: { name: 'ads' } });
    await connection('ads-shop', { workspace: 'shop', copyOf: { name: 'ads-mobile' } });
    for (const [name, slug] of [
      ['ads', 'web'],
      ['ads-mobile', 'mobile'],
      ['ads-shop', 'shop'],
    ] as const) {
      await carried(name, slug, 'token-1', 1);
    }
    expect((await read('ads-shop'))?.status?.source).toBe('ads');
    await eventually('ads counts its copies', async () =>
      (await read('ads'))?.status?.copies === 2 ? true : undefined,
    );

    // A reconnect: the source's Secret takes new credentials.
    await owner.mergePatch(
      Resources.Secret,
      { namespace: acme, name: 'ads-creds' },
      { data: { token: b64('token-2') } },
    );
    for (const [name, slug] of [
      ['ads', 'web'],
      ['ads-mobile', 'mobile'],
      ['ads-shop', 'shop'],
    ] as const) {
      await carried(name, slug, 'token-2', 2);
      await waitEvent(api, acme, name, 'Reconnected', 'Normal');
    }
    // The credentials never sit in the Connection.
    expect(JSON.stringify(await api.get(Resources.Connection, { namespace: acme, name: 'ads' }))).not.toMatch(
      /token-2|dG9rZW4tMg/,
    );
  });

  it('refuses what breaks the lineage, with a message that says why, and changes nothing', async () => {
    const twice = await rejection(connection('ads-web', { workspace: 'web', copyOf: { name: 'ads-shop' } }));
    expect(twice.message).toContain('workspace web already has connection ads of this lineage (source ads)');
    const across = await rejection(
      connection('ads-x', { workspace: 'mobile', copyOf: { name: 'ads', account: 'globex' } }),
    );
    expect(across.message).toContain('spec.copyOf.account: copies stay inside one account');
    const parent = await rejection(owner.delete(Resources.Connection, { namespace: acme, name: 'ads' }));
    expect(parent.message).toContain(
      'connection ads has 2 copies (workspaces mobile, shop); delete them first',
    );
    const middle = await rejection(
      owner.delete(Resources.Connection, { namespace: acme, name: 'ads-mobile' }),
    );
    expect(middle.message).toContain('connection ads-mobile has 1 copy (workspace shop); delete them first');
    const edit = await rejection(
      owner.mergePatch(
        Resources.Connection,
        { namespace: acme, name: 'ads-mobile' },
        { spec: { provider: 'hubspot' } },
      ),
    );
    expect(edit.message).toContain('only spec.displayName can change; reconnect ads instead');
    await owner.mergePatch(
      Resources.Workspace,
      { namespace: acme, name: 'web' },
      { metadata: { annotations: { 'taskjuice.io/confirm-delete': 'web' } } },
    );
    const workspace = await rejection(owner.delete(Resources.Workspace, { namespace: acme, name: 'web' }));
    expect(workspace.message).toContain(
      'workspace web has connections copied to other workspaces: connection ads has 2 copies (workspaces mobile, shop)',
    );
    for (const name of ['ads', 'ads-mobile', 'ads-shop']) {
      expect(await api.get(Resources.Connection, { namespace: acme, name })).toBeDefined();
    }
    expect(await api.get(Resources.Connection, { namespace: acme, name: 'ads-web' })).toBeUndefined();
    expect(await api.get(Resources.Workspace, { namespace: acme, name: 'web' })).toBeDefined();
  });

  it('a copy declared before its workspace converges once the workspace exists', async () => {
    await connection('ads-late', { workspace: 'late', copyOf: { name: 'ads' } });
    await eventually('ads-late waits for its workspace', async () =>
      (await read('ads-late'))?.status?.conditions?.some((c) => c.reason === 'WorkspaceNotFound')
        ? true
        : undefined,
    );
    await createWorkspace(api, shard, acme, 'late');
    await carried('ads-late', 'late', 'token-2', 2);
  });
});

describe('a client', () => {
  beforeAll(async () => {
    await credentialsSecret('crm-creds', 'crm-1');
    await connection('crm', {
      workspace: 'web',
      provider: 'hubspot',
      credentials: { secretRef: { name: 'crm-creds' } },
    });
    await api.create(Resources.ClientInvitation, {
      metadata: { name: 'cleo', namespace: acme, labels },
      spec: { workspace: 'web', email: people.client },
    });
    const mail = await eventually('the invitation email', async () => smtp.to(people.client)[0]);
    expect((await postAccept(operator, tokenOf(mail))).outcome).toBe('accepted');
    await carried('crm', 'web', 'crm-1', 1);
  });

  it('reconnects its own workspace’s unshared connection with its own identity', async () => {
    await eventually('the client’s reconnect rights', async () => {
      try {
        return (await client.get(Resources.Connection, { namespace: acme, name: 'crm' })) ? true : undefined;
      } catch {
        return undefined;
      }
    });
    await client.mergePatch(
      Resources.Secret,
      { namespace: acme, name: 'crm-creds' },
      { data: { token: b64('crm-2') } },
    );
    await carried('crm', 'web', 'crm-2', 2);
  });

  it('is refused a shared lineage, another workspace’s connections, listing, reading and metadata', async () => {
    const shared = await rejection(
      client.mergePatch(
        Resources.Secret,
        { namespace: acme, name: 'ads-creds' },
        { data: { token: b64('stolen') } },
      ),
    );
    expect(shared.message).toContain(
      "Secret ads-creds holds the credentials of connection ads, shared by workspaces late, mobile, shop, web; reconnecting a shared connection is for the account's Owners and Admins",
    );
    const labelled = await rejection(
      client.mergePatch(
        Resources.Secret,
        { namespace: acme, name: 'crm-creds' },
        { metadata: { labels: { x: 'y' } } },
      ),
    );
    expect(labelled.message).toContain(
      'metadata.labels: a reconnect changes only the data of Secret crm-creds',
    );
    for (const attempt of [
      () => client.get(Resources.Connection, { namespace: acme, name: 'ads-mobile' }),
      () => client.list(Resources.Connection, { namespace: acme }),
      () => client.get(Resources.Secret, { namespace: acme, name: 'crm-creds' }),
      () =>
        client.mergePatch(
          Resources.Secret,
          { namespace: workspaceNamespace(acme, 'mobile'), name: 'connection-ads-mobile' },
          { data: { token: b64('x') } },
        ),
      () => client.delete(Resources.Connection, { namespace: acme, name: 'crm' }),
    ]) {
      expect((await rejection(attempt())).message).toMatch(/forbidden/);
    }
    // Nothing changed: the shared lineage still carries revision 2.
    expect(await secretData(api, workspaceNamespace(acme, 'mobile'), 'connection-ads-mobile')).toEqual({
      token: 'token-2',
    });
    expect((await read('crm'))?.status?.credentials?.revision).toBe(2);
  });
});

describe('the end of a lineage', () => {
  it('copies go first, then the source, and each takes its Secret with it', async () => {
    for (const name of ['ads-shop', 'ads-late', 'ads-mobile', 'ads']) {
      await owner.delete(Resources.Connection, { namespace: acme, name });
      await waitGone(api, Resources.Connection, acme, name);
    }
    for (const [name, slug] of [
      ['ads', 'web'],
      ['ads-mobile', 'mobile'],
      ['ads-shop', 'shop'],
    ] as const) {
      await waitGone(api, Resources.Secret, workspaceNamespace(acme, slug), `connection-${name}`);
    }
  });
});
