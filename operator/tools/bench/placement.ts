/**
 * The placement benchmark (issue 14): provisioning throughput on one PostgreSQL server and on two more registered
 * as DatabaseServers, then a drain of the first one with rows in every workspace: moves per minute and how long
 * each workspace's logins were refused. It prints figures and asserts nothing.
 *
 *   npm run bench:placement -- [--workspaces 60] [--rows 2000]
 *
 * It starts the local platform (the tests' control plane and PostgreSQL) and two more PostgreSQL servers, and the
 * operator as a child process from dist/main.js.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { Api } from '../../src/kube/api.js';
import { KubeClient } from '../../src/kube/client.js';
import { Resources } from '../../src/kube/resources.js';
import { clientBinDir, startPostgres, type LocalPostgres } from '../local/postgres.js';
import {
  delay,
  eachLimit,
  fixed,
  onShutdown,
  progress,
  quantile,
  row,
  wholeNumber,
  runBenchmark,
} from './common.js';
import { accountBody, workspaceBody } from './objects.js';
import { benchOperatorEnv, startOperatorProcess, type OperatorProcess } from './operator-process.js';
import { startPlatform, type BenchPlatform } from './platform.js';

const { values: args } = parseArgs({
  options: { workspaces: { type: 'string', default: '60' }, rows: { type: 'string', default: '2000' } },
});
const N = wholeNumber('workspaces', args.workspaces);
const ROWS = wholeNumber('rows', args.rows, 0);
const RUN = randomBytes(3).toString('hex');
const RUN_LABEL = 'bench.taskjuice.io/run';
const labels = { [RUN_LABEL]: RUN };
const ACCOUNT = `place-${RUN}`;

let platform: BenchPlatform | undefined;
let operator: OperatorProcess | undefined;
let kube: KubeClient | undefined;
const extra: LocalPostgres[] = [];
const cleanup = onShutdown(async () => {
  await operator?.stop();
  kube?.close();
  for (const s of extra) await s.stop();
  await platform?.stop();
});

interface WorkspaceView {
  metadata: { name: string };
  status?: {
    namespace?: string;
    databaseServer?: string;
    move?: unknown;
    conditions?: { type: string; status: string }[];
  };
}

const ready = (w: WorkspaceView) =>
  w.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

async function workspaces(api: Api): Promise<WorkspaceView[]> {
  return (await api.list(Resources.Workspace, { namespace: ACCOUNT })).items as WorkspaceView[];
}

async function until(what: string, probe: () => Promise<boolean>, timeoutMs = 900_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(200);
  }
}

/** Creates `slugs` and returns the seconds until all are Ready. */
async function burst(api: Api, slugs: string[]): Promise<number> {
  const start = performance.now();
  await eachLimit(slugs, 16, async (slug) => {
    await api.create(Resources.Workspace, workspaceBody(ACCOUNT, slug, labels));
  });
  const wanted = new Set(slugs);
  await until(`${slugs.length} workspaces Ready`, async () => {
    const done = (await workspaces(api)).filter((w) => wanted.has(w.metadata.name) && ready(w));
    return done.length === slugs.length;
  });
  return (performance.now() - start) / 1000;
}

async function fill(api: Api, namespace: string): Promise<void> {
  const s = (await api.get(Resources.Secret, { namespace, name: 'database-credentials' })) as {
    data: Record<string, string>;
  };
  const c = new pg.Client({ connectionString: Buffer.from(s.data.uri ?? '', 'base64').toString('utf8') });
  c.on('error', () => undefined);
  await c.connect();
  try {
    await c.query('CREATE TABLE events (n integer PRIMARY KEY, body text)');
    await c.query("INSERT INTO events SELECT g, repeat('x', 100) FROM generate_series(1, $1) g", [ROWS]);
  } finally {
    await c.end();
  }
}

