import { describe, expect, it } from 'vitest';
import { resolvePlan } from '../../domain/plans.js';
import type { AccountSpec } from '../../api/v1alpha1/account.js';
import type { AdmissionRequest } from '../review.js';
import type { WebhookView } from '../view.js';
import { validate } from './index.js';
import type { ConnectionEntry } from '../../domain/connections.js';

const acme: AccountSpec = {
  displayName: 'Acme',
  plan: 'growth',
  teammates: [
    { email: 'Olivia@Acme.example', role: 'Owner' },
    { email: 'adam@acme.example', role: 'Admin' },
    { email: 'mia@acme.example', role: 'Member' },
  ],
};

function view(
  state: {
    workspaces?: string[];
    clients?: Map<string, string[]>;
    namespaces?: Record<string, Record<string, string>>;
    connections?: ConnectionEntry[];
    /** Workspaces of acme that are being deleted. */
    deleting?: string[];
    /** Fields of the acme account that differ from the default one. */
    acme?: Partial<AccountSpec>;
  } = {},
): WebhookView {
  const admitted: string[] = [];
  const all = () => [...(state.workspaces ?? []), ...admitted];
  return {
    account: async (name) => (name === 'acme' ? { ...acme, ...state.acme } : undefined),
    workspaceExists: async (name, slug) => name === 'acme' && (state.workspaces ?? []).includes(slug),
    workspaceCached: (name, slug) =>
      name === 'acme' && (state.workspaces ?? []).includes(slug)
        ? { deleting: (state.deleting ?? []).includes(slug) }
        : undefined,
    workspaceCount: (name) => (name === 'acme' ? all().length : 0),
    hasWorkspace: (name, slug) => name === 'acme' && all().includes(slug),
    admitWorkspace: (_, slug) => admitted.push(slug),
    workspacesLive: async (name) => {
      const live = name === 'acme' ? (state.workspaces ?? []) : [];
      return { count: live.length, names: live.slice(0, 5) };
    },
    clients: () => state.clients ?? new Map(),
    connections: (name) => (name === 'acme' ? (state.connections ?? []) : []),
    plan: (spec) => resolvePlan(spec, { starter: 1, growth: 5, scale: 25 }),
    namespaceLabels: async (name) => state.namespaces?.[name],
    isSystem: (user) => user === 'system:serviceaccount:kube-system:namespace-controller',
  };
}

let uid = 0;
function request(
  kind: string,
  operation: AdmissionRequest['operation'],
  fields: Partial<AdmissionRequest> & { user?: string },
): AdmissionRequest {
  const core = kind === 'Namespace' || kind === 'Secret';
  const group = core ? '' : 'taskjuice.io';
  const version = core ? 'v1' : 'v1alpha1';
  return {
    uid: String(++uid),
    kind: { group, version, kind },
    resource: { group, version, resource: `${kind.toLowerCase()}s` },
    operation,
    userInfo: { username: fields.user ?? 'gitops-controller', groups: [] },
    ...fields,
  };
}

const ws = (
  name: string,
  spec: Record<string, unknown> = { displayName: 'Client' },
  annotations?: Record<string, string>,
) => ({
  metadata: { name, namespace: 'acme', annotations },
  spec,
});

