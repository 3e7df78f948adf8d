/**
 * `helm upgrade` from the previous chart version to this one keeps every object and every workspace's data.
 *
 * What it proves. A cluster of its own (etcd, kube-apiserver, kube-controller-manager) gets the previous
 * release, chart 0.1.0 taken from Git (PREVIOUS_RELEASE), installed by `helm install`, CRDs included. That
 * release's operator, its own source from the same commit, runs as a local process with exactly the environment
 * the release's Deployment gives its pod, and provisions accounts and workspaces; rows are written through each
 * workspace's own Secret. Then the old operator stops, `helm upgrade` installs this chart, and this checkout's
 * operator starts with the environment of the upgraded Deployment. The test checks that the CRDs were upgraded in
 * place (same uids, new schema, the new DatabaseServer kind), that every Account, Workspace, Namespace, Secret
 * and release object kept its uid, that the Secrets kept their credentials, that the rows read back with the
 * credentials of before, and that the new operator converges: every object Ready again, workspaces from before
 * recorded on the default DatabaseServer, a new workspace provisioned.
 *
 * What it does not. There is no image registry and no kubelet, so the Deployment's pods never run: the operator
 * is the process the test starts, and a Helm post-renderer points the webhook configuration at it on loopback
 * instead of at the Service (local-webhook-renderer.ts). Image pulls, probes and the rollout itself are not tested.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { stringify } from 'yaml';
import { Api } from '../../operator/src/kube/api.js';
import { KubeClient } from '../../operator/src/kube/client.js';
import { Resources } from '../../operator/src/kube/resources.js';
import { startControlPlane, type ControlPlane } from '../../operator/tools/local/controlplane.js';
import { REPO_ROOT } from '../../operator/tools/local/install.js';
import { freePort } from '../../operator/tools/local/processes.js';
import { eventually } from '../support/env.js';
import {
  createAccount,
  createWorkspace,
  secretData,
  waitReady,
  withWorkspaceConnection,
} from '../support/fixtures.js';
import { waitForCaBundle } from '../support/webhook.js';
import { CHART, helm, parseManifests, resourceType } from './support.js';
import {
  PREVIOUS_RELEASE,
  checkoutRelease,
  deploymentEnvironment,
  deploymentImage,
  localWebhookPostRenderer,
  spawnOperatorFrom,
  uids,
  type LocalOperator,
} from './upgrade-support.js';

const RELEASE = 'workspace-operator';
const NAMESPACE = 'taskjuice-system';
const CURRENT_VERSION = /^version: (\S+)$/m.exec(
  readFileSync(join(CHART, 'Chart.yaml'), 'utf8'),
)?.[1] as string;

/** Accounts and their workspaces, provisioned by the previous release. */
const ESTATE = { acme: ['web', 'shop'], globex: ['portal'] } as const;

const say = (line: string) => process.stderr.write(`[upgrade] ${line}\n`);

interface WorkspaceView {
  metadata: { name: string; namespace: string; uid: string; generation: number };
  status?: {
    namespace?: string;
    databaseServer?: string;
    database?: { secretName: string };
    observedGeneration?: number;
    conditions?: { type: string; status: string; observedGeneration?: number }[];
  };
}

let dir: string;
let previousRoot: string;
let cp: ControlPlane;
let api: Api;
let operator: LocalOperator | undefined;
let admin: pg.Client | undefined;
let database = '';
let databaseUrl: string;
let prefix: string;
let valuesFile: string;
let renderer: string;
let webhookPort: number;

/** Everything the upgrade must keep, as it was before it. */
let before: {
  crds: Record<string, string>;
  accounts: Record<string, string>;
  workspaces: Record<string, string>;
  namespaces: Record<string, string>;
  secrets: Record<string, { uid: string; data: Record<string, string> }>;
  release: Record<string, string>;
  caBundle: string;
  rows: Record<string, string[]>;
};
const summary: string[] = [];

const helmArgs = (kubeconfig: string) => [
  '--namespace',
  NAMESPACE,
  '--kubeconfig',
  kubeconfig,
  '-f',
  valuesFile,
  '--post-renderer',
  renderer,
  '--post-renderer-args',
  String(webhookPort),
];

/** The release's objects (helm get manifest), each as kind/namespace/name to its uid in the cluster. */
async function releaseObjects(): Promise<Record<string, string>> {
  const manifest = await helm([
    'get',
    'manifest',
    RELEASE,
    '--namespace',
    NAMESPACE,
    '--kubeconfig',
    cp.kubeconfigPath,
  ]);
  expect(manifest.code, manifest.stderr).toBe(0);
  const out: Record<string, string> = {};
  for (const doc of parseManifests(manifest.stdout)) {
    const r = resourceType(doc);
    const live = (await api.get(r, {
      name: doc.metadata.name,
      namespace: r.namespaced ? NAMESPACE : undefined,
    })) as { metadata: { uid: string } } | undefined;
    out[`${doc.kind}/${doc.metadata.name}`] = live?.metadata.uid ?? 'missing';
  }
  return out;
}

