/**
 * The webhook benchmark (SPEC 7): latency and throughput of the operator's admission endpoint over HTTPS with
 * keep-alive, beside a bare Node HTTPS server answering a fixed AdmissionReview (bare-webhook.ts) in the same run.
 * It prints figures next to their targets and asserts nothing.
 *
 *   npm run bench:webhook -- [--duration 10] [--connections 16] [--rate 1000] [--rounds 3]
 *                             [--node-args="--cpu-prof --cpu-prof-dir=/tmp/prof"]
 *
 * It starts the local platform (always its own: the cluster only feeds the operator's caches), creates an account,
 * runs the operator from dist/main.js as production does, and then measures both servers: the highest throughput
 * at `--connections` keep-alive connections, in `--rounds` rounds that alternate between the two (the ratio is that
 * of their medians), and the latency at a fixed `--rate` of requests per second.
 * Every request is the review the API server sends when an Owner creates a Workspace: the operator's answer comes
 * from its informer caches (role, plan limit, workspace count), with no request of its own.
 *
 * The highest throughput comes from autocannon in this process, each response timed by its per-request timer
 * (its own histogram counts whole milliseconds, too coarse for a 1 ms target). The fixed rate does not: autocannon
 * spends each connection's budget at the start of every second, a burst that measures queueing, not the server.
 * Instead requests leave evenly spaced (open loop: the schedule does not wait for answers) over Node's keep-alive
 * agent, and each is timed from its send to the end of its answer.
 */
import { writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { admissionReview } from '../fuzz/reviews.js';
import { REPO_ROOT } from '../local/install.js';
import { freePort, startProcess, waitFor, type Managed } from '../local/processes.js';
import { fixed, onShutdown, progress, quantile, row, verdict, wholeNumber, runBenchmark } from './common.js';
import { treeCpuSeconds } from './procfs.js';
import type { OperatorProcess } from './operator-process.js';
import { startPlatform, type BenchPlatform } from './platform.js';
import { postReview, startWebhookOperator } from './webhook-operator.js';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '16' },
    rate: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '3' },
    'node-args': { type: 'string', default: '' },
  },
});

const DURATION_S = wholeNumber('duration', args.duration);
const CONNECTIONS = wholeNumber('connections', args.connections);
const RATE = wholeNumber('rate', args.rate);
const ROUNDS = wholeNumber('rounds', args.rounds);
const NODE_ARGS = args['node-args'].split(' ').filter((a) => a !== '');
const WARMUP_S = 2;
const ACCOUNT = 'bench-agency';

let platform: BenchPlatform | undefined;
let operator: OperatorProcess | undefined;
let bare: Managed | undefined;
const cleanup = onShutdown(async () => {
  await bare?.stop();
  await operator?.stop();
  await platform?.stop();
});

interface Phase {
  requests: number;
  errors: number;
  seconds: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  /** CPU the server's process used meanwhile, in seconds (user and system, its threads included). */
  serverCpu: number;
}

function summary(times: number[], errors: number, seconds: number): Phase {
  return {
    serverCpu: 0,
    requests: times.length,
    errors,
    seconds,
    p50: quantile(times, 0.5),
    p99: quantile(times, 0.99),
    p999: quantile(times, 0.999),
    max: quantile(times, 1),
  };
}

/** Posts `body` to `url` for `seconds` as fast as `CONNECTIONS` keep-alive connections allow; times every answer. */
function flood(url: string, body: string, seconds: number): Promise<Phase> {
  const times: number[] = [];
  let errors = 0;
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const instance = autocannon(
      {
        url,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        connections: CONNECTIONS,
        pipelining: 1,
        duration: seconds,
      },
      (err) => {
        if (err) return reject(err);
        resolve(summary(times, errors, (performance.now() - started) / 1000));
      },
    );
    instance.on('response', (_client, statusCode: number, _bytes, responseTime: number) => {
      if (statusCode === 200) times.push(responseTime);
      else errors++;
    });
    instance.on('reqError', () => errors++);
  });
}

/**
 * Sends `rate` requests per second for `seconds`, evenly spaced whether or not earlier ones were answered, over
 * `agent`'s keep-alive connections; times each from its send to the end of its answer.
 */