describe('Workspace rules', () => {
  it('rejects a create beyond the plan with the product wording, and warns on the last slot', async () => {
    const full = await validate(
      request('Workspace', 'CREATE', { namespace: 'acme', object: ws('six') }),
      view({ workspaces: ['a', 'b', 'c', 'd', 'e'] }),
    );
    expect(full).toMatchObject({
      allowed: false,
      message: 'plan growth allows 5 workspaces; upgrade the plan or delete a workspace',
    });
    const last = await validate(
      request('Workspace', 'CREATE', { namespace: 'acme', object: ws('five') }),
      view({ workspaces: ['a', 'b', 'c', 'd'] }),
    );
    expect(last.allowed).toBe(true);
    expect(last.warnings?.[0]).toMatch(/account acme now uses 5 of 5 workspaces of plan growth/);
  });

  it('names the override Support set when the account is at its own limit, and warns in the same words', async () => {
    const override = { workspaceLimit: 7 };
    const full = await validate(
      request('Workspace', 'CREATE', { namespace: 'acme', object: ws('eight') }),
      view({ workspaces: ['a', 'b', 'c', 'd', 'e', 'f', 'g'], acme: override }),
    );
    expect(full).toMatchObject({
      allowed: false,
      message:
        'account acme allows 7 workspaces, a limit set for it by Support in spec.workspaceLimit (plan growth alone allows 5); reach out to Support to increase the workspaces limit, or delete a workspace',
    });
    // Above the plan's 5, below the override: allowed.
    const sixth = await validate(
      request('Workspace', 'CREATE', { namespace: 'acme', object: ws('six') }),
      view({ workspaces: ['a', 'b', 'c', 'd', 'e'], acme: override }),
    );
    expect(sixth).toMatchObject({ allowed: true, warnings: [] });
    const last = await validate(
      request('Workspace', 'CREATE', { namespace: 'acme', object: ws('seven') }),
      view({ workspaces: ['a', 'b', 'c', 'd', 'e', 'f'], acme: override }),
    );
    expect(last.warnings).toEqual([
      'account acme now uses 7 of 7 workspaces, the limit of 7 workspaces set by spec.workspaceLimit (plan growth allows 5); the next create will be rejected',
    ]);
    // An override below the plan holds too: Support can also lower it.
    const lowered = await validate(
      request('Workspace', 'CREATE', { namespace: 'acme', object: ws('two') }),
      view({ workspaces: ['a'], acme: { workspaceLimit: 1 } }),
    );
    expect(lowered.message).toMatch(/^account acme allows 1 workspace, a limit set for it by Support/);
  });

  it('requires the Owner or Admin role of teammates, and leaves other identities to RBAC', async () => {
    const asMember = await validate(
      request('Workspace', 'CREATE', { namespace: 'acme', object: ws('web'), user: 'MIA@acme.example' }),
      view(),
    );
    expect(asMember).toMatchObject({
      allowed: false,
      message: 'creating workspaces requires the Owner or Admin role',
    });
    for (const user of [
      'olivia@acme.example',
      'adam@acme.example',
      'system:serviceaccount:argocd:argocd-application-controller',
    ]) {
      expect(
        (
          await validate(
            request('Workspace', 'CREATE', { namespace: 'acme', object: ws('web'), user }),
            view(),
          )
        ).allowed,
      ).toBe(true);
    }
  });

  it('says "This slug is already taken" for a slug the account uses, before the plan is looked at', async () => {
    const taken = await validate(
      request('Workspace', 'CREATE', { namespace: 'acme', object: ws('web') }),
      view({ workspaces: ['a', 'b', 'c', 'd', 'web'] }),
    );
    expect(taken).toMatchObject({
      allowed: false,
      message:
        'metadata.name: This slug is already taken. Account acme already has a workspace web; slugs must be unique within an account, choose a different one',
    });
    const going = await validate(
      request('Workspace', 'CREATE', { namespace: 'acme', object: ws('web') }),
      view({ workspaces: ['web'], deleting: ['web'] }),
    );
    expect(going.message).toBe(
      'metadata.name: This slug is already taken. Account acme already has a workspace web (it is being deleted; the slug is free once it is gone); slugs must be unique within an account, choose a different one',
    );
    // Another slug is free, and an update of the workspace itself is not a create.
    const other = await validate(
      request('Workspace', 'CREATE', { namespace: 'acme', object: ws('mobile') }),
      view({ workspaces: ['web'] }),
    );
    expect(other.allowed).toBe(true);
    const update = await validate(
      request('Workspace', 'UPDATE', { namespace: 'acme', object: ws('web'), oldObject: ws('web') }),
      view({ workspaces: ['web'] }),
    );
    expect(update.allowed).toBe(true);
  });

  it('says what the slug rule is', async () => {
    const v = await validate(request('Workspace', 'CREATE', { namespace: 'acme', object: ws('a') }), view());
    expect(v.message).toBe(
      'metadata.name (the slug) "a" must be 2 to 50 characters of lower-case letters, digits and hyphens, with no leading or trailing hyphen',
    );
  });

  it('names the field and the rule of a bad spec', async () => {
    const v = await validate(
      request('Workspace', 'UPDATE', {
        namespace: 'acme',
        object: ws('web', { displayName: '', approvalTimeoutSeconds: 5 }),
      }),
      view(),
    );
    expect(v.allowed).toBe(false);
    expect(v.message).toMatch(/spec\.displayName: .*1/);
    expect(v.message).toMatch(/spec\.approvalTimeoutSeconds: .*60/);
  });

  it('lets nobody but the operator remove the cleanup finalizer, and leaves other finalizers alone', async () => {
    const withFinalizers = (finalizers: string[]) => ({
      metadata: { name: 'web', namespace: 'acme', finalizers },
      spec: { displayName: 'Client' },
    });
    const update = (before: string[], after: string[], user: string) =>
      validate(
        request('Workspace', 'UPDATE', {
          namespace: 'acme',
          oldObject: withFinalizers(before),
          object: withFinalizers(after),
          user,
        }),
        view(),
      );
    const byAdmin = await update(['taskjuice.io/cleanup'], [], 'adam@acme.example');
    expect(byAdmin.allowed).toBe(false);
    expect(byAdmin.message).toMatch(
      /^metadata\.finalizers: taskjuice\.io\/cleanup is removed by workspace-operator/,
    );
    expect((await update(['taskjuice.io/cleanup'], [], 'cluster-admin')).allowed).toBe(false);
    expect(
      (await update(['taskjuice.io/cleanup'], [], 'system:serviceaccount:kube-system:namespace-controller'))
        .allowed,
    ).toBe(true);
    expect(
      (
        await update(
          ['taskjuice.io/cleanup', 'x.example/other'],
          ['taskjuice.io/cleanup'],
          'adam@acme.example',
        )
      ).allowed,
    ).toBe(true);
  });

  it('refuses a workspace outside an account home namespace', async () => {
    const v = await validate(
      request('Workspace', 'CREATE', {
        namespace: 'elsewhere',
        object: { metadata: { name: 'web', namespace: 'elsewhere' }, spec: { displayName: 'x' } },
      }),
      view(),
    );
    expect(v.message).toMatch(/namespace elsewhere is not the home namespace of an Account/);
  });

  it('needs the confirm-delete annotation naming the workspace, except for the namespace controller', async () => {
    const unconfirmed = await validate(
      request('Workspace', 'DELETE', {
        namespace: 'acme',
        name: 'web',
        oldObject: ws('web'),
        user: 'olivia@acme.example',
      }),
      view(),
    );
    expect(unconfirmed.allowed).toBe(false);
    expect(unconfirmed.message).toMatch(
      /deletes its client's data; confirm by setting the annotation taskjuice.io\/confirm-delete=web/,
    );
    const wrongName = await validate(
      request('Workspace', 'DELETE', {
        namespace: 'acme',
        name: 'web',
        oldObject: ws('web', {}, { 'taskjuice.io/confirm-delete': 'mobile' }),
      }),
      view(),
    );
    expect(wrongName.allowed).toBe(false);
    const confirmed = await validate(
      request('Workspace', 'DELETE', {
        namespace: 'acme',
        name: 'web',
        oldObject: ws('web', {}, { 'taskjuice.io/confirm-delete': 'web' }),
      }),
      view(),
    );
    expect(confirmed.allowed).toBe(true);
    const byNamespaceController = await validate(
      request('Workspace', 'DELETE', {
        namespace: 'acme',
        name: 'web',
        oldObject: ws('web'),
        user: 'system:serviceaccount:kube-system:namespace-controller',
      }),
      view(),
    );
    expect(byNamespaceController.allowed).toBe(true);
    const byMember = await validate(
      request('Workspace', 'DELETE', {
        namespace: 'acme',
        name: 'web',
        oldObject: ws('web', {}, { 'taskjuice.io/confirm-delete': 'web' }),
        user: 'mia@acme.example',
      }),
      view(),
    );
    expect(byMember.message).toBe('deleting workspaces requires the Owner or Admin role');
  });
});