async function workspaces(): Promise<WorkspaceView[]> {
  return (await api.list(Resources.Workspace)).items as WorkspaceView[];
}

async function workspaceSecrets(): Promise<Record<string, { uid: string; data: Record<string, string> }>> {
  const out: Record<string, { uid: string; data: Record<string, string> }> = {};
  for (const w of await workspaces()) {
    const name = w.status?.database?.secretName;
    const namespace = w.status?.namespace;
    if (!name || !namespace)
      throw new Error(`Workspace ${w.metadata.namespace}/${w.metadata.name} has no Secret in its status`);
    const secret = (await api.get(Resources.Secret, { namespace, name })) as {
      metadata: { uid: string };
    };
    out[`${w.metadata.namespace}/${w.metadata.name}`] = {
      uid: secret.metadata.uid,
      data: await secretData(api, namespace, name),
    };
  }
  return out;
}

async function readRows(data: Record<string, string>): Promise<string[]> {
  return withWorkspaceConnection(data, async (c) =>
    (await c.query<{ body: string }>('SELECT body FROM notes ORDER BY id')).rows.map((r) => r.body),
  );
}

/** The operator of `root` with its Deployment's environment, run as a process on loopback. */
async function startOperator(root: string, label: string): Promise<LocalOperator> {
  const env = await deploymentEnvironment(api, NAMESPACE, RELEASE, `${RELEASE}-${label}`);
  const certDir = join(dir, `certs-${label}`);
  mkdirSync(certDir, { recursive: true });
  const started = spawnOperatorFrom(
    root,
    cp.kubeconfigPath,
    {
      ...env,
      // What differs from a pod: loopback, ports of its own, a writable certificate folder, short leases.
      HTTP_BIND_ADDRESS: '127.0.0.1',
      HEALTH_PORT: '0',
      METRICS_PORT: '0',
      ACCEPT_PORT: '0',
      WEBHOOK_PORT: String(webhookPort),
      WEBHOOK_DNS_NAMES: 'localhost',
      WEBHOOK_IP_ADDRESSES: '127.0.0.1',
      WEBHOOK_CERT_DIR: certDir,
      WEBHOOK_CLIENT_CA_FILE: cp.webhookClient.caFile,
      WEBHOOK_CLIENT_NAMES: cp.webhookClient.name,
      LEADER_ELECTION_LEASE_DURATION_SECONDS: '3',
      LEADER_ELECTION_RENEW_DEADLINE_SECONDS: '2',
      LEADER_ELECTION_RETRY_PERIOD_SECONDS: '1',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'info',
    },
    join(dir, `operator-${label}.log`),
  );
  say(`operator ${label} started from ${root} (log ${started.logFile})`);
  return started;
}