function paced(
  agent: https.Agent,
  port: number,
  body: string,
  seconds: number,
  rate: number,
): Promise<Phase> {
  const total = Math.round(rate * seconds);
  const times: number[] = [];
  let errors = 0;
  let sent = 0;
  let finished = 0;
  return new Promise((resolve) => {
    const started = performance.now();
    const done = () => {
      if (++finished === total) resolve(summary(times, errors, (performance.now() - started) / 1000));
    };
    const send = () => {
      const t0 = performance.now();
      postReview(agent, port, body).then(
        ({ status }) => {
          if (status === 200) times.push(performance.now() - t0);
          else errors++;
          done();
        },
        () => {
          errors++;
          done();
        },
      );
    };
    // Timers tick about once a millisecond; each tick sends what the schedule says is due by now.
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - started) * rate) / 1000));
      while (sent < due) {
        sent++;
        send();
      }
      if (sent === total) clearInterval(timer);
    }, 1);
  });
}

/** One review by Node's own client, checked, so that the load is known to get the answer meant. */
async function probe(agent: https.Agent, port: number, body: string): Promise<{ allowed?: boolean }> {
  const { status, text } = await postReview(agent, port, body);
  try {
    return (JSON.parse(text) as { response?: { allowed?: boolean } }).response ?? {};
  } catch (err) {
    throw new Error(`not an AdmissionReview (${status}): ${text.slice(0, 200)}; ${String(err)}`);
  }
}

interface Target {
  label: string;
  port: number;
  pid: number;
}

/**
 * The highest throughput of each server, in `ROUNDS` rounds that alternate between them, so that whatever else the
 * machine does at one moment weighs on both; then each one's latency at the fixed rate.
 */
async function measure(
  targets: [Target, Target],
  body: string,
  ca: string,
): Promise<{ floods: [Phase[], Phase[]]; fixed: [Phase, Phase] }> {
  const url = (t: Target) => `https://127.0.0.1:${t.port}/validate`;
  for (const t of targets) {
    progress(`${t.label}: warming up for ${WARMUP_S} s`);
    await flood(url(t), body, WARMUP_S);
  }
  const floods: [Phase[], Phase[]] = [[], []];
  for (let round = 1; round <= ROUNDS; round++) {
    for (const [i, t] of targets.entries()) {
      progress(`round ${round} of ${ROUNDS}, ${t.label}: ${CONNECTIONS} connections for ${DURATION_S} s`);
      const cpuBefore = treeCpuSeconds(t.pid);
      const phase = await flood(url(t), body, DURATION_S);
      phase.serverCpu = treeCpuSeconds(t.pid) - cpuBefore;
      floods[i]?.push(phase);
    }
  }
  const fixed: Phase[] = [];
  for (const t of targets) {
    const agent = new https.Agent({ keepAlive: true, maxSockets: CONNECTIONS, ca });
    try {
      progress(
        `${t.label}: ${RATE} requests/s, evenly spaced, for ${DURATION_S} s (after ${WARMUP_S} s of warm-up)`,
      );
      await paced(agent, t.port, body, WARMUP_S, RATE);
      fixed.push(await paced(agent, t.port, body, DURATION_S, RATE));
    } finally {
      agent.destroy();
    }
  }
  return { floods, fixed: fixed as [Phase, Phase] };
}

async function main(): Promise<void> {
  // Always a platform of its own: the benchmark needs nothing of a real cluster but an account in the cache.
  delete process.env.KUBECONFIG;
  delete process.env.DATABASE_URL;
  platform = await startPlatform();
  const started = await startWebhookOperator(platform, ACCOUNT, NODE_ARGS);
  const op = started.operator;
  operator = op;
  const webhookPort = started.port;
  progress(`operator running as pid ${op.pid}, webhook on port ${webhookPort}`);

  // The bare server serves the operator's own certificate, so both handshakes cost the same.
  const certFile = join(platform.runDir, 'bench-tls.crt');
  const keyFile = join(platform.runDir, 'bench-tls.key');
  writeFileSync(certFile, started.tls.certificate);
  writeFileSync(keyFile, started.tls.privateKey, { mode: 0o600 });
  const barePort = await freePort();
  const bareProcess = startProcess(
    platform.runDir,
    'bare-webhook',
    process.execPath,
    ['--import', 'tsx', join(REPO_ROOT, 'operator/tools/bench/bare-webhook.ts')],
    {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', CERT_FILE: certFile, KEY_FILE: keyFile, PORT: String(barePort) },
    },
  );
  bare = bareProcess;

  const body = JSON.stringify(
    admissionReview(
      '0b5b0c38-6f55-4a8f-9d2b-6f7c1c0de001',
      'Workspace',
      'CREATE',
      ACCOUNT,
      {
        apiVersion: 'taskjuice.io/v1alpha1',
        kind: 'Workspace',
        metadata: { name: 'contoso', namespace: ACCOUNT },
        spec: { displayName: 'Contoso', betaOptIn: true, approvalTimeoutSeconds: 86400 },
      },
      { userInfo: { username: `owner@${ACCOUNT}.example`, groups: ['system:authenticated'] }, dryRun: false },
    ),
  );
  const { ca } = started.tls;
  const checker = new https.Agent({ ca });
  const allows = async (port: number) =>
    (await probe(checker, port, body).catch(() => ({}) as { allowed?: boolean })).allowed === true;
  await waitFor('the webhook to allow an Owner creating a workspace', () => allows(webhookPort), {
    timeoutMs: 30_000,
  });
  await waitFor('the bare server', () => allows(barePort), { timeoutMs: 30_000, process: bareProcess });
  checker.destroy();

  const { floods, fixed } = await measure(
    [
      { label: 'bare server', port: barePort, pid: bareProcess.child.pid ?? 0 },
      { label: 'webhook', port: webhookPort, pid: op.pid },
    ],
    body,
    ca,
  );
  report(floods, fixed);
}

