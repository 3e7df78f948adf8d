import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workspaceNamespace } from '../../operator/src/db/names.js';
import { Api } from '../../operator/src/kube/api.js';
import { Resources } from '../../operator/src/kube/resources.js';
import type { Operator } from '../../operator/src/operator.js';
import { claimName } from '../../operator/src/domain/claims.js';
import { freePort } from '../../operator/tools/local/processes.js';
import { adminApi, eventually, rejection, uniqueName } from '../support/env.js';
import { createAccount, createWorkspace, waitReady } from '../support/fixtures.js';
import { SHARD_LABEL, startOperator } from '../support/operator.js';
import { registerWebhook, waitForCaBundle } from '../support/webhook.js';

let api: Api;
let operator: Operator;
const shard = uniqueName('hook');
const operatorNs = uniqueName('op');
const accounts = {
  limited: uniqueName('lim'),
  acme: uniqueName('acme'),
  empty: uniqueName('empty'),
  raised: uniqueName('raised'),
};
const owner = (account: string) => `olivia@${account}.example`;
const admin = (account: string) => `adam@${account}.example`;
const member = (account: string) => `mia@${account}.example`;
let unregister: () => Promise<void> = async () => {};

/** A client acting as `user`, the way an OIDC login would reach the API server. */
async function as(user: string, groups: string[] = ['system:authenticated']): Promise<Api> {
  return new Api(await api.client.as({ user, groups }));
}

const teammates = (account: string) => [
  { email: owner(account), role: 'Owner' as const },
  { email: admin(account), role: 'Admin' as const },
  { email: member(account), role: 'Member' as const },
];

const invitation = (account: string, name: string, workspace: string, email: string) => ({
  metadata: { name, namespace: account, labels: { [SHARD_LABEL]: shard } },
  spec: { workspace, email },
});

/** The message the user sees: the API server's wording around the webhook's. */
const denial = (webhook: string, message: string) =>
  `admission webhook "${webhook}.taskjuice.io" denied the request: ${message}`;

beforeAll(async () => {
  api = await adminApi();
  await api.create(Resources.Namespace, { metadata: { name: operatorNs } });
  const port = await freePort();
  unregister = await registerWebhook(api, {
    name: `webhook-${shard}`,
    port,
    shard,
    accounts: Object.values(accounts),
  });
  ({ operator } = await startOperator({
    shard,
    leaseNamespace: operatorNs,
    // A short grace, so the reclaim test need not wait the default 90 s; these tests make no concurrent load.
    env: { WEBHOOK_PORT: String(port), CLAIM_GRACE_SECONDS: '2' },
  }));
  await waitForCaBundle(api, `webhook-${shard}`);
  await createAccount(api, shard, accounts.limited, {
    plan: 'starter',
    teammates: teammates(accounts.limited),
  });
  await createAccount(api, shard, accounts.acme, { plan: 'growth', teammates: teammates(accounts.acme) });
  await createAccount(api, shard, accounts.empty, { plan: 'growth', teammates: teammates(accounts.empty) });
  await createAccount(api, shard, accounts.raised, {
    plan: 'starter',
    workspaceLimit: 2,
    teammates: teammates(accounts.raised),
  });
  await createWorkspace(api, shard, accounts.acme, 'web');
  await waitReady(api, Resources.Workspace, accounts.acme, 'web');
});

afterAll(async () => {
  await unregister();
  await operator?.stop();
  await api.delete(Resources.Namespace, { name: operatorNs });
  api.client.close();
});