beforeAll(async () => {
  const tag = randomBytes(3).toString('hex');
  dir = join(inject('runDir'), `upgrade-${process.pid}-${tag}`);
  mkdirSync(dir, { recursive: true });
  previousRoot = await checkoutRelease(PREVIOUS_RELEASE.commit, join(dir, 'previous'));
  renderer = localWebhookPostRenderer(dir);
  webhookPort = await freePort();

  // A database of its own on the tests' PostgreSQL, and role names of its own (roles are server-wide).
  prefix = `up${tag}`;
  const shared = new URL(inject('databaseUrl'));
  const adminUrl = inject('databaseAdminUrl');
  if (adminUrl) {
    admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    database = `upgrade_${tag}`;
    await admin.query(
      `CREATE DATABASE ${database} OWNER ${pg.escapeIdentifier(decodeURIComponent(shared.username))}`,
    );
    shared.pathname = `/${database}`;
  }
  databaseUrl = shared.toString();
  valuesFile = join(dir, 'values.yaml');
  writeFileSync(
    valuesFile,
    stringify({ database: { namePrefix: prefix, tenantGroup: `${prefix}_tenants` } }),
  );

  // The previous release goes in before the controller manager starts, so that its quota controller finds the
  // Workspace kind at its first discovery (as installPrerequisites does for the shared cluster).
  mkdirSync(join(dir, 'cluster'));
  cp = await startControlPlane(join(dir, 'cluster'), {
    log: say,
    beforeControllerManager: async (kubeconfig) => {
      const client = await KubeClient.fromFile(kubeconfig);
      const boot = new Api(client);
      await boot.create(Resources.Namespace, { metadata: { name: NAMESPACE } });
      await boot.create(Resources.Secret, {
        metadata: { name: 'workspace-operator-database', namespace: NAMESPACE },
        stringData: { url: databaseUrl },
      });
      client.close();
      const installed = await helm([
        'install',
        RELEASE,
        join(previousRoot, 'charts', 'workspace-operator'),
        ...helmArgs(kubeconfig),
      ]);
      if (installed.code !== 0)
        throw new Error(`helm install of ${PREVIOUS_RELEASE.version}: ${installed.stderr}`);
    },
  });
  api = new Api(await KubeClient.fromFile(cp.kubeconfigPath));

  operator = await startOperator(previousRoot, PREVIOUS_RELEASE.version);
  const caBundle = await waitForCaBundle(api, RELEASE);
  const rows: Record<string, string[]> = {};
  for (const [account, slugs] of Object.entries(ESTATE)) {
    await createAccount(api, 'upgrade', account);
    for (const slug of slugs) await createWorkspace(api, 'upgrade', account, slug);
    for (const slug of slugs) {
      const w = await waitReady(api, Resources.Workspace, account, slug, 90_000);
      const data = await secretData(api, w.status?.namespace ?? '', w.status?.database?.secretName ?? '');
      const bodies = [`${account}/${slug}: first`, `${account}/${slug}: second`];
      await withWorkspaceConnection(data, async (c) => {
        await c.query('CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL)');
        for (const body of bodies) await c.query('INSERT INTO notes (body) VALUES ($1)', [body]);
      });
      rows[`${account}/${slug}`] = bodies;
    }
  }
  before = {
    crds: await uids(api, Resources.CustomResourceDefinition),
    accounts: await uids(api, Resources.Account),
    workspaces: await uids(api, Resources.Workspace),
    namespaces: await uids(api, Resources.Namespace),
    secrets: await workspaceSecrets(),
    release: await releaseObjects(),
    caBundle,
    rows,
  };
  for (const [key, expected] of Object.entries(rows))
    expect(await readRows(before.secrets[key]?.data ?? {})).toEqual(expected);
  say(`release ${PREVIOUS_RELEASE.version} provisioned ${Object.keys(before.workspaces).length} workspaces`);
}, 420_000);

