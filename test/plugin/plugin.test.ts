import { execFile, execFileSync } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { workspaceNamespace } from '../../operator/src/db/names.js';
import { Api } from '../../operator/src/kube/api.js';
import { Resources } from '../../operator/src/kube/resources.js';
import type { Operator } from '../../operator/src/operator.js';
import { REPO_ROOT } from '../../operator/tools/local/install.js';
import { adminApi, eventually, rejection, uniqueName } from '../support/env.js';
import {
  createAccount,
  createWorkspace,
  read,
  secretData,
  waitGone,
  waitReady,
} from '../support/fixtures.js';
import { SHARD_LABEL } from '../support/operator.js';
import { TestSmtpServer, tokenOf } from '../support/smtp.js';
import { postAccept, startOperatorWithWebhook } from '../support/webhook.js';
import { kubectlBinary } from '../ship/support.js';

/**
 * `kubectl taskjuice` as a person runs it: the package is built and laid out as npm installs it (bin/, dist/,
 * package.json, node_modules), its bin is linked onto PATH under its plugin name, and kubectl finds and runs it
 * against the test cluster, where an operator with its webhook works on the account.
 */

const shard = uniqueName('plugin');
const account = `${shard}-acme`;
const owner = `olivia@${account}.example`;
const carla = 'carla@client.example';
const dan = 'dan@client.example';
const labels = { [SHARD_LABEL]: shard };
const smtp = new TestSmtpServer();
let api: Api;
let operator: Operator;
let stop: () => Promise<void> = async () => {};
let work: string;
let pathDir: string;
let kubeconfig: string;
let carlaToken: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function exec(file: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      {
        cwd: work,
        env: {
          PATH: [pathDir, dirname(process.execPath), '/usr/bin', '/bin'].join(delimiter),
          HOME: work,
          ...env,
        },
        timeout: 150_000,
        maxBuffer: 16 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** `kubectl taskjuice …` with the test kubeconfig, as a person with KUBECONFIG set would type it. */
const taskjuice = async (...args: string[]): Promise<Run> =>
  exec(await kubectlBinary(), ['taskjuice', ...args], { KUBECONFIG: kubeconfig });

/** The package as `npm install` lays it out, from a build of this checkout; its bin linked as npm links it. */
function installPackage(): void {
  const pkg = join(work, 'package');
  mkdirSync(join(pkg, 'bin'), { recursive: true });
  copyFileSync(join(REPO_ROOT, 'package.json'), join(pkg, 'package.json'));
  for (const file of readdirSync(join(REPO_ROOT, 'bin')))
    copyFileSync(join(REPO_ROOT, 'bin', file), join(pkg, 'bin', file));
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(pkg, 'node_modules'));
  execFileSync(
    process.execPath,
    [
      join(REPO_ROOT, 'node_modules/typescript/bin/tsc'),
      '-p',
      'tsconfig.build.json',
      '--outDir',
      join(pkg, 'dist'),
    ],
    { cwd: REPO_ROOT, stdio: 'inherit' },
  );
  const bin = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  for (const [name, file] of Object.entries(bin.bin)) symlinkSync(join(pkg, file), join(pathDir, name));
}

/** The test cluster's kubeconfig with a second context, `nobody`: a ServiceAccount that may do nothing. */
async function kubeconfigWithNobody(): Promise<string> {
  const namespace = `${shard}-nobody`;
  await api.create(Resources.Namespace, { metadata: { name: namespace } });
  await api.create(Resources.ServiceAccount, { metadata: { name: 'nobody', namespace } });
  const review = (await api.client.request({
    method: 'POST',
    path: `/api/v1/namespaces/${namespace}/serviceaccounts/nobody/token`,
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } },
  })) as { status: { token: string } };
  const doc = parse(readFileSync(inject('kubeconfig'), 'utf8')) as {
    'current-context': string;
    contexts: { name: string; context: { cluster: string; user: string } }[];
    users: { name: string; user: Record<string, unknown> }[];
  };
  const current = doc.contexts.find((c) => c.name === doc['current-context']);
  if (!current) throw new Error('the test kubeconfig has no current context');
  // Relative file references stay valid: the copy sits beside the original.
  const path = join(dirname(inject('kubeconfig')), `${shard}.kubeconfig`);
  writeFileSync(
    path,
    stringify({
      ...doc,
      users: [...doc.users, { name: 'nobody', user: { token: review.status.token } }],
      contexts: [
        ...doc.contexts,
        { name: 'nobody', context: { cluster: current.context.cluster, user: 'nobody' } },
      ],
    }),
    { mode: 0o600 },
  );
  return path;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'plugin-'));
  pathDir = join(work, 'path');
  mkdirSync(pathDir);
  installPackage();
  api = await adminApi();
  kubeconfig = await kubeconfigWithNobody();
  await smtp.start();
  ({ operator, stop } = await startOperatorWithWebhook({
    api,
    shard,
    accounts: [account],
    env: { ...smtp.env(), ACCEPT_BASE_URL: 'https://portal.example/accept' },
  }));
  await createAccount(api, shard, account, { teammates: [{ email: owner, role: 'Owner' }] });
  for (const slug of ['web', 'shop']) await createWorkspace(api, shard, account, slug);
  for (const slug of ['web', 'shop']) await waitReady(api, Resources.Workspace, account, slug);
  for (const [name, email, workspace] of [
    ['carla', carla, 'web'],
    ['dan', dan, 'shop'],
  ] as const) {
    // dan's as Argo CD applies it: the plugin says that its changes belong in Git too.
    const annotations =
      name === 'dan'
        ? { 'argocd.argoproj.io/tracking-id': `agency:taskjuice.io/ClientInvitation:${account}/dan` }
        : {};
    await api.create(Resources.ClientInvitation, {
      metadata: { name, namespace: account, labels, annotations },
      spec: { workspace, email },
    });
  }
  carlaToken = tokenOf(await eventually('the invitation to carla', async () => smtp.to(carla)[0]));
  expect(await postAccept(operator, carlaToken)).toMatchObject({ outcome: 'accepted' });
  await eventually('carla as a client of web', async () =>
    (await read(api, Resources.Workspace, account, 'web'))?.status?.clients?.includes(carla)
      ? true
      : undefined,
  );
  await api.create(Resources.Secret, {
    metadata: { name: 'crm-creds', namespace: account, labels },
    data: { token: Buffer.from('crm-secret-token').toString('base64') },
  });
  await api.create(Resources.Connection, {
    metadata: { name: 'crm', namespace: account, labels },
    spec: {
      workspace: 'web',
      provider: 'hubspot',
      displayName: 'CRM',
      credentials: { secretRef: { name: 'crm-creds' } },
    },
  });
  // A source whose Secret does not exist: what `status` must list as not Ready, with the reason.
  await api.create(Resources.Connection, {
    metadata: { name: 'ads', namespace: account, labels },
    spec: {
      workspace: 'shop',
      provider: 'google-ads',
      displayName: 'Ads',
      credentials: { secretRef: { name: 'missing-creds' } },
    },
  });
  await waitReady(api, Resources.Connection, account, 'crm');
});