describe('Account rules', () => {
  const account = (name: string, spec: Partial<AccountSpec> = {}) => ({
    metadata: { name },
    spec: { ...acme, ...spec },
  });

  it('refuses a teammate who is a client of the account, whatever the case or width of the address', async () => {
    const clients = new Map([['dana@contoso.example', ['contoso']]]);
    const v = await validate(
      request('Account', 'UPDATE', {
        object: account('acme', {
          teammates: [...acme.teammates, { email: 'ＤＡＮＡ@contoso.example', role: 'Admin' }],
        }),
      }),
      view({ clients }),
    );
    expect(v.allowed).toBe(false);
    expect(v.message).toMatch(
      /spec.teammates\[3\].email: dana@contoso.example is a client of workspace contoso in account acme/,
    );
  });

  it('refuses a teammate who changes the workspace limit, and lets the platform team set it', async () => {
    for (const [operation, oldObject, object] of [
      ['UPDATE', account('acme'), account('acme', { workspaceLimit: 50 })],
      ['UPDATE', account('acme', { workspaceLimit: 7 }), account('acme')],
      ['CREATE', undefined, account('acme', { workspaceLimit: 50 })],
    ] as const) {
      for (const user of ['Olivia@acme.example', 'adam@acme.example', 'mia@acme.example']) {
        const v = await validate(request('Account', operation, { object, oldObject, user }), view());
        expect(v.allowed, `${operation} by ${user}`).toBe(false);
        expect(v.message).toMatch(
          /^spec.workspaceLimit: the workspace limit of account acme is set by Support \(the platform team that manages Accounts\); \S+ is a teammate \((Owner|Admin|Member)\) of the account and cannot change it/,
        );
      }
      const platform = await validate(
        request('Account', operation, { object, oldObject, user: 'platform-admin' }),
        view(),
      );
      expect(platform.allowed).toBe(true);
    }
    // A teammate's other edits of an account that carries an override are not refused for it.
    const rename = await validate(
      request('Account', 'UPDATE', {
        object: account('acme', { workspaceLimit: 7, displayName: 'Acme Inc' }),
        oldObject: account('acme', { workspaceLimit: 7 }),
        user: 'olivia@acme.example',
      }),
      view(),
    );
    expect(rename.allowed).toBe(true);
  });

  it('names the field and the rule of a bad workspace limit', async () => {
    const v = await validate(
      request('Account', 'UPDATE', { object: account('acme', { workspaceLimit: -1 }) }),
      view(),
    );
    expect(v.allowed).toBe(false);
    expect(v.message).toMatch(/spec.workspaceLimit/);
    expect(v.message).toMatch(/>=0|at least 0|greater than or equal to 0/i);
  });

  it('refuses two teammates that are one person after normalisation', async () => {
    const v = await validate(
      request('Account', 'CREATE', {
        object: account('newco', {
          teammates: [
            { email: 'a@x.example', role: 'Owner' },
            { email: 'A@X.example', role: 'Admin' },
          ],
        }),
      }),
      view(),
    );
    expect(v.message).toMatch(/spec.teammates\[1\].email: is the same person as teammates\[0\]/);
  });

  it('refuses a name taken by a namespace that is not its home', async () => {
    const v = await validate(
      request('Account', 'CREATE', { object: account('payments') }),
      view({ namespaces: { payments: { team: 'x' } } }),
    );
    expect(v.message).toBe(
      "namespace payments already exists and is not an account's home; choose another name for the account",
    );
  });

  it('refuses deleting an account that still has workspaces, naming them', async () => {
    const v = await validate(
      request('Account', 'DELETE', { name: 'acme', oldObject: account('acme') }),
      view({ workspaces: ['web', 'mobile'] }),
    );
    expect(v.message).toBe(
      'account acme still has 2 workspaces (web, mobile); delete its workspaces before the account',
    );
  });

  it('reserves every teammate of a new account as staff, and only the added ones on an update', async () => {
    const created = await validate(request('Account', 'CREATE', { object: account('newco') }), view());
    expect(created.claims?.map((c) => `${c.email}:${c.population}`)).toEqual([
      'olivia@acme.example:staff',
      'adam@acme.example:staff',
      'mia@acme.example:staff',
    ]);
    const updated = await validate(
      request('Account', 'UPDATE', {
        object: account('acme', {
          teammates: [...acme.teammates, { email: 'New@Acme.example', role: 'Member' }],
        }),
        oldObject: account('acme'),
      }),
      view(),
    );
    expect(updated.claims?.map((c) => c.email)).toEqual(['new@acme.example']);
  });
});