afterAll(async () => {
  await operator?.stop();
  api?.client.close();
  await cp?.stop();
  if (admin) {
    if (database) await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    const { rows } = await admin.query<{ rolname: string }>(
      `SELECT rolname FROM pg_catalog.pg_roles WHERE rolname LIKE $1`,
      [`${prefix}\\_%`],
    );
    for (const r of rows) await admin.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(r.rolname)}`);
    await admin.end();
  }
  if (summary.length > 0) console.log(summary.join('\n'));
}, 120_000);

describe(`helm upgrade from chart ${PREVIOUS_RELEASE.version} to the current chart`, () => {
  it('upgrades the CRDs in place and keeps every Account, Workspace, Namespace and release object', async () => {
    await operator?.stop();
    operator = undefined;
    const upgraded = await helm(['upgrade', RELEASE, CHART, ...helmArgs(cp.kubeconfigPath)]);
    expect(upgraded.code, upgraded.stderr).toBe(0);

    const history = await helm([
      'history',
      RELEASE,
      '--namespace',
      NAMESPACE,
      '--kubeconfig',
      cp.kubeconfigPath,
      '-o',
      'json',
    ]);
    const revisions = JSON.parse(history.stdout) as { revision: number; chart: string; status: string }[];
    expect(revisions.map((r) => [r.revision, r.chart, r.status])).toEqual([
      [1, `workspace-operator-${PREVIOUS_RELEASE.version}`, 'superseded'],
      [2, `workspace-operator-${CURRENT_VERSION}`, 'deployed'],
    ]);
    expect(await deploymentImage(api, NAMESPACE, RELEASE)).toBe(
      `ghcr.io/taskjuice/workspace-operator:${CURRENT_VERSION}`,
    );

    // The CRDs are templates of the chart (not its crds/ folder), so Helm upgrades them like any object: in place.
    const crds = await uids(api, Resources.CustomResourceDefinition);
    expect(crds).toMatchObject(before.crds);
    expect(Object.keys(before.crds)).not.toContain('databaseservers.taskjuice.io');
    expect(Object.keys(crds)).toContain('databaseservers.taskjuice.io');
    const workspaceCrd = (await api.get(Resources.CustomResourceDefinition, {
      name: 'workspaces.taskjuice.io',
    })) as {
      metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
      spec: {
        versions: {
          name: string;
          schema: { openAPIV3Schema: { properties: { status: { properties: Record<string, unknown> } } } };
        }[];
      };
    };
    expect(workspaceCrd.metadata.labels['helm.sh/chart']).toBe(`workspace-operator-${CURRENT_VERSION}`);
    expect(workspaceCrd.metadata.annotations?.['helm.sh/resource-policy']).toBe('keep');
    expect(
      Object.keys(workspaceCrd.spec.versions[0]?.schema.openAPIV3Schema.properties.status.properties ?? {}),
    ).toContain('databaseServer');

    expect(await uids(api, Resources.Account)).toEqual(before.accounts);
    expect(await uids(api, Resources.Workspace)).toEqual(before.workspaces);
    expect(await uids(api, Resources.Namespace)).toMatchObject(before.namespaces);
    const release = await releaseObjects();
    const kept = Object.keys(before.release).filter((k) => k in release);
    expect(Object.fromEntries(kept.map((k) => [k, release[k]]))).toEqual(
      Object.fromEntries(kept.map((k) => [k, before.release[k]])),
    );
    expect(Object.values(release)).not.toContain('missing');

    summary.push(
      `[upgrade] chart ${PREVIOUS_RELEASE.version} (${PREVIOUS_RELEASE.commit.slice(0, 7)}) -> ${CURRENT_VERSION}: helm revision 2 deployed`,
      `[upgrade]   CRDs kept with their uids: ${Object.keys(before.crds).filter((n) => n.endsWith('.taskjuice.io')).length}, added: ${Object.keys(
        crds,
      )
        .filter((n) => !(n in before.crds))
        .join(', ')}`,
      `[upgrade]   Accounts kept: ${Object.keys(before.accounts).length}, Workspaces kept: ${Object.keys(before.workspaces).length}, Namespaces kept: ${Object.keys(before.namespaces).length}`,
      `[upgrade]   release objects kept with their uids: ${kept.length} of ${Object.keys(before.release).length}; new in ${CURRENT_VERSION}: ${
        Object.keys(release)
          .filter((k) => !(k in before.release))
          .join(', ') || 'none'
      }`,
    );
  });

  it('lets the new operator converge: every object Ready again, on the default DatabaseServer, same credentials', async () => {
    operator = await startOperator(REPO_ROOT, CURRENT_VERSION);
    for (const account of Object.keys(ESTATE))
      await waitReady(api, Resources.Account, undefined, account, 90_000);
    await eventually(
      'every workspace Ready for its generation and recorded on the default DatabaseServer',
      async () => {
        const all = await workspaces();
        const settled = all.every(
          (w) =>
            w.status?.databaseServer === 'default' &&
            w.status.observedGeneration === w.metadata.generation &&
            w.status.conditions?.some(
              (c) =>
                c.type === 'Ready' && c.status === 'True' && c.observedGeneration === w.metadata.generation,
            ),
        );
        return settled ? all : undefined;
      },
      90_000,
      500,
    );

    const after = await workspaceSecrets();
    for (const [key, old] of Object.entries(before.secrets)) {
      const now = after[key];
      expect(now?.uid, `${key} Secret uid`).toBe(old.uid);
      for (const field of ['username', 'password', 'host', 'port', 'database', 'schema', 'uri'])
        expect(now?.data[field], `${key} Secret ${field}`).toBe(old.data[field]);
      // Read with the credentials of before: the database kept the role, its password and the rows.
      expect(await readRows(old.data), `${key} rows`).toEqual(before.rows[key]);
    }
    // The webhook kept its CA (the Secret the operator keeps it in survived), and answers: it fails closed, so a
    // Workspace is admitted only when the new operator's webhook says yes.
    expect(await waitForCaBundle(api, RELEASE)).toBe(before.caBundle);
    await createWorkspace(api, 'upgrade', 'acme', 'after-upgrade');
    const fresh = await waitReady(api, Resources.Workspace, 'acme', 'after-upgrade', 90_000);
    const freshData = await secretData(
      api,
      fresh.status?.namespace ?? '',
      fresh.status?.database?.secretName ?? '',
    );
    await withWorkspaceConnection(freshData, (c) => c.query('CREATE TABLE notes (id serial, body text)'));
    const server = (await api.get(Resources.DatabaseServer, { name: 'default' })) as
      { status?: { workspaces?: number } } | undefined;

    summary.push(
      `[upgrade]   Secrets kept with their uids and credentials: ${Object.keys(after).length} (new keys: ${
        Object.keys(after['acme/web']?.data ?? {})
          .filter((k) => !(k in (before.secrets['acme/web']?.data ?? {})))
          .join(', ') || 'none'
      })`,
      `[upgrade]   rows read back with the credentials of ${PREVIOUS_RELEASE.version}: ${Object.values(before.rows).flat().length} in ${Object.keys(before.rows).length} workspaces`,
      `[upgrade]   operator ${CURRENT_VERSION}: ${Object.keys(ESTATE).length} Accounts and ${Object.keys(before.workspaces).length} Workspaces Ready, placed on DatabaseServer default${server ? ` (its status counts ${server.status?.workspaces ?? '?'})` : ''}; webhook CA kept; a new workspace provisioned`,
    );
  });
});
