/**
 * `npm run test:lts`: the tests again on the Node.js LTS line the image runs (the Dockerfile's NODE_IMAGE), under
 * whichever Node runs npm: every unit test, and LTS_INTEGRATION, the integration files that exercise what differs
 * between Node lines (the operator as its own process with PostgreSQL, HTTPS with our certificates, SMTP, the
 * webhook). `npm run test:lts -- --all` runs every integration file instead.
 *
 * The binary is the npm registry's `node` package at LTS_NODE: npx installs it once into its cache
 * (~/.npm/_npx) and reuses it offline afterwards. It is not a devDependency on purpose: the package's bin is named
 * `node`, and in node_modules/.bin it would put every npm script on that Node.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT } from './local/install.js';

/** The release of the image's Node line the tests run on; lts.test.ts keeps its line equal to the Dockerfile's. */
export const LTS_NODE = '24.21.0';

export const LTS_INTEGRATION = [
  'test/operator/restart.test.ts',
  'test/invitations/invitations.test.ts',
  'test/webhook/endpoint.test.ts',
];

const VITEST = join(REPO_ROOT, 'node_modules', 'vitest', 'vitest.mjs');

/** Runs `node <args>` on LTS_NODE, with npx's folder first on PATH, so child processes named `node` are it too. */
function onLts(args: string[], capture = false): string {
  const out = execFileSync('npx', ['--yes', '--prefer-offline', `node@${LTS_NODE}`, ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    stdio: ['ignore', capture ? 'pipe' : 'inherit', 'inherit'],
    env: { ...process.env, npm_config_update_notifier: 'false' },
  });
  return out ?? '';
}

export function testOnLts(all: boolean): void {
  const version = onLts(['--version'], true).trim();
  if (version !== `v${LTS_NODE}`) throw new Error(`npx ran Node ${version}, not v${LTS_NODE}`);
  process.stderr.write(`[test:lts] on Node ${version} (npm runs ${process.version})\n`);
  onLts([VITEST, 'run', '--project', 'unit']);
  onLts([VITEST, 'run', '--project', 'integration', ...(all ? [] : LTS_INTEGRATION)]);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    testOnLts(process.argv.includes('--all'));
  } catch (err) {
    // A failing vitest run has printed its failures already; the exit code is what CI reads.
    process.stderr.write(`[test:lts] ${err instanceof Error ? err.message.split('\n')[0] : String(err)}\n`);
    process.exitCode = 1;
  }
}