describe('the admission webhook, through the API server', () => {
  it('refuses a workspace beyond the plan in the product wording, and warns when the account reaches its limit', async () => {
    const asOwner = await as(owner(accounts.limited));
    const warnings: string[] = [];
    asOwner.client.onWarning((w) => warnings.push(w));
    await createWorkspace(asOwner, shard, accounts.limited, 'first');
    expect(warnings).toEqual([
      `account ${accounts.limited} now uses 1 of 1 workspace of plan starter; the next create will be rejected`,
    ]);
    await eventually('the cache to count the first workspace', async () =>
      operator.caches.workspaces.get(`${accounts.limited}/first`) ? true : undefined,
    );
    const err = await rejection(createWorkspace(asOwner, shard, accounts.limited, 'second'));
    expect(err.message).toBe(
      denial('workspaces', 'plan starter allows 1 workspace; upgrade the plan or delete a workspace'),
    );
  });

  it('names the limit Support set when the account reaches it, and keeps teammates from changing it', async () => {
    const account = accounts.raised;
    const asOwner = await as(owner(account));
    const warnings: string[] = [];
    asOwner.client.onWarning((w) => warnings.push(w));
    await createWorkspace(asOwner, shard, account, 'one');
    await createWorkspace(asOwner, shard, account, 'two');
    expect(warnings).toEqual([
      `account ${account} now uses 2 of 2 workspaces, the limit of 2 workspaces set by spec.workspaceLimit (plan starter allows 1); the next create will be rejected`,
    ]);
    await eventually('the cache to count both', async () =>
      operator.caches.workspaces.get(`${account}/two`) ? true : undefined,
    );
    const err = await rejection(createWorkspace(asOwner, shard, account, 'three'));
    expect(err.message).toBe(
      denial(
        'workspaces',
        `account ${account} allows 2 workspaces, a limit set for it by Support in spec.workspaceLimit (plan starter alone allows 1); reach out to Support to increase the workspaces limit, or delete a workspace`,
      ),
    );

    // A platform that lets Owners edit their own Account still does not let them raise the limit.
    const editor = `account-editor-${shard}`;
    await api.create(Resources.ClusterRole, {
      metadata: { name: editor },
      rules: [
        {
          apiGroups: ['taskjuice.io'],
          resources: ['accounts'],
          resourceNames: [account],
          verbs: ['get', 'patch', 'update'],
        },
      ],
    });
    await api.create(Resources.ClusterRoleBinding, {
      metadata: { name: editor },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: editor },
      subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: owner(account) }],
    });
    try {
      const raise = await eventually('RBAC to let the owner through to the webhook', async () => {
        const e = await rejection(
          asOwner.mergePatch(Resources.Account, { name: account }, { spec: { workspaceLimit: 50 } }),
        );
        return e.message.includes('admission webhook') ? e : undefined;
      });
      expect(raise.message).toBe(
        denial(
          'accounts',
          `spec.workspaceLimit: the workspace limit of account ${account} is set by Support (the platform team that manages Accounts); ${owner(account)} is a teammate (Owner) of the account and cannot change it; reach out to Support to increase the workspaces limit`,
        ),
      );
      // Their other edits go through, and the platform team raises the limit.
      await asOwner.mergePatch(Resources.Account, { name: account }, { spec: { displayName: 'Renamed' } });
      await api.mergePatch(Resources.Account, { name: account }, { spec: { workspaceLimit: 3 } });
      const a = (await api.get(Resources.Account, { name: account })) as {
        spec: { workspaceLimit?: number; displayName: string };
      };
      expect(a.spec).toMatchObject({ workspaceLimit: 3, displayName: 'Renamed' });
    } finally {
      await api.delete(Resources.ClusterRoleBinding, { name: editor });
      await api.delete(Resources.ClusterRole, { name: editor });
    }
  });

  it('answers a create of a slug the account already uses with "This slug is already taken"', async () => {
    const account = accounts.acme;
    await eventually('the cache to hold web', async () =>
      operator.caches.workspaces.get(`${account}/web`) ? true : undefined,
    );
    for (const client of [api, await as(owner(account))]) {
      const err = await rejection(createWorkspace(client, shard, account, 'web'));
      expect(err.message).toBe(
        denial(
          'workspaces',
          `metadata.name: This slug is already taken. Account ${account} already has a workspace web; slugs must be unique within an account, choose a different one`,
        ),
      );
    }
    // Slugs are unique per account only: another account may use web.
    await createWorkspace(await as(owner(accounts.empty)), shard, accounts.empty, 'web');
  });

  it('lets only Owners and Admins create and delete workspaces, with the product wording for a Member', async () => {
    const account = accounts.acme;
    // The Member gets create rights through RBAC by another way, so the webhook is what stops them.
    await api.create(Resources.RoleBinding, {
      metadata: { name: 'member-extra', namespace: account },
      roleRef: {
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'ClusterRole',
        name: 'taskjuice-account-manager',
      },
      subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: member(account) }],
    });
    const asMember = await as(member(account));
    const err = await eventually('RBAC to let the member through to the webhook', async () => {
      const e = await rejection(createWorkspace(asMember, shard, account, 'by-member'));
      return e.message.includes('admission webhook') ? e : undefined;
    });
    expect(err.message).toBe(denial('workspaces', 'creating workspaces requires the Owner or Admin role'));
    await createWorkspace(await as(admin(account)), shard, account, 'by-admin');
    await api.mergePatch(
      Resources.Workspace,
      { namespace: account, name: 'by-admin' },
      {
        metadata: { annotations: { 'taskjuice.io/confirm-delete': 'by-admin' } },
      },
    );
    const del = await rejection(
      asMember.delete(Resources.Workspace, { namespace: account, name: 'by-admin' }),
    );
    expect(del.message).toBe(denial('workspaces', 'deleting workspaces requires the Owner or Admin role'));
  });

  it('never lets a teammate be invited as a client, nor a client become a teammate', async () => {
    const account = accounts.acme;
    const asOwner = await as(owner(account));
    for (const [i, email] of [
      `ADAM@${account}.EXAMPLE`,
      `ａｄａｍ@${account}.example`,
      `ad\u200Bam@${account}.example`,
    ].entries()) {
      const err = await rejection(
        asOwner.create(Resources.ClientInvitation, invitation(account, `teammate-${i}`, 'web', email)),
      );
      expect(err.message).toBe(
        denial(
          'workspaces',
          `spec.email: adam@${account}.example is a teammate (Admin) of account ${account}; a teammate cannot also be a client of the same account (invite a different address for client access)`,
        ),
      );
    }
    await asOwner.create(
      Resources.ClientInvitation,
      invitation(account, 'dana', 'web', 'Dana@Client.example'),
    );
    await eventually('the invitation in the cache', async () =>
      operator.caches.invitations.get(`${account}/dana`) ? true : undefined,
    );
    const err = await rejection(
      api.jsonPatch(Resources.Account, { name: account }, [
        { op: 'add', path: '/spec/teammates/-', value: { email: 'dana@client.example', role: 'Admin' } },
      ]),
    );
    expect(err.message).toBe(
      denial(
        'accounts',
        `spec.teammates[3].email: dana@client.example is a client of workspace web in account ${account}; a person cannot be both a teammate and a client of one account (revoke the invitation first, or use another address)`,
      ),
    );
  });

  it('needs the delete confirmation for a workspace and for the namespaces the operator owns', async () => {
    const account = accounts.acme;
    await createWorkspace(api, shard, account, 'doomed');
    await waitReady(api, Resources.Workspace, account, 'doomed');
    const asOwner = await as(owner(account));
    const err = await rejection(asOwner.delete(Resources.Workspace, { namespace: account, name: 'doomed' }));
    expect(err.message).toBe(
      denial(
        'workspaces',
        `deleting workspace doomed deletes its client's data; confirm by setting the annotation taskjuice.io/confirm-delete=doomed on it first (kubectl annotate workspace doomed -n ${account} taskjuice.io/confirm-delete=doomed)`,
      ),
    );

    const platformAdmin = await as('platform-admin', ['system:masters', 'system:authenticated']);
    const ns = workspaceNamespace(account, 'doomed');
    const nsErr = await rejection(platformAdmin.delete(Resources.Namespace, { name: ns }));
    expect(nsErr.message).toMatch(
      new RegExp(`namespace ${ns} belongs to workspace doomed of account ${account} and holds its data`),
    );
    const homeErr = await rejection(platformAdmin.delete(Resources.Namespace, { name: account }));
    expect(homeErr.message).toMatch(new RegExp(`namespace ${account} is the home of account ${account}`));

    await api.mergePatch(
      Resources.Workspace,
      { namespace: account, name: 'doomed' },
      {
        metadata: { annotations: { 'taskjuice.io/confirm-delete': 'doomed' } },
      },
    );
    await asOwner.delete(Resources.Workspace, { namespace: account, name: 'doomed' });
    // The operator removes the namespace itself when the workspace goes: its own deletion needs no confirmation.
    await eventually(
      'the workspace namespace to go',
      async () => ((await api.get(Resources.Namespace, { name: ns })) ? undefined : true),
      90_000,
    );
  });

  it('keeps an account that has workspaces, and refuses an invitation into a missing workspace', async () => {
    const err = await rejection(
      (await as('platform-admin', ['system:masters'])).delete(Resources.Account, { name: accounts.acme }),
    );
    expect(err.message).toContain(denial('accounts', `account ${accounts.acme} still has `));
    expect(err.message).toMatch(/workspaces? \(.*web.*\); delete its workspaces before the account$/);
    const inv = await rejection(
      api.create(
        Resources.ClientInvitation,
        invitation(accounts.acme, 'nowhere', 'nope', 'x@client.example'),
      ),
    );
    expect(inv.message).toBe(
      denial(
        'workspaces',
        `spec.workspace: workspace nope does not exist in account ${accounts.acme}; create the Workspace first`,
      ),
    );
  });

  it('refuses an account whose name is taken by a namespace it does not own', async () => {
    const taken = uniqueName('taken');
    await api.create(Resources.Namespace, { metadata: { name: taken } });
    try {
      const err = await rejection(createAccount(api, shard, taken, { wait: false }));
      expect(err.message).toBe(
        denial(
          'accounts',
          `namespace ${taken} already exists and is not an account's home; choose another name for the account`,
        ),
      );
    } finally {
      await api.delete(Resources.Namespace, { name: taken });
    }
  });

  it('gives a dry run the same verdict and leaves nothing behind', async () => {
    const account = accounts.empty;
    const claim = (email: string) =>
      api.get(Resources.ConfigMap, { namespace: operatorNs, name: claimName(account, email) });
    const fresh = 'dry@client.example';
    await api.create(
      Resources.Workspace,
      {
        metadata: { name: 'dry', namespace: account, labels: { [SHARD_LABEL]: shard } },
        spec: { displayName: 'x' },
      },
      { dryRun: true },
    );
    expect(await api.get(Resources.Workspace, { namespace: account, name: 'dry' })).toBeUndefined();
    await createWorkspace(api, shard, account, 'real');
    await eventually('the cache', async () =>
      operator.caches.workspaces.get(`${account}/real`) ? true : undefined,
    );
    await api.create(Resources.ClientInvitation, invitation(account, 'dry', 'real', fresh), { dryRun: true });
    expect(await claim(fresh)).toBeUndefined();
    expect(await api.get(Resources.ClientInvitation, { namespace: account, name: 'dry' })).toBeUndefined();

    const forTeammate = await rejection(
      api.create(Resources.ClientInvitation, invitation(account, 'dry2', 'real', owner(account)), {
        dryRun: true,
      }),
    );
    const forReal = await rejection(
      api.create(Resources.ClientInvitation, invitation(account, 'dry2', 'real', owner(account))),
    );
    expect(forTeammate.message).toBe(forReal.message);

    await api.create(Resources.ClientInvitation, invitation(account, 'held', 'real', 'held@client.example'));
    const addHeld = [
      { op: 'add', path: '/spec/teammates/-', value: { email: 'held@client.example', role: 'Member' } },
    ];
    const dryTeammate = await rejection(
      api.jsonPatch(Resources.Account, { name: account }, addHeld, { dryRun: true }),
    );
    const realTeammate = await rejection(api.jsonPatch(Resources.Account, { name: account }, addHeld));
    expect(dryTeammate.message).toBe(realTeammate.message);
    expect(dryTeammate.message).toMatch(/held@client.example is a client/);
  });

  it('reclaims the reservation of a request that was then not stored', async () => {
    const account = accounts.empty;
    await createWorkspace(api, shard, account, 'quota');
    await eventually('the cache', async () =>
      operator.caches.workspaces.get(`${account}/quota`) ? true : undefined,
    );
    // A quota admitting no invitations runs after the webhook: the webhook reserves, the quota refuses.
    await api.create(Resources.ResourceQuota, {
      metadata: { name: 'no-invitations', namespace: account },
      spec: { hard: { 'count/clientinvitations.taskjuice.io': '0' } },
    });
    const email = 'ghost@client.example';
    // Until the quota controller has counted it, a fresh quota may not be enforced yet: wait for its status.
    await eventually('the quota to be counted', async () => {
      const q = (await api.get(Resources.ResourceQuota, { namespace: account, name: 'no-invitations' })) as {
        status?: { used?: Record<string, string> };
      };
      return q.status?.used?.['count/clientinvitations.taskjuice.io'] !== undefined ? true : undefined;
    });
    const err = await rejection(
      api.create(Resources.ClientInvitation, invitation(account, 'ghost', 'quota', email)),
    );
    expect(err.message).toMatch(/exceeded quota/);
    expect(
      await api.get(Resources.ConfigMap, { namespace: operatorNs, name: claimName(account, email) }),
    ).toBeDefined();
    await eventually(
      'the orphaned reservation to be reclaimed',
      async () =>
        (await api.get(Resources.ConfigMap, { namespace: operatorNs, name: claimName(account, email) }))
          ? undefined
          : true,
      20_000,
    );
    // Nothing holds the person any more: they may become a teammate.
    await api.jsonPatch(Resources.Account, { name: account }, [
      { op: 'add', path: '/spec/teammates/-', value: { email, role: 'Member' } },
    ]);
    await api.delete(Resources.ResourceQuota, { namespace: account, name: 'no-invitations' });
  });
});