afterAll(async () => {
  await stop();
  await smtp.stop();
  await api?.delete(Resources.Namespace, { name: `${shard}-nobody` });
  api?.client.close();
  if (work) rmSync(work, { recursive: true, force: true });
  if (kubeconfig) rmSync(kubeconfig, { force: true });
});

describe('kubectl taskjuice', () => {
  it('is found by kubectl on PATH as a plugin', async () => {
    const listed = await exec(await kubectlBinary(), ['plugin', 'list']);
    expect(listed.stdout).toContain(join(pathDir, 'kubectl-taskjuice'));
    const help = await taskjuice('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/kubectl taskjuice delete <account> <workspace> \[--confirm\]/);
  });

  it('completes commands, accounts and workspaces in the shell through kubectl', async () => {
    const complete = async (...words: string[]) =>
      (
        await exec(await kubectlBinary(), ['__complete', 'taskjuice', ...words], { KUBECONFIG: kubeconfig })
      ).stdout
        .trim()
        .split('\n');
    expect(await complete('ro')).toEqual(['rotate', ':4']);
    expect(await complete('status', account.slice(0, -2))).toEqual([account, ':4']);
    expect(await complete('rotate', account, '')).toEqual(['shop', 'web', ':4']);
  });

  it('status shows the plan, the workspaces with phase, namespace and clients, the invitations, the connections, and what is not Ready', async () => {
    await eventually('connection ads to say its Secret is missing', async () => {
      const c = await read(api, Resources.Connection, account, 'ads');
      return c?.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'False')
        ? true
        : undefined;
    });
    const { code, stdout, stderr } = await taskjuice('status', account);
    console.log(`kubectl taskjuice status ${account}\n${stdout}`);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(new RegExp(`Account: +${account} \\(Agency ${account}\\)`));
    expect(stdout).toMatch(/Plan: +growth\n/);
    expect(stdout).toMatch(/Workspace limit: +5 \(from Plan\)/);
    expect(stdout).toMatch(/Workspaces: +2 of 5/);
    expect(stdout).toMatch(new RegExp(`shop +Ready +${workspaceNamespace(account, 'shop')} +- +True`));
    expect(stdout).toMatch(new RegExp(`web +Ready +${workspaceNamespace(account, 'web')} +${carla} +True`));
    expect(stdout).toMatch(new RegExp(`carla +web +${carla} +Accepted`));
    expect(stdout).toMatch(new RegExp(`dan +shop +${dan} +Pending`));
    expect(stdout).toMatch(/crm +web +hubspot +crm +1 +true +\S+ +True/);
    expect(stdout).toMatch(
      /Not Ready \(1\)\nKIND +NAME +CONDITION +REASON +MESSAGE\nConnection +ads +\S+ +\S+ +.*missing-creds/,
    );
  });

  it('names what is wrong: an unknown account or workspace, a context that may not read, a bad command line', async () => {
    const nope = await taskjuice('status', `${shard}-nope`);
    expect(nope.code).toBe(1);
    expect(nope.stderr).toMatch(new RegExp(`error: account ${shard}-nope not found`));

    const ws = await taskjuice('rotate', account, 'blog');
    expect(ws.code).toBe(1);
    expect(ws.stderr).toMatch(
      new RegExp(`error: workspace blog not found in account ${account} \\(its workspaces: shop, web\\)`),
    );

    const denied = await taskjuice('status', account, '--context', 'nobody');
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(
      /error: not allowed: .*nobody.* cannot list resource "(workspaces|clientinvitations|connections)"/,
    );

    const context = await taskjuice('status', account, '--context=elsewhere');
    expect(context.code).toBe(1);
    expect(context.stderr).toMatch(/no context named elsewhere/);

    const usage = await taskjuice('resend', account);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/error: resend needs <account> <invitation>/);
  });

  it('rotate gives the workspace new credentials through the annotation, and --wait returns once they are in its Secret', async () => {
    const namespace = workspaceNamespace(account, 'web');
    const before = await secretData(api, namespace, 'database-credentials');
    const { code, stdout } = await taskjuice('rotate', account, 'web', '--wait', '--kubeconfig', kubeconfig);
    expect(code).toBe(0);
    expect(stdout).toMatch(/new credentials asked for \(taskjuice.io\/rotate-credentials=\S+\)\.\nDone/);
    const ws = (await api.get(Resources.Workspace, { namespace: account, name: 'web' })) as {
      metadata: { annotations: Record<string, string>; managedFields: { manager: string }[] };
      status: { database: { rotation: string } };
    };
    const value = ws.metadata.annotations['taskjuice.io/rotate-credentials'];
    expect(value).toBeDefined();
    expect(ws.status.database.rotation).toBe(value);
    expect(ws.metadata.managedFields.map((f) => f.manager)).toContain('kubectl-taskjuice');
    const after = await secretData(api, namespace, 'database-credentials');
    expect(after.password).not.toBe(before.password);
  });

  it('resend raises resendRevision and a new mail goes out; revoke sets revoked and the invitation ends Revoked', async () => {
    const resent = await taskjuice('resend', account, 'dan');
    expect(resent.code).toBe(0);
    expect(resent.stdout).toMatch(/sending again to dan@client.example \(spec.resendRevision=1\)/);
    expect(resent.stdout).toMatch(
      /invitation dan is applied by Argo CD application agency: if its manifest sets spec.resendRevision, raise it there to 1 too/,
    );
    expect((await read(api, Resources.ClientInvitation, account, 'dan'))?.spec.resendRevision).toBe(1);
    await eventually('a second mail to dan', async () => (smtp.to(dan).length >= 2 ? true : undefined));

    const accepted = await taskjuice('resend', account, 'carla');
    expect(accepted.code).toBe(1);
    expect(accepted.stderr).toMatch(/was accepted by carla@client.example; there is nothing to send again/);

    const revoked = await taskjuice('revoke', account, 'dan');
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toMatch(
      /invitation dan is applied by Argo CD application agency: set revoked: true/,
    );
    expect((await read(api, Resources.ClientInvitation, account, 'dan'))?.spec.revoked).toBe(true);
    await eventually('dan revoked', async () =>
      (await read(api, Resources.ClientInvitation, account, 'dan'))?.status?.phase === 'Revoked'
        ? true
        : undefined,
    );
    expect((await taskjuice('revoke', account, 'dan')).stdout).toMatch(
      /is already revoked \(phase Revoked\)/,
    );
  });

  it('report writes a bundle of the account’s objects, conditions and Events that holds no Secret value and no token', async () => {
    const namespace = workspaceNamespace(account, 'shop');
    const password = (await secretData(api, namespace, 'database-credentials')).password ?? '';
    expect(password).toBeTruthy();
    const carlaInvitation = (await api.get(Resources.ClientInvitation, {
      namespace: account,
      name: 'carla',
    })) as {
      status: { tokenHash?: string };
    };
    const bundle = join(work, 'bundle.tar.gz');
    const { code, stdout } = await taskjuice('report', account, '-o', bundle);
    expect(code).toBe(0);
    expect(stdout).toMatch(/Wrote .*bundle.tar.gz \(no Secret values, no tokens\)/);
    const out = join(work, 'unpacked');
    mkdirSync(out);
    execFileSync('tar', ['xzf', bundle, '-C', out]);
    const [top = ''] = readdirSync(out);
    const dir = join(out, top);
    expect(readdirSync(dir).sort()).toEqual(
      [
        'README.txt',
        'account.yaml',
        'connections.yaml',
        'events.txt',
        'events.yaml',
        'invitations.yaml',
        'namespaces.yaml',
        'operator.yaml',
        'problems.txt',
        'secrets.yaml',
        'status.txt',
        'workspaces.yaml',
      ].sort(),
    );
    const text = (name: string) => readFileSync(join(dir, name), 'utf8');
    expect(text('status.txt')).toMatch(/Not Ready \(1\)/);
    expect(text('workspaces.yaml')).toMatch(/type: Ready/);
    expect(text('events.txt')).toMatch(/Workspace\/.*web/);
    expect(text('secrets.yaml')).toMatch(/name: database-credentials[\s\S]*keys:[\s\S]*- password/);
    expect(text('operator.yaml')).toMatch(
      /No Deployment labelled app.kubernetes.io\/name=workspace-operator/,
    );

    const everything = readdirSync(dir)
      .filter((f) => statSync(join(dir, f)).isFile())
      .map((f) => text(f))
      .join('\n');
    const secrets = [
      password,
      Buffer.from(password).toString('base64'),
      'crm-secret-token',
      Buffer.from('crm-secret-token').toString('base64'),
      carlaToken,
    ];
    for (const secret of secrets)
      expect(everything.includes(secret), `the bundle holds ${secret.slice(0, 4)}…`).toBe(false);
    if (carlaInvitation.status.tokenHash) expect(everything).not.toContain(carlaInvitation.status.tokenHash);

    const asDir = await taskjuice('report', account, '--output', join(work, 'bundle-dir'));
    expect(asDir.code).toBe(0);
    expect(readFileSync(join(work, 'bundle-dir', 'account.yaml'), 'utf8')).toMatch(
      new RegExp(`name: ${account}`),
    );
    const again = await taskjuice('report', account, '-o', bundle);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already exists; name another with -o/);
  });

  it('delete explains without --confirm and changes nothing; with it, an Owner’s delete carries the confirmation the webhook asks for', async () => {
    // The test operator runs as the admin of the kubeconfig, whom the webhook trusts as the operator itself: the
    // Owner, a person, is asked for the confirmation.
    const asOwner = ['--as', owner];
    const refused = await taskjuice('delete', account, 'shop', ...asOwner);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(
      /deletes its client's data: namespace \S+ and everything in it, PostgreSQL schema \S+ and role \S+\. Nothing was changed\./,
    );
    const still = (await api.get(Resources.Workspace, { namespace: account, name: 'shop' })) as {
      metadata: { annotations?: Record<string, string>; deletionTimestamp?: string };
    };
    expect(still.metadata.deletionTimestamp).toBeUndefined();
    expect(still.metadata.annotations?.['taskjuice.io/confirm-delete']).toBeUndefined();

    const ownerApi = new Api(await api.client.as({ user: owner }));
    const unconfirmed = await rejection(
      ownerApi.delete(Resources.Workspace, { namespace: account, name: 'shop' }),
    );
    expect(unconfirmed.message).toMatch(
      /confirm by setting the annotation taskjuice.io\/confirm-delete=shop/,
    );

    const status = await taskjuice('status', account, ...asOwner);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(
      new RegExp(`Account: +${account} \\(the Account itself cannot be read: .*forbidden`),
    );
    expect(status.stdout).toMatch(/shop +Ready/);

    const deleted = await taskjuice('delete', account, 'shop', '--confirm', '--wait', ...asOwner);
    expect(deleted.stderr).toBe('');
    expect(deleted.code).toBe(0);
    expect(deleted.stdout).toMatch(
      /deletion confirmed \(taskjuice.io\/confirm-delete=shop\) and requested[\s\S]*Done/,
    );
    await waitGone(api, Resources.Namespace, undefined, workspaceNamespace(account, 'shop'));
  });
});
