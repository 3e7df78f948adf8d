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
import { Resources } from '../../src/kube/resources.js';
import { waitFor } from '../local/processes.js';
import { eachLimit, onShutdown, progress, wholeNumber } from '../bench/common.js';
import { workspaceBody } from '../bench/objects.js';
import { operatorLogTail, type OperatorProcess } from '../bench/operator-process.js';
import { startPlatform, type BenchPlatform } from '../bench/platform.js';
import { postReview, startWebhookOperator } from '../bench/webhook-operator.js';
import { fuzzCases, type FuzzCase } from './reviews.js';

const { values: args } = parseArgs({
  options: {
    reviews: { type: 'string', default: '100000' },
    concurrency: { type: 'string', default: '16' },
    seed: { type: 'string', default: String(Date.now() % 1_000_000) },
  },
});
const REVIEWS = wholeNumber('reviews', args.reviews);
const CONCURRENCY = wholeNumber('concurrency', args.concurrency);
const SEED = wholeNumber('seed', args.seed, 0);

const ACCOUNT = 'fuzz-agency';
const BATCH = 5_000;

let platform: BenchPlatform | undefined;
let operator: OperatorProcess | undefined;
const cleanup = onShutdown(async () => {
  await operator?.stop();
  await platform?.stop();
});

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
  const webhook = await startWebhookOperator(platform, ACCOUNT);
  const { api, port } = webhook;
  const op = webhook.operator;
  operator = op;
  await api.create(Resources.Workspace, workspaceBody(ACCOUNT, 'web', {}));
  const agent = new https.Agent({
    keepAlive: true,
    maxSockets: CONCURRENCY,
    ca: webhook.tls.ca,
  });
  await waitFor(
    'the webhook to answer',
    async () => (await postReview(agent, port, Buffer.from('{}'))).status === 400,
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
        const { status, text } = await postReview(agent, port, c.body);
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
  const alive =
    (await postReview(agent, port, Buffer.from('{}')).catch(() => ({ status: 0 }))).status === 400;
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
