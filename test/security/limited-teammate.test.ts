/**
 * A teammate limited to chosen workspaces (spec.teammates[].workspaces) attacks the others with its own identity
 * through the API server: RBAC refuses it in their namespaces, the webhook refuses it on the agency side (deleting,
 * changing, inviting into them), and nothing changes. Its reach follows the list as the platform team edits it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workspaceNamespace } from '../../operator/src/db/names.js';
import { SECRET_NAME } from '../../operator/src/domain/children.js';
import { Api } from '../../operator/src/kube/api.js';
import { Resources } from '../../operator/src/kube/resources.js';
import { adminApi, eventually, rejection, uniqueName } from '../support/env.js';
import { createAccount, createWorkspace, read, waitReady } from '../support/fixtures.js';
import { kubectlTable } from '../support/kubectl.js';
import { SHARD_LABEL } from '../support/operator.js';
import { startOperatorWithWebhook } from '../support/webhook.js';

const shard = uniqueName('sec-lim');
const account = uniqueName('lim');
const owner = `olivia@${account}.example`;
const lena = `lena@${account}.example`;
let api: Api;
let stop: () => Promise<void> = async () => {};

/** The tenant's own identity at the API server, as an OIDC login would present it. */
async function as(user: string): Promise<Api> {
  return new Api(await api.client.as({ user, groups: ['system:authenticated'] }));
}

const teammates = (lenaWorkspaces: string[]) => [
  { email: owner, role: 'Owner' },
  { email: lena, role: 'Admin', workspaces: lenaWorkspaces },
];

async function can(user: string, verb: string, resource: string, namespace: string): Promise<boolean> {
  const review = (await api.create(Resources.SubjectAccessReview, {
    spec: { user, resourceAttributes: { verb, resource, namespace } },
  })) as { status: { allowed: boolean } };
  return review.status.allowed;
}

const web = () => workspaceNamespace(account, 'web');
const mobile = () => workspaceNamespace(account, 'mobile');

beforeAll(async () => {
  api = await adminApi();
  ({ stop } = await startOperatorWithWebhook({ api, shard, accounts: [account] }));
  await createAccount(api, shard, account, {
    teammates: [
      { email: owner, role: 'Owner' },
      { email: lena, role: 'Admin' },
    ],
  });
  await api.mergePatch(Resources.Account, { name: account }, { spec: { teammates: teammates(['web']) } });
  for (const slug of ['web', 'mobile']) await createWorkspace(api, shard, account, slug);
  for (const slug of ['web', 'mobile']) await waitReady(api, Resources.Workspace, account, slug);
  await eventually('lena to lose mobile', async () =>
    (await can(lena, 'list', 'configmaps', mobile())) ? undefined : true,
  );
});

afterAll(async () => {
  await stop();
  api.client.close();
});