describe('ClientInvitation rules', () => {
  const inv = (spec: Record<string, unknown>) => ({ metadata: { name: 'i', namespace: 'acme' }, spec });

  it('refuses inviting a teammate, including a look-alike of their address', async () => {
    for (const email of [
      'adam@acme.example',
      'ADAM@ACME.EXAMPLE',
      'ａdam@acme.example',
      'ad\u200Bam@acme.example',
    ]) {
      const v = await validate(
        request('ClientInvitation', 'CREATE', {
          namespace: 'acme',
          object: inv({ workspace: 'web', email }),
        }),
        view({ workspaces: ['web'] }),
      );
      expect(v.allowed, email).toBe(false);
      expect(v.message).toMatch(/spec.email: adam@acme.example is a teammate \(Admin\) of account acme/);
    }
  });

  it('refuses an invitation into a missing workspace', async () => {
    const v = await validate(
      request('ClientInvitation', 'CREATE', {
        namespace: 'acme',
        object: inv({ workspace: 'nope', email: 'c@client.example' }),
      }),
      view({ workspaces: ['web'] }),
    );
    expect(v.message).toMatch(/spec.workspace: workspace nope does not exist in account acme/);
  });

  it('reserves the client', async () => {
    const v = await validate(
      request('ClientInvitation', 'CREATE', {
        namespace: 'acme',
        object: inv({ workspace: 'web', email: 'C@Client.example' }),
      }),
      view({ workspaces: ['web'] }),
    );
    expect(v).toMatchObject({
      allowed: true,
      claims: [{ account: 'acme', email: 'c@client.example', population: 'client' }],
    });
  });
});

