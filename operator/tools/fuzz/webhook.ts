/**
 * The webhook under generated hostile input (SPEC 7, bad input): `--reviews` AdmissionReviews from fuzzCases
 * (garbage, wrong envelopes, other kinds and versions, fields missing, specs mixing valid and invalid values,
 * look-alikes of a teammate's email) posted over HTTPS to the operator running from dist/main.js, as production
 * runs it. It counts crashes (the process exiting, a connection failing, an answer that is neither a well-formed
 * AdmissionReview nor a 4xx) and wrong allows (an allow of an object our schemas refuse), prints them, and exits
 * non-zero if either is not zero.
 *
 *   npm run fuzz:webhook -- [--reviews 100000] [--concurrency 16] [--seed 42]
 */
import https from 'node:https';
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { Api } from '../../src/kube/api.js';
import { KubeClient } from '../../src/kube/client.js';
import { Resources } from '../../src/kube/resources.js';
import { waitFor, freePort } from '../local/processes.js';
import { eachLimit, onShutdown, progress } from '../bench/common.js';
import { PLAN_CATALOG, accountBody, workspaceBody } from '../bench/objects.js';
import { startOperatorProcess, operatorLogTail, type OperatorProcess } from '../bench/operator-process.js';
import { startPlatform, type BenchPlatform } from '../bench/platform.js';
import { fuzzCases, type FuzzCase } from './reviews.js';

const { values: args } = parseArgs({
  options: {
    reviews: { type: 'string', default: '100000' },
    concurrency: { type: 'string', default: '16' },
    seed: { type: 'string', default: String(Date.now() % 1_000_000) },
  },
});
const REVIEWS = Number(args.reviews);
const CONCURRENCY = Number(args.concurrency);
const SEED = Number(args.seed);
for (const [name, n] of [
  ['reviews', REVIEWS],
  ['concurrency', CONCURRENCY],
] as const) {
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a whole number of at least 1`);
}
if (!Number.isInteger(SEED)) throw new Error('--seed must be a whole number');

const NAMESPACE = 'workspace-operator';
const ACCOUNT = 'fuzz-agency';
const BATCH = 5_000;

let platform: BenchPlatform | undefined;
let operator: OperatorProcess | undefined;
const cleanup = onShutdown(async () => {
  await operator?.stop();
  await platform?.stop();
});

function post(agent: https.Agent, port: number, body: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path: '/validate',
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': body.length },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** What one answer says about the case: fine, a crash (with why), or a wrong allow. */
function judge(c: FuzzCase, status: number, text: string): 'ok' | 'wrong-allow' | string {
  if (status === 400 || status === 413) return 'ok';
  if (status !== 200) return `status ${status}`;
  let response: { uid?: unknown; allowed?: unknown } | undefined;
  try {
    response = (JSON.parse(text) as { response?: { uid?: unknown; allowed?: unknown } }).response;
  } catch {
    return 'a 200 whose body is not JSON';
  }
  if (typeof response?.allowed !== 'boolean') return 'a 200 without response.allowed';
  if (c.uid !== undefined && response.uid !== c.uid) return 'a response for another uid';
  return c.invalid && response.allowed ? 'wrong-allow' : 'ok';
}

async function main(): Promise<void> {
  delete process.env.KUBECONFIG;
  delete process.env.DATABASE_URL;
  platform = await startPlatform();
  const kube = await KubeClient.fromFile(platform.kubeconfig);
  const api = new Api(kube);
  await api.apply(Resources.Namespace, { metadata: { name: NAMESPACE } });
  await api.create(Resources.Account, accountBody(ACCOUNT, {}));

  const port = await freePort();
  const op = await startOperatorProcess({
    runDir: platform.runDir,
    kubeconfig: platform.kubeconfig,
    databaseUrl: platform.databaseUrl,
    env: {
      PLAN_CATALOG,
      LOG_LEVEL: 'warn',
      POD_NAMESPACE: NAMESPACE,
      LEADER_ELECTION_NAMESPACE: NAMESPACE,
      WEBHOOK_PORT: String(port),
      WEBHOOK_DNS_NAMES: 'localhost',
      WEBHOOK_IP_ADDRESSES: '127.0.0.1',
    },
  });
  operator = op;
  await api.create(Resources.Workspace, workspaceBody(ACCOUNT, 'web', {}));
  const secret = (await api.get(Resources.Secret, {
    namespace: NAMESPACE,
    name: 'workspace-operator-webhook-tls',
  })) as { data: Record<string, string> };
  const agent = new https.Agent({
    keepAlive: true,
    maxSockets: CONCURRENCY,
    ca: Buffer.from(secret.data['ca.crt'] ?? '', 'base64').toString('utf8'),
  });
  await waitFor(
    'the webhook to answer',
    async () => (await post(agent, port, Buffer.from('{}'))).status === 400,
    {
      timeoutMs: 30_000,
    },
  );

  const arbitrary = fuzzCases({
    account: ACCOUNT,
    workspace: 'web',
    teammateEmail: `owner@${ACCOUNT}.example`,
  });
  const crashes = new Map<string, number>();
  let wrongAllows = 0;
  let allowed = 0;
  let example = '';
  const started = performance.now();
  progress(`posting ${REVIEWS} generated reviews, ${CONCURRENCY} at a time (seed ${SEED})`);
  for (let done = 0, batch = 0; done < REVIEWS; done += BATCH, batch++) {
    const n = Math.min(BATCH, REVIEWS - done);
    const cases = fc.sample(arbitrary, { numRuns: n, seed: SEED + batch });
    await eachLimit(cases, CONCURRENCY, async (c) => {
      let verdict: string;
      try {
        const { status, text } = await post(agent, port, c.body);
        verdict = judge(c, status, text);
        if (verdict === 'ok' && status === 200 && /"allowed":true/.test(text)) allowed++;
      } catch (err) {
        verdict = `request failed: ${err instanceof Error ? err.message : String(err)}`;
      }
      if (verdict === 'wrong-allow') {
        wrongAllows++;
        example ||= c.body.toString('utf8').slice(0, 400);
      } else if (verdict !== 'ok') crashes.set(verdict, (crashes.get(verdict) ?? 0) + 1);
    });
    progress(`${done + n}/${REVIEWS} reviews`);
  }
  const seconds = (performance.now() - started) / 1000;
  const alive = (await post(agent, port, Buffer.from('{}')).catch(() => ({ status: 0 }))).status === 400;
  agent.destroy();
  const crashCount = [...crashes.values()].reduce((a, b) => a + b, 0) + (alive ? 0 : 1);

  const out = [
    '',
    `Webhook fuzz: ${REVIEWS} generated AdmissionReviews over HTTPS in ${seconds.toFixed(1)} s (seed ${SEED})`,
    `  crashes (process gone, failed request, malformed answer)   ${crashCount}   target 0`,
    `  wrong allows (an invalid object allowed)                   ${wrongAllows}   target 0`,
    `  allowed (valid objects)                                    ${allowed}`,
    `  operator still serving afterwards                          ${alive ? 'yes' : 'NO'}`,
    ...[...crashes].map(([why, n]) => `    ${n} × ${why}`),
    ...(example ? [`  first wrong allow: ${example}`] : []),
    '',
  ];
  process.stdout.write(out.join('\n'));
  if (!alive) process.stderr.write(operatorLogTail(op) + '\n');
  if (crashCount > 0 || wrongAllows > 0) process.exitCode = 1;
}

main()
  .catch((err: unknown) => {
    progress(`failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  })
  .finally(() => void cleanup());
