import { describe, expect, it } from 'vitest';
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
  } = {},
): WebhookView {
  const admitted: string[] = [];
  return {
    account: async (name) => (name === 'acme' ? acme : undefined),
    workspaceExists: async (name, slug) => name === 'acme' && (state.workspaces ?? []).includes(slug),
    workspaces: (name) => (name === 'acme' ? [...(state.workspaces ?? []), ...admitted] : []),
    admitWorkspace: (_, slug) => admitted.push(slug),
    workspacesLive: async (name) => (name === 'acme' ? (state.workspaces ?? []) : []),
    clients: () => state.clients ?? new Map(),
    connections: (name) => (name === 'acme' ? (state.connections ?? []) : []),
    plan: (name) => {
      const limits: Record<string, number> = { starter: 1, growth: 5, scale: 25 };
      const limit = name === undefined ? undefined : limits[name];
      return limit === undefined ? { limit: 1, resolved: false } : { limit, resolved: true };
    },
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
    const clients = new Map([['cleo@client.example', ['dd', 'bb']]]);
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
  });
});