describe('Namespace rules', () => {
  const ns = (name: string, labels: Record<string, string>, annotations: Record<string, string> = {}) => ({
    metadata: { name, labels, annotations },
  });

  it('guards the deletion of account and workspace namespaces with the same confirmation', async () => {
    const home = await validate(
      request('Namespace', 'DELETE', {
        name: 'acme',
        oldObject: ns('acme', { 'taskjuice.io/account': 'acme', 'taskjuice.io/component': 'home' }),
      }),
      view(),
    );
    expect(home.message).toMatch(
      /namespace acme is the home of account acme .*taskjuice.io\/confirm-delete=acme/,
    );
    const labels = {
      'taskjuice.io/account': 'acme',
      'taskjuice.io/workspace': 'web',
      'taskjuice.io/component': 'workspace',
    };
    expect(
      (await validate(request('Namespace', 'DELETE', { name: 'x', oldObject: ns('x', labels) }), view()))
        .message,
    ).toMatch(/belongs to workspace web of account acme/);
    expect(
      (
        await validate(
          request('Namespace', 'DELETE', {
            name: 'x',
            oldObject: ns('x', labels, { 'taskjuice.io/confirm-delete': 'x' }),
          }),
          view(),
        )
      ).allowed,
    ).toBe(true);
  });
});

describe('dispatch', () => {
  it('fails closed on a kind it does not validate', async () => {
    const v = await validate(
      { ...request('Workspace', 'CREATE', {}), kind: { group: 'apps', version: 'v1', kind: 'Deployment' } },
      view(),
    );
    expect(v).toMatchObject({
      allowed: false,
      message: 'workspace-operator does not validate apps/v1 Deployment',
    });
  });
});