async function main(): Promise<void> {
  progress(`placement benchmark: ${N} workspaces per phase, ${ROWS} rows each (run ${RUN})`);
  platform = await startPlatform();
  kube = await KubeClient.fromFile(platform.kubeconfig, { maxSockets: 64 });
  const api = new Api(kube);
  const systemNamespace = `bench-system-${RUN}`;
  await api.create(Resources.Namespace, { metadata: { name: systemNamespace, labels } });
  for (const name of ['a', 'b']) {
    const server = await startPostgres(join(platform.runDir, `server-${name}`), progress);
    extra.push(server);
    await api.create(Resources.Secret, {
      metadata: { name: `server-${name}`, namespace: systemNamespace },
      stringData: { uri: server.operatorUrl },
    });
  }
  operator = await startOperatorProcess({
    runDir: platform.runDir,
    kubeconfig: platform.kubeconfig,
    databaseUrl: platform.databaseUrl,
    env: {
      ...benchOperatorEnv(RUN, `${RUN_LABEL}=${RUN}`, systemNamespace),
      DATABASE_TOOLS_DIR: clientBinDir(),
    },
  });
  await api.create(Resources.Account, accountBody(ACCOUNT, labels));
  await until(
    'the home namespace',
    async () => (await api.get(Resources.Namespace, { name: ACCOUNT })) !== undefined,
  );

  progress(`phase 1: ${N} workspaces on the one server`);
  const first = Array.from({ length: N }, (_, i) => `one-${i}`);
  const oneServer = await burst(api, first);

  progress('phase 2: two more servers, the first one cordoned');
  const server = (name: string, spec: Record<string, unknown>) =>
    api.create(Resources.DatabaseServer, { metadata: { name, labels }, spec });
  await server('default', { state: 'Cordoned' });
  await server(`a-${RUN}`, { connectionSecret: { name: 'server-a' } });
  await server(`b-${RUN}`, { connectionSecret: { name: 'server-b' } });
  await until('both servers Ready', async () => {
    const items = (await api.list(Resources.DatabaseServer, { labelSelector: `${RUN_LABEL}=${RUN}` }))
      .items as {
      status?: { reachable?: boolean };
    }[];
    return items.filter((s) => s.status?.reachable).length === 3;
  });
  const second = Array.from({ length: N }, (_, i) => `two-${i}`);
  const twoServers = await burst(api, second);
  const placed = new Map<string, number>();
  for (const w of await workspaces(api)) {
    const s = w.status?.databaseServer ?? 'default';
    placed.set(s, (placed.get(s) ?? 0) + 1);
  }

  progress(`phase 3: ${ROWS} rows in each of the first ${N}, then the first server drained`);
  const byName = new Map((await workspaces(api)).map((w) => [w.metadata.name, w]));
  await eachLimit(first, 8, async (slug) => fill(api, byName.get(slug)?.status?.namespace ?? ''));
  const drainStart = performance.now();
  await api.mergePatch(Resources.DatabaseServer, { name: 'default' }, { spec: { state: 'Draining' } });
  await until('the first server drained', async () => {
    const items = (await workspaces(api)).filter((w) => first.includes(w.metadata.name));
    return items.every(
      (w) => w.status?.databaseServer && w.status.databaseServer !== 'default' && !w.status.move && ready(w),
    );
  });
  const drainMinutes = (performance.now() - drainStart) / 60_000;
  const events = (await api.list(Resources.Event, { namespace: ACCOUNT })).items as {
    reason?: string;
    note?: string;
  }[];
  const windows = events
    .filter((e) => e.reason === 'Moved')
    .map((e) => Number(/refused for ([\d.]+) s/.exec(e.note ?? '')?.[1]))
    .filter((n) => Number.isFinite(n));

  await api.delete(Resources.DatabaseServer, { name: 'default' });
  process.stdout.write(
    [
      `placement benchmark: ${N} workspaces per phase, ${ROWS} rows each`,
      row('provisioning, one server', `${fixed(N / oneServer, 1)} /s`),
      row(
        'provisioning, two more servers',
        `${fixed(N / twoServers, 1)} /s`,
        `ratio ${fixed(oneServer / twoServers)}`,
      ),
      row('placed', [...placed].map(([s, n]) => `${s.replace(`-${RUN}`, '')} ${n}`).join(', ')),
      row('drain: moves per minute', fixed(N / drainMinutes, 1)),
      row('logins refused per move, p50', `${fixed(quantile(windows, 0.5), 2)} s`),
      row('logins refused per move, max', `${fixed(Math.max(...windows), 2)} s`),
      row('moves reported', String(windows.length)),
    ].join('\n') + '\n',
  );
}

runBenchmark(main, cleanup);
