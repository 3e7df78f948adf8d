/**
 * The chaos benchmark (issue 10, SPEC 7 and 7a, faults): each scenario runs a burst of Workspaces against the
 * operator from dist/main.js on a local platform of its own, makes its fault, and prints what a client saw:
 * convergence after the fault ends, orphans both ways, rows lost, process restarts, admission errors. It prints
 * figures beside their targets and asserts nothing.
 *
 *   npm run chaos -- [--scenarios kills,leader,pgstop,pgslow,apiserver,webhook,soak] [--workspaces 300] [--minutes 10]
 *
 * Every loop is bounded in count and time; all traffic stays on 127.0.0.1.
 */
import { parseArgs } from 'node:util';
import { onShutdown, progress, wholeNumber } from '../bench/common.js';
import { startChaosPlatform, type ChaosPlatform } from './platform.js';
import { printChaosReport, scenarioBlock } from './report.js';
import { abandonOpenStages, newRun, type Scenario, type ScenarioResult } from './scenario.js';
import { apiserver } from './scenarios/apiserver.js';
import { kills } from './scenarios/kills.js';
import { leader } from './scenarios/leader.js';
import { postgresSlow } from './scenarios/postgres-slow.js';
import { postgresStop } from './scenarios/postgres-stop.js';
import { soak } from './scenarios/soak.js';
import { webhook } from './scenarios/webhook.js';

const SCENARIOS: Record<string, Scenario> = {
  kills,
  leader,
  pgstop: postgresStop,
  pgslow: postgresSlow,
  apiserver,
  webhook,
  soak,
};

const { values: args } = parseArgs({
  options: {
    scenarios: { type: 'string', default: Object.keys(SCENARIOS).join(',') },
    workspaces: { type: 'string', default: '300' },
    minutes: { type: 'string', default: '10' },
  },
});

const names = args.scenarios.split(',').filter((s) => s !== '');
for (const name of names) {
  if (!SCENARIOS[name])
    throw new Error(`--scenarios: unknown ${name}; known: ${Object.keys(SCENARIOS).join(', ')}`);
}
const N = wholeNumber('workspaces', args.workspaces, 3);
const MINUTES = wholeNumber('minutes', args.minutes);

let platform: ChaosPlatform | undefined;
const cleanup = onShutdown(async () => {
  await platform?.stop();
  platform = undefined;
});

async function main(): Promise<void> {
  const run = newRun();
  progress(`chaos: ${names.join(', ')} with bursts of ${N} workspaces, soak ${MINUTES} min (run ${run})`);
  platform = await startChaosPlatform();
  const results: ScenarioResult[] = [];
  const started = performance.now();
  for (const name of names) {
    const scenario = SCENARIOS[name] as Scenario;
    try {
      const result = await scenario({ platform, workspaces: N, minutes: MINUTES, run });
      results.push(result);
      // As it ends, on stderr: a long run that is stopped halfway has still said what it measured.
      process.stderr.write(`${scenarioBlock(result).join('\n')}\n`);
    } catch (err) {
      progress(`${name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      results.push({
        name,
        figures: [],
        notes: [`FAILED: ${err instanceof Error ? err.message : String(err)}`],
      });
      await abandonOpenStages();
    }
  }
  printChaosReport({
    workspaces: N,
    minutes: MINUTES,
    results,
    totalMs: performance.now() - started,
    runDir: platform.runDir,
  });
}

main()
  .then(() => cleanup())
  // Whatever a failed scenario left (a retrying watch, a proxy) must not keep the process alive.
  .then(() => process.exit(process.exitCode ?? 0))
  .catch(async (err: unknown) => {
    progress(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    await cleanup();
    process.exit(1);
  });