describe('Connection rules', () => {
  const source = (name: string, workspace: string, secret = `${name}-creds`): ConnectionEntry => ({
    name,
    spec: {
      workspace,
      provider: 'google-ads',
      displayName: name,
      credentials: { secretRef: { name: secret } },
    },
  });
  const copy = (name: string, workspace: string, of: string): ConnectionEntry => ({
    name,
    spec: { workspace, displayName: name, copyOf: { name: of } },
  });
  const conn = (e: ConnectionEntry) => ({ metadata: { name: e.name, namespace: 'acme' }, spec: e.spec });
  const lineage = [source('ads', 'aa'), copy('ads-b', 'bb', 'ads'), copy('ads-c', 'cc', 'ads-b')];
  const create = (e: ConnectionEntry, user = 'olivia@acme.example', existing = lineage) =>
    validate(
      request('Connection', 'CREATE', { namespace: 'acme', name: e.name, object: conn(e), user }),
      view({ connections: existing }),
    );

  it('allows a copy of a copy, and refuses one into a workspace that already holds the lineage', async () => {
    expect((await create(copy('ads-d', 'dd', 'ads-c'))).allowed).toBe(true);
    expect(await create(copy('ads-b2', 'bb', 'ads-c'))).toMatchObject({
      allowed: false,
      message:
        'workspace bb already has connection ads-b of this lineage (source ads); a workspace holds a connection once',
    });
    expect(await create(copy('ads-a', 'aa', 'ads'))).toMatchObject({
      allowed: false,
      message: expect.stringMatching(/^workspace aa already has connection ads of this lineage/),
    });
  });

  it('refuses copies across accounts, cycles, a wrong provider, and Members', async () => {
    const across = {
      ...copy('x', 'dd', 'ads'),
      spec: { ...copy('x', 'dd', 'ads').spec!, copyOf: { name: 'ads', account: 'globex' } },
    };
    expect(await create(across)).toMatchObject({
      allowed: false,
      message: expect.stringMatching(/^spec\.copyOf\.account: copies stay inside one account/),
    });
    // p copies q, which (declared earlier, waiting) copies p: the chain closes on itself.
    const waiting = [...lineage, copy('q', 'ee', 'p')];
    expect(await create(copy('p', 'dd', 'q'), undefined, waiting)).toMatchObject({
      allowed: false,
      message: expect.stringMatching(/^spec\.copyOf: copyOf runs in a cycle \(p → q → p\)/),
    });
    const wrong = { name: 'y', spec: { ...copy('y', 'dd', 'ads').spec!, provider: 'hubspot' } };
    expect((await create(wrong)).message).toMatch(/^spec\.provider: y copies a google-ads connection/);
    expect(await create(copy('z', 'dd', 'ads'), 'mia@acme.example')).toMatchObject({
      allowed: false,
      message: 'creating or changing connections requires the Owner or Admin role',
    });
  });

  it('refuses a teammate limited to other workspaces', async () => {
    const lena = { email: 'lena@acme.example', role: 'Admin' as const, workspaces: ['aa'] };
    const limited = await validate(
      request('Connection', 'CREATE', {
        namespace: 'acme',
        name: 'ads-d',
        object: conn(copy('ads-d', 'dd', 'ads')),
        user: lena.email,
      }),
      view({ connections: lineage, acme: { teammates: [...acme.teammates, lena] } }),
    );
    expect(limited.message).toMatch(
      /^creating connection ads-d requires reaching workspace dd: lena@acme.example/,
    );
  });

  it('lets a copy wait for a source declared in the same apply', async () => {
    const early = await create(copy('late', 'dd', 'not-yet'));
    expect(early.allowed).toBe(true);
    expect(early.warnings?.[0]).toMatch(/connection not-yet does not exist yet; late waits for it/);
  });

  it('refuses deleting a connection with copies, naming them, and a copy edited on its own', async () => {
    const del = await validate(
      request('Connection', 'DELETE', { namespace: 'acme', name: 'ads', oldObject: conn(lineage[0]!) }),
      view({ connections: lineage }),
    );
    expect(del).toMatchObject({
      allowed: false,
      message: 'connection ads has 2 copies (workspaces bb, cc); delete them first',
    });
    const leaf = await validate(
      request('Connection', 'DELETE', { namespace: 'acme', name: 'ads-c', oldObject: conn(lineage[2]!) }),
      view({ connections: lineage }),
    );
    expect(leaf.allowed).toBe(true);
    const edited = { name: 'ads-b', spec: { ...lineage[1]!.spec!, provider: 'hubspot' } };
    const update = await validate(
      request('Connection', 'UPDATE', {
        namespace: 'acme',
        name: 'ads-b',
        object: conn(edited),
        oldObject: conn(lineage[1]!),
      }),
      view({ connections: lineage }),
    );
    expect(update.message).toMatch(
      /^connection ads-b is a copy of ads: .* only spec\.displayName can change; reconnect ads instead$/,
    );
    const renamed = { name: 'ads-b', spec: { ...lineage[1]!.spec!, displayName: 'Ads for B' } };
    const rename = await validate(
      request('Connection', 'UPDATE', {
        namespace: 'acme',
        name: 'ads-b',
        object: conn(renamed),
        oldObject: conn(lineage[1]!),
      }),
      view({ connections: lineage }),
    );
    expect(rename.allowed).toBe(true);
  });

  it('refuses deleting a workspace whose connections are copied elsewhere', async () => {
    const del = await validate(
      request('Workspace', 'DELETE', {
        namespace: 'acme',
        name: 'aa',
        oldObject: ws('aa', { displayName: 'A' }, { 'taskjuice.io/confirm-delete': 'aa' }),
        user: 'olivia@acme.example',
      }),
      view({ workspaces: ['aa', 'bb', 'c'], connections: lineage }),
    );
    expect(del.message).toBe(
      'workspace aa has connections copied to other workspaces: connection ads has 2 copies (workspaces bb, cc); delete those copies first',
    );
  });

  it("lets a client reconnect only its own workspace's unshared connection, and only its data", async () => {
    const connections = [...lineage, source('crm', 'dd')];
    const clients = new Map([
      ['cleo@client.example', ['dd', 'bb']],
      ['other@client.example', ['ee']],
    ]);
    const secret = (name: string, data: string, labels: Record<string, string> = {}) => ({
      metadata: {
        name,
        namespace: 'acme',
        labels: { 'taskjuice.io/connection-credentials': 'true', ...labels },
      },
      data: { token: data },
    });
    const write = (name: string, after = secret(name, 'bmV3'), user = 'cleo@client.example') =>
      validate(
        request('Secret', 'UPDATE', {
          namespace: 'acme',
          name,
          object: after,
          oldObject: secret(name, 'b2xk'),
          user,
        }),
        view({ connections, clients }),
      );
    expect((await write('crm-creds')).allowed).toBe(true);
    expect((await write('ads-creds')).message).toBe(
      "Secret ads-creds holds the credentials of connection ads, shared by workspaces aa, bb, cc; reconnecting a shared connection is for the account's Owners and Admins",
    );
    expect((await write('crm-creds', undefined, 'other@client.example')).message).toBe(
      'Secret crm-creds holds the credentials of a connection of another workspace',
    );
    expect((await write('crm-creds', secret('crm-creds', 'bmV3', { extra: 'x' }))).message).toMatch(
      /^metadata\.labels: a reconnect changes only the data of Secret crm-creds/,
    );
    expect((await write('ads-creds', undefined, 'adam@acme.example')).allowed).toBe(true);
    // Not a client of the account (External Secrets refreshing it, the platform team): RBAC's to decide.
    const eso = 'system:serviceaccount:external-secrets:external-secrets';
    expect((await write('ads-creds', undefined, eso)).allowed).toBe(true);
  });
});

