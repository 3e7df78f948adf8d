/**
 * The reconnect benchmark (issue 13): one source connection with `--copies` copies, each in a workspace of its
 * own, then `--reconnects` reconnects of the source (new data in its Secret). For each it prints the time from the
 * Secret's update to the moment every copy's Secret in its workspace namespace carries the new revision. It asserts
 * nothing.
 *
 *   npm run bench:connections -- [--copies 100] [--reconnects 3]
 *
 * It starts the local platform as the tests do (or uses KUBECONFIG and DATABASE_URL when both are set), and the
 * operator as a child process from dist/main.js with its defaults.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Annotations, Labels } from '../../src/api/v1alpha1/group.js';
import { workspaceNamespace } from '../../src/db/names.js';
import { Api } from '../../src/kube/api.js';
import { KubeClient } from '../../src/kube/client.js';
import { Resources } from '../../src/kube/resources.js';
import {
  delay,
  eachLimit,
  ms,
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
  options: {
    copies: { type: 'string', default: '100' },
    reconnects: { type: 'string', default: '3' },
  },
});
const COPIES = wholeNumber('copies', args.copies);
const RECONNECTS = wholeNumber('reconnects', args.reconnects);
const RUN = randomBytes(3).toString('hex');
const RUN_LABEL = 'bench.taskjuice.io/run';
const labels = { [RUN_LABEL]: RUN };
const ACCOUNT = `conn-${RUN}`;

let platform: BenchPlatform | undefined;
let operator: OperatorProcess | undefined;
let kube: KubeClient | undefined;
const cleanup = onShutdown(async () => {
  await operator?.stop();
  kube?.close();
  await platform?.stop();
});

interface SecretView {
  metadata: { namespace?: string; annotations?: Record<string, string> };
}

/** How many connection Secrets of the run carry `revision`. */
async function carrying(api: Api, revision: number): Promise<number> {
  const { items } = await api.list(Resources.Secret, {
    labelSelector: `${Labels.account}=${ACCOUNT},${Labels.connection}`,
  });
  return (items as SecretView[]).filter(
    (s) => s.metadata.annotations?.[Annotations.credentialsRevision] === String(revision),
  ).length;
}

async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs = 600_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(50);
  }
}

async function main(): Promise<void> {
  progress(`reconnect benchmark: 1 source, ${COPIES} copies, ${RECONNECTS} reconnects (run ${RUN})`);
  platform = await startPlatform();
  kube = await KubeClient.fromFile(platform.kubeconfig, { maxSockets: 64 });
  const api = new Api(kube);
  const systemNamespace = `bench-system-${RUN}`;
  await api.create(Resources.Namespace, { metadata: { name: systemNamespace, labels } });
  operator = await startOperatorProcess({
    runDir: platform.runDir,
    kubeconfig: platform.kubeconfig,
    databaseUrl: platform.databaseUrl,
    env: { ...benchOperatorEnv(RUN, `${RUN_LABEL}=${RUN}`, systemNamespace) },
  });
  await api.create(Resources.Account, accountBody(ACCOUNT, labels));
  const slugs = Array.from({ length: COPIES + 1 }, (_, i) => `ws-${i}`);
  progress(`creating ${slugs.length} workspaces`);
  await waitFor(
    'the home namespace',
    async () => (await api.get(Resources.Namespace, { name: ACCOUNT })) !== undefined,
  );
  await eachLimit(slugs, 16, async (slug) => {
    await api.create(Resources.Workspace, workspaceBody(ACCOUNT, slug, labels));
  });
  await waitFor('every workspace namespace', async () => {
    const { items } = await api.list(Resources.Namespace, {
      labelSelector: `${Labels.account}=${ACCOUNT},${Labels.component}=workspace`,
    });
    return items.length === slugs.length;
  });
  const token = (n: number) => Buffer.from(`token-${n}-${RUN}`).toString('base64');
  await api.create(Resources.Secret, {
    metadata: { name: 'source-creds', namespace: ACCOUNT, labels },
    data: { token: token(1) },
  });
  const connection = (name: string, spec: Record<string, unknown>) => ({
    metadata: { name, namespace: ACCOUNT, labels },
    spec: { displayName: name, ...spec },
  });
  await api.create(
    Resources.Connection,
    connection('source', {
      workspace: 'ws-0',
      provider: 'google-ads',
      credentials: { secretRef: { name: 'source-creds' } },
    }),
  );
  const copyStart = performance.now();
  await eachLimit(slugs.slice(1), 16, async (slug) => {
    await api.create(
      Resources.Connection,
      connection(`copy-${slug}`, { workspace: slug, copyOf: { name: 'source' } }),
    );
  });
  await waitFor(
    `${slugs.length} connection Secrets at revision 1`,
    async () => (await carrying(api, 1)) === slugs.length,
  );
  const copiesMs = performance.now() - copyStart;

  const times: number[] = [];
  for (let r = 2; r <= RECONNECTS + 1; r++) {
    const start = performance.now();
    await api.mergePatch(
      Resources.Secret,
      { namespace: ACCOUNT, name: 'source-creds' },
      { data: { token: token(r) } },
    );
    await waitFor(`every copy at revision ${r}`, async () => (await carrying(api, r)) === slugs.length);
    times.push(performance.now() - start);
    progress(`reconnect ${r - 1}: ${ms(times.at(-1) ?? NaN)}`);
  }
  const memory = operator.memory();
  const check = await api.get(Resources.Secret, {
    namespace: workspaceNamespace(ACCOUNT, slugs.at(-1) ?? ''),
    name: `connection-copy-${slugs.at(-1) ?? ''}`,
  });
  const carried = (check as { data?: { token?: string } } | undefined)?.data?.token === token(RECONNECTS + 1);
  process.stdout.write(
    [
      `reconnect benchmark: 1 source, ${COPIES} copies in ${COPIES} workspaces`,
      row('first credentials in every copy', ms(copiesMs)),
      row(
        `reconnect → every copy's Secret at the new revision (median of ${times.length})`,
        ms(quantile(times, 0.5)),
      ),
      row('slowest reconnect', ms(Math.max(...times))),
      row('last copy carries the newest data', carried ? 'yes' : 'NO'),
      row('operator peak RSS', `${(memory.peak / 1024 / 1024).toFixed(1)} MB`),
    ].join('\n') + '\n',
  );
}

runBenchmark(main, cleanup);