function report(floods: [Phase[], Phase[]], fixedRate: [Phase, Phase]): void {
  const rps = (p: Phase) => p.requests / p.seconds;
  const msf = (v: number) => `${fixed(v, 2)} ms`;
  const us = (seconds: number) => `${fixed(seconds * 1e6, 0)} µs`;
  const cpuPerRequest = (p: Phase) => p.serverCpu / Math.max(1, p.requests);
  const median = (phases: Phase[]) =>
    [...phases].sort((a, b) => rps(a) - rps(b))[Math.floor(phases.length / 2)] as Phase;
  const [bareFloods, ourFloods] = floods;
  const [bareMax, ourMax] = [median(bareFloods), median(ourFloods)];
  const ratio = rps(ourMax) / rps(bareMax);
  const [bareRate, ourRate] = fixedRate;
  const errors = [...bareFloods, ...ourFloods, ...fixedRate].reduce((n, p) => n + p.errors, 0);
  const rounds = (phases: Phase[]) => phases.map((p) => fixed(rps(p), 0)).join(', ');
  const out: string[] = [
    '',
    `Webhook: an Owner's Workspace CREATE review, HTTPS keep-alive, ${CONNECTIONS} connections, ${DURATION_S} s per phase`,
    '',
    `Highest throughput (median of ${ROUNDS} alternating rounds)`,
    row(
      'bare server: requests/s',
      fixed(rps(bareMax), 0),
      `p50 ${msf(bareMax.p50)}, p99 ${msf(bareMax.p99)}; rounds ${rounds(bareFloods)}`,
    ),
    row(
      'webhook: requests/s',
      fixed(rps(ourMax), 0),
      `p50 ${msf(ourMax.p50)}, p99 ${msf(ourMax.p99)}; rounds ${rounds(ourFloods)}`,
    ),
    row('webhook / bare server', fixed(ratio, 2), `target ≥ 0.50: ${verdict(ratio >= 0.5)}`),
    row(
      'bare server: CPU per request',
      us(cpuPerRequest(bareMax)),
      `${fixed((bareMax.serverCpu / bareMax.seconds) * 100, 0)}% of a core`,
    ),
    row(
      'webhook: CPU per request',
      us(cpuPerRequest(ourMax)),
      `${fixed((ourMax.serverCpu / ourMax.seconds) * 100, 0)}% of a core`,
    ),
    '',
    `At ${RATE} requests/s`,
    row(
      'bare server: p50 / p99',
      `${msf(bareRate.p50)} / ${msf(bareRate.p99)}`,
      `p99.9 ${msf(bareRate.p999)}, max ${msf(bareRate.max)}`,
    ),
    row('webhook: p50', msf(ourRate.p50), `target ≤ 1 ms: ${verdict(ourRate.p50 <= 1)}`),
    row('webhook: p99', msf(ourRate.p99), `target ≤ 5 ms: ${verdict(ourRate.p99 <= 5)}`),
    row('webhook: p99.9 / max', `${msf(ourRate.p999)} / ${msf(ourRate.max)}`),
    row(
      'webhook: requests answered / rate reached',
      String(ourRate.requests),
      `${fixed(rps(ourRate), 0)} requests/s`,
    ),
    '',
    row('errors (non-200 or failed requests), all phases', String(errors)),
    '',
  ];
  process.stdout.write(out.join('\n'));
}

runBenchmark(main, cleanup);