describe('teammates limited to chosen workspaces', () => {
  const lena = 'Lena@Acme.example';
  const limited: Partial<AccountSpec> = {
    teammates: [...acme.teammates, { email: lena, role: 'Admin', workspaces: ['web'] }],
  };
  const state = { workspaces: ['web', 'mobile'], acme: limited };
  const outside = (action: string, slug = 'mobile') =>
    `${action} requires reaching workspace ${slug}: lena@acme.example is limited to workspace web of account acme (spec.teammates[].workspaces); ask a teammate who reaches it, or the platform team to add it to the list`;
  const confirmed = (name: string) => ws(name, { displayName: 'C' }, { 'taskjuice.io/confirm-delete': name });
  const inv = (workspace: string, email = 'dana@client.example') => ({
    metadata: { name: `i-${workspace}`, namespace: 'acme' },
    spec: { workspace, email },
  });

  it('create, change and delete only the workspaces of their list', async () => {
    const as = { namespace: 'acme', user: 'lena@acme.example' };
    const create = (slug: string) =>
      validate(
        request('Workspace', 'CREATE', { ...as, object: ws(slug) }),
        view({ ...state, workspaces: [] }),
      );
    expect(await create('mobile')).toMatchObject({
      allowed: false,
      message: outside('creating workspace mobile'),
    });
    expect((await create('web')).allowed).toBe(true);

    const update = (slug: string) =>
      validate(request('Workspace', 'UPDATE', { ...as, object: ws(slug), oldObject: ws(slug) }), view(state));
    expect(await update('mobile')).toMatchObject({
      allowed: false,
      message: outside('changing workspace mobile'),
    });
    expect((await update('web')).allowed).toBe(true);

    const remove = (slug: string) =>
      validate(
        request('Workspace', 'DELETE', { ...as, name: slug, oldObject: confirmed(slug) }),
        view(state),
      );
    expect(await remove('mobile')).toMatchObject({
      allowed: false,
      message: outside('deleting workspace mobile'),
    });
    expect((await remove('web')).allowed).toBe(true);
    // Teammates without a list reach every workspace, as before.
    const byAdam = await validate(
      request('Workspace', 'DELETE', {
        namespace: 'acme',
        user: 'adam@acme.example',
        name: 'mobile',
        oldObject: confirmed('mobile'),
      }),
      view(state),
    );
    expect(byAdam.allowed).toBe(true);
  });

  it('invite clients into, change and delete the invitations of the workspaces of their list only', async () => {
    const as = { namespace: 'acme', user: 'LENA@acme.example' };
    const create = await validate(
      request('ClientInvitation', 'CREATE', { ...as, object: inv('mobile') }),
      view(state),
    );
    expect(create).toMatchObject({
      allowed: false,
      message: outside('inviting clients into workspace mobile'),
    });
    const ok = await validate(
      request('ClientInvitation', 'CREATE', { ...as, object: inv('web') }),
      view(state),
    );
    expect(ok).toMatchObject({
      allowed: true,
      claims: [{ email: 'dana@client.example', population: 'client' }],
    });
    const update = await validate(
      request('ClientInvitation', 'UPDATE', { ...as, object: inv('mobile'), oldObject: inv('mobile') }),
      view(state),
    );
    expect(update.message).toBe(outside('changing invitations of workspace mobile'));
    const remove = await validate(
      request('ClientInvitation', 'DELETE', { ...as, name: 'i-mobile', oldObject: inv('mobile') }),
      view(state),
    );
    expect(remove.message).toBe(outside('deleting invitations of workspace mobile'));
    expect(
      (
        await validate(
          request('ClientInvitation', 'DELETE', { ...as, name: 'i-web', oldObject: inv('web') }),
          view(state),
        )
      ).allowed,
    ).toBe(true);
  });

  it('stay staff of the whole account: a limited teammate cannot be a client of a workspace outside its list', async () => {
    const v = await validate(
      request('ClientInvitation', 'CREATE', {
        namespace: 'acme',
        object: inv('mobile', 'lena@acme.example'),
      }),
      view(state),
    );
    expect(v).toMatchObject({
      allowed: false,
      message:
        'spec.email: lena@acme.example is a teammate (Admin) of account acme; a teammate cannot also be a client of the same account (invite a different address for client access)',
    });
    // And the limited teammate is reserved as staff like any other.
    const added = await validate(
      request('Account', 'UPDATE', {
        object: { metadata: { name: 'acme' }, spec: { ...acme, ...limited } },
        oldObject: { metadata: { name: 'acme' }, spec: acme },
      }),
      view(state),
    );
    expect(added.claims).toEqual([{ account: 'acme', email: 'lena@acme.example', population: 'staff' }]);
  });

  it('warn about listed workspaces that do not exist yet, and name the field of a bad list', async () => {
    const account = (teammates: AccountSpec['teammates']) => ({
      metadata: { name: 'acme' },
      spec: { ...acme, teammates },
    });
    const warned = await validate(
      request('Account', 'UPDATE', {
        object: account([...acme.teammates, { email: lena, role: 'Member', workspaces: ['web', 'later'] }]),
        oldObject: account(acme.teammates),
      }),
      view({ workspaces: ['web'] }),
    );
    expect(warned.allowed).toBe(true);
    expect(warned.warnings).toEqual([
      'spec.teammates[3].workspaces: later is not a workspace of account acme yet; Lena@Acme.example reaches it once created',
    ]);
    for (const [workspaces, rule] of [
      [['Not A Slug'], /spec\.teammates\[3\]\.workspaces\[0\]: a workspace slug must be 2 to 50 characters/],
      [[], /spec\.teammates\[3\]\.workspaces: .*(>=1|at least 1|too small)/i],
    ] as const) {
      const v = await validate(
        request('Account', 'UPDATE', {
          object: account([...acme.teammates, { email: lena, role: 'Member', workspaces: [...workspaces] }]),
        }),
        view(),
      );
      expect(v.allowed).toBe(false);
      expect(v.message).toMatch(rule);
    }
    const noFullOwner = await validate(
      request('Account', 'CREATE', {
        object: {
          metadata: { name: 'newco' },
          spec: { ...acme, teammates: [{ email: 'o@newco.example', role: 'Owner', workspaces: ['web'] }] },
        },
      }),
      view(),
    );
    expect(noFullOwner.message).toMatch(
      /at least one Owner must reach every workspace \(have no workspaces list\)/,
    );
  });
});