describe('a teammate limited to workspace web', () => {
  it('works in web, and is refused in mobile with its own identity, where nothing changes', async () => {
    const asLena = await as(lena);
    await asLena.create(Resources.ConfigMap, {
      metadata: { name: 'notes', namespace: web() },
      data: { a: '1' },
    });

    const before = (await api.get(Resources.Secret, { namespace: mobile(), name: SECRET_NAME })) as {
      metadata: { resourceVersion: string };
    };
    const attempts: [string, () => Promise<unknown>][] = [
      [
        'read the credentials',
        () => asLena.get(Resources.Secret, { namespace: mobile(), name: SECRET_NAME }),
      ],
      ['list the Secrets', () => asLena.list(Resources.Secret, { namespace: mobile() })],
      ['list the pods', () => asLena.list(Resources.Pod, { namespace: mobile() })],
      [
        'create a ConfigMap',
        () => asLena.create(Resources.ConfigMap, { metadata: { name: 'planted', namespace: mobile() } }),
      ],
      [
        'overwrite the credentials',
        () =>
          asLena.mergePatch(
            Resources.Secret,
            { namespace: mobile(), name: SECRET_NAME },
            { data: { password: 'cHduZWQ=' } },
          ),
      ],
      [
        'delete the credentials',
        () => asLena.delete(Resources.Secret, { namespace: mobile(), name: SECRET_NAME }),
      ],
    ];
    for (const [what, attempt] of attempts) {
      const err = await rejection(attempt());
      expect(err.status, what).toBe(403);
    }
    const after = (await api.get(Resources.Secret, { namespace: mobile(), name: SECRET_NAME })) as {
      metadata: { resourceVersion: string };
    };
    expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    expect(await api.get(Resources.ConfigMap, { namespace: mobile(), name: 'planted' })).toBeUndefined();
  });

  it('is refused by the webhook when it deletes, changes or invites into mobile, and mobile stays', async () => {
    const asLena = await as(lena);
    await api.mergePatch(
      Resources.Workspace,
      { namespace: account, name: 'mobile' },
      { metadata: { annotations: { 'taskjuice.io/confirm-delete': 'mobile' } } },
    );
    const refusal = (action: string, slug = 'mobile') =>
      `${action} requires reaching workspace ${slug}: ${lena} is limited to workspace web of account ${account}`;
    const del = await rejection(asLena.delete(Resources.Workspace, { namespace: account, name: 'mobile' }));
    expect(del.message).toContain(refusal('deleting workspace mobile'));
    const rename = await rejection(
      asLena.mergePatch(
        Resources.Workspace,
        { namespace: account, name: 'mobile' },
        { spec: { displayName: 'Mine' } },
      ),
    );
    expect(rename.message).toContain(refusal('changing workspace mobile'));
    const invite = await rejection(
      asLena.create(Resources.ClientInvitation, {
        metadata: { name: 'sneak', namespace: account, labels: { [SHARD_LABEL]: shard } },
        spec: { workspace: 'mobile', email: 'friend@elsewhere.example' },
      }),
    );
    expect(invite.message).toContain(refusal('inviting clients into workspace mobile'));
    const create = await rejection(createWorkspace(asLena, shard, account, 'other'));
    expect(create.message).toContain(refusal('creating workspace other', 'other'));

    const stored = await read(api, Resources.Workspace, account, 'mobile');
    expect(stored?.metadata).toBeDefined();
    expect(stored?.spec.displayName).toBe('Client mobile');
    expect(await api.get(Resources.ClientInvitation, { namespace: account, name: 'sneak' })).toBeUndefined();
    expect(await api.get(Resources.Workspace, { namespace: account, name: 'other' })).toBeUndefined();
    // Its own workspace it manages as any Admin.
    await asLena.create(Resources.ClientInvitation, {
      metadata: { name: 'dana', namespace: account, labels: { [SHARD_LABEL]: shard } },
      spec: { workspace: 'web', email: 'dana@client.example' },
    });
  });

  it('shows which workspaces each teammate reaches, in the account status and the Staff column', async () => {
    const acct = await eventually('the account to show lena limited', async () => {
      const a = (await api.get(Resources.Account, { name: account })) as {
        status?: { teammates?: { email: string; access: string; workspaces?: string[] }[] };
      };
      return a.status?.teammates?.some((t) => t.access === 'Listed') ? a : undefined;
    });
    expect(acct.status?.teammates).toEqual([
      { email: owner, role: 'Owner', access: 'All' },
      { email: lena, role: 'Admin', access: 'Listed', workspaces: ['web'] },
    ]);
    const rows = await eventually('the staff counts', async () => {
      const r = await kubectlTable(['workspaces', '-n', account, '-o', 'wide']);
      return r.every((row) => row.STAFF) ? r : undefined;
    });
    expect(Object.fromEntries(rows.map((r) => [r.NAME, r.STAFF]))).toEqual({ web: '2', mobile: '1' });
  });

  it('follows the list as the platform team edits it: mobile added, then web taken away', async () => {
    await api.mergePatch(
      Resources.Account,
      { name: account },
      { spec: { teammates: teammates(['web', 'mobile']) } },
    );
    await eventually('lena to reach mobile', async () =>
      (await can(lena, 'list', 'configmaps', mobile())) ? true : undefined,
    );
    await api.mergePatch(
      Resources.Account,
      { name: account },
      { spec: { teammates: teammates(['mobile']) } },
    );
    await eventually('lena to lose web', async () =>
      (await can(lena, 'list', 'configmaps', web())) ? undefined : true,
    );
    expect(await can(lena, 'list', 'configmaps', mobile())).toBe(true);
    expect(await can(owner, 'list', 'configmaps', web())).toBe(true);
  });

  it('cannot leave the account without an Owner who reaches every workspace', async () => {
    const err = await rejection(
      api.mergePatch(
        Resources.Account,
        { name: account },
        { spec: { teammates: [{ email: owner, role: 'Owner', workspaces: ['web'] }] } },
      ),
    );
    expect(err.message).toMatch(
      /at least one Owner must reach every workspace \(have no workspaces list\), so that someone can manage them all/,
    );
    expect(await can(owner, 'list', 'configmaps', mobile())).toBe(true);
  });
});
