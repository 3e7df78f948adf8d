import { errorMessage, isCode } from '../errors.js';
import { Api } from '../kube/api.js';
import { KubeClient } from '../kube/client.js';
import { defaultCredentials, fileCredentials } from '../kube/credentials.js';
import { Resources } from '../kube/resources.js';
import { deleteWorkspace, resend, revoke, rotate } from './actions.js';
import { parseArgs, usage, type Invocation } from './args.js';
import { NO_FILE_COMPLETION, completions, connectionFlags } from './complete.js';
import { writeReport } from './report.js';
import { renderStatus } from './status.js';
import { readAccountView, readHome } from './view.js';

/**
 * The entry of `kubectl taskjuice` (bin/kubectl-taskjuice runs the built copy of this file). It reads the
 * kubeconfig as kubectl does (`--kubeconfig`, else KUBECONFIG, else ~/.kube/config, else in-cluster; `--context`,
 * `--as`), runs one command and answers with an exit code: 0 done, 1 an error it names, 2 a usage error.
 */

export interface PluginIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  now: () => Date;
  version: string;
}

export const EXIT = { ok: 0, error: 1, usage: 2 } as const;

async function connect(
  inv: Pick<Invocation, 'context' | 'kubeconfig' | 'as' | 'asGroups'>,
  env: NodeJS.ProcessEnv,
): Promise<Api> {
  const options = { context: inv.context };
  const credentials =
    inv.kubeconfig !== undefined
      ? await fileCredentials(inv.kubeconfig, options)
      : await defaultCredentials(env, options);
  const impersonate = inv.as === undefined ? undefined : { user: inv.as, groups: inv.asGroups };
  return new Api(
    await KubeClient.fromCredentials(credentials, {
      // A person waits for the answer: a dead API server should say so within seconds, not minutes.
      timeoutMs: 15_000,
      maxSockets: 8,
      ...(impersonate ? { impersonate } : {}),
    }),
  );
}

async function run(inv: Invocation, api: Api, io: PluginIo): Promise<string> {
  const where = {
    server: api.client.server.origin,
    ...(inv.context ? { context: inv.context } : {}),
    ...(inv.as ? { as: inv.as } : {}),
  };
  const account = inv.args.account ?? '';
  switch (inv.command) {
    case 'status':
      return renderStatus(await readAccountView(api, account), io.now(), where);
    case 'rotate':
      return rotate(api, account, inv.args.workspace ?? '', { wait: inv.wait, now: io.now() });
    case 'resend':
      return resend(api, account, inv.args.invitation ?? '');
    case 'revoke':
      return revoke(api, account, inv.args.invitation ?? '');
    case 'delete':
      return deleteWorkspace(api, account, inv.args.workspace ?? '', {
        confirm: inv.confirm,
        wait: inv.wait,
      });
    case 'report': {
      const result = await writeReport(api, account, {
        output: inv.output,
        now: io.now(),
        where,
        version: io.version,
      });
      const problems =
        result.problems.length === 0
          ? ''
          : `\n${result.problems.length} reads failed and are listed in problems.txt:\n${result.problems.map((p) => `  ${p}`).join('\n')}\n`;
      return `Wrote ${result.path} (no Secret values, no tokens):\n${result.files.map((f) => `  ${f}`).join('\n')}\n${problems}`;
    }
  }
}

/** Why a request failed, as a person reads it: what was not allowed, what was not found, what was refused. */
function explain(err: unknown): string {
  const message = errorMessage(err);
  if (isCode(err, 'Forbidden')) return `not allowed: ${message}`;
  if (isCode(err, 'Unauthorized'))
    return `the API server does not accept these credentials (${message}); log in again or pick another --context`;
  if (isCode(err, 'Unavailable', 'Timeout')) return `cannot reach the API server: ${message}`;
  return message;
}

const names = (items: unknown[]): string[] =>
  items.flatMap((item) => {
    const meta = item && typeof item === 'object' && 'metadata' in item ? item.metadata : undefined;
    return meta && typeof meta === 'object' && 'name' in meta && typeof meta.name === 'string'
      ? [meta.name]
      : [];
  });

/** `__complete <words…>`: what kubectl_complete-taskjuice asks for; never an error on stdout, always exit 0. */
async function complete(words: readonly string[], io: PluginIo): Promise<number> {
  let api: Api | undefined;
  const connected = async () => (api ??= await connect(connectionFlags(words), io.env));
  const list = async (r: (typeof Resources)[keyof typeof Resources], namespace?: string) =>
    names((await (await connected()).list(r, namespace === undefined ? {} : { namespace })).items);
  const homeOf = async (account: string) => (await readHome(await connected(), account)).namespace;
  try {
    const found = await completions(words, {
      accounts: () => list(Resources.Account),
      workspaces: async (account) => list(Resources.Workspace, await homeOf(account)),
      invitations: async (account) => list(Resources.ClientInvitation, await homeOf(account)),
    });
    io.stdout(found.map((c) => `${c}\n`).join(''));
  } catch {
    // Nothing to offer: the shell shows no candidates rather than an error in the middle of the line.
  } finally {
    api?.client.close();
  }
  io.stdout(`${NO_FILE_COMPLETION}\n`);
  return EXIT.ok;
}

export async function main(argv: readonly string[], io: PluginIo): Promise<number> {
  if (argv[0] === '__complete') return complete(argv.slice(1), io);
  let inv: Invocation;
  try {
    const parsed = parseArgs(argv);
    if (parsed.help) {
      io.stdout(usage(parsed.command));
      return EXIT.ok;
    }
    inv = parsed;
  } catch (err) {
    io.stderr(
      `error: ${errorMessage(err)}\nSee 'kubectl taskjuice --help' for the commands and their arguments.\n`,
    );
    return EXIT.usage;
  }
  let api: Api | undefined;
  try {
    api = await connect(inv, io.env);
    io.stdout(await run(inv, api, io));
    return EXIT.ok;
  } catch (err) {
    io.stderr(`error: ${explain(err)}\n`);
    // A refusal of the command line itself (delete without --confirm) is a usage answer, not a failure; a 400
    // from the API server (it carries its HTTP status) is an error.
    return isCode(err, 'BadRequest') && err.status === undefined ? EXIT.usage : EXIT.error;
  } finally {
    api?.client.close();
  }
}
