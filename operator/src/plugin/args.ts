import { OperatorError } from '../errors.js';

/**
 * The command line of `kubectl taskjuice`: a command, its positional arguments and a few flags, in the shapes
 * kubectl's own flags take (`--context x`, `--context=x`). A mistake here is a usage error (exit code 2) that says
 * what was expected; it never reaches the cluster.
 */

export interface CommandSpec {
  /** The positional arguments, in order, as the usage line names them. */
  positionals: readonly string[];
  /** Flags of this command beyond the global ones. */
  flags: readonly ('confirm' | 'output' | 'wait')[];
  summary: string;
}

export const COMMANDS = {
  status: {
    positionals: ['account'],
    flags: [],
    summary: "the account's plan, workspaces, invitations, connections and what is not Ready",
  },
  rotate: {
    positionals: ['account', 'workspace'],
    flags: ['wait'],
    summary: 'new database credentials for a workspace (sets the rotate-credentials annotation)',
  },
  resend: {
    positionals: ['account', 'invitation'],
    flags: [],
    summary: 'send an invitation again: a new link and a new 7-day expiry (raises spec.resendRevision)',
  },
  revoke: {
    positionals: ['account', 'invitation'],
    flags: [],
    summary: 'revoke an invitation and the access of a client who accepted it (spec.revoked=true)',
  },
  delete: {
    positionals: ['account', 'workspace'],
    flags: ['confirm', 'wait'],
    summary: "delete a workspace and its client's data; needs --confirm",
  },
  report: {
    positionals: ['account'],
    flags: ['output'],
    summary: "a support bundle of the account's objects, status, conditions and Events, without secrets",
  },
} as const satisfies Record<string, CommandSpec>;

export type CommandName = keyof typeof COMMANDS;

export interface Invocation {
  command: CommandName;
  /** The positional arguments by the names of COMMANDS[command].positionals. */
  args: Record<string, string>;
  context: string | undefined;
  kubeconfig: string | undefined;
  /** `--as` and `--as-group`: the user (and groups) to act as, as kubectl impersonates. */
  as: string | undefined;
  asGroups: string[];
  confirm: boolean;
  wait: boolean;
  output: string | undefined;
}

export type Parsed = { help: true; command: CommandName | undefined } | ({ help: false } & Invocation);

export const isCommand = (word: string): word is CommandName => Object.hasOwn(COMMANDS, word);

const usageError = (message: string) => new OperatorError('BadRequest', message);

const VALUE_FLAGS = new Map<string, 'context' | 'kubeconfig' | 'output' | 'as'>([
  ['--context', 'context'],
  ['--as', 'as'],
  ['--kubeconfig', 'kubeconfig'],
  ['--output', 'output'],
  ['-o', 'output'],
]);
const BOOLEAN_FLAGS = new Map<string, 'confirm' | 'wait'>([
  ['--confirm', 'confirm'],
  ['--wait', 'wait'],
]);

export function parseArgs(argv: readonly string[]): Parsed {
  const positionals: string[] = [];
  const values: Partial<Record<'context' | 'kubeconfig' | 'output' | 'as', string>> = {};
  const asGroups: string[] = [];
  const booleans: Partial<Record<'confirm' | 'wait', boolean>> = {};
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i] ?? '';
    if (word === '-h' || word === '--help') {
      help = true;
      continue;
    }
    if (word === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!word.startsWith('-') || word === '-') {
      positionals.push(word);
      continue;
    }
    const eq = word.indexOf('=');
    const flag = eq > 0 ? word.slice(0, eq) : word;
    const valueKey = VALUE_FLAGS.get(flag);
    const booleanKey = BOOLEAN_FLAGS.get(flag);
    if (flag === '--as-group') {
      const value = eq > 0 ? word.slice(eq + 1) : argv[++i];
      if (value === undefined || value === '') throw usageError(`flag ${flag} needs a value`);
      asGroups.push(value);
    } else if (valueKey !== undefined) {
      const value = eq > 0 ? word.slice(eq + 1) : argv[++i];
      if (value === undefined || value === '') throw usageError(`flag ${flag} needs a value`);
      values[valueKey] = value;
    } else if (booleanKey !== undefined) {
      const value = eq > 0 ? word.slice(eq + 1) : 'true';
      if (value !== 'true' && value !== 'false')
        throw usageError(`flag ${flag} takes no value but true or false`);
      booleans[booleanKey] = value === 'true';
    } else throw usageError(`unknown flag ${flag}`);
  }

  const [commandWord, ...rest] = positionals;
  if (commandWord === undefined || commandWord === 'help') {
    const about = rest[0];
    return { help: true, command: about !== undefined && isCommand(about) ? about : undefined };
  }
  if (!isCommand(commandWord))
    throw usageError(`unknown command ${commandWord}; the commands are ${Object.keys(COMMANDS).join(', ')}`);
  const spec: CommandSpec = COMMANDS[commandWord];
  if (help) return { help: true, command: commandWord };

  for (const flag of ['confirm', 'wait', 'output'] as const) {
    const given = flag === 'output' ? values.output !== undefined : booleans[flag] !== undefined;
    if (given && !spec.flags.includes(flag)) throw usageError(`${commandWord} takes no --${flag}`);
  }
  if (asGroups.length > 0 && values.as === undefined) throw usageError('--as-group needs --as');
  if (rest.length < spec.positionals.length)
    throw usageError(`${commandWord} needs ${spec.positionals.map((p) => `<${p}>`).join(' ')}`);
  if (rest.length > spec.positionals.length)
    throw usageError(
      `${commandWord} takes ${spec.positionals.length}: unexpected ${rest.slice(spec.positionals.length).join(' ')}`,
    );
  return {
    help: false,
    command: commandWord,
    args: Object.fromEntries(spec.positionals.map((name, i) => [name, rest[i] ?? ''])),
    context: values.context,
    kubeconfig: values.kubeconfig,
    as: values.as,
    asGroups,
    confirm: booleans.confirm ?? false,
    wait: booleans.wait ?? false,
    output: values.output,
  };
}

const GLOBAL_FLAGS = `Flags of every command:
  --context <name>      the kubeconfig context to use (default: its current context)
  --kubeconfig <file>   the kubeconfig file (default: KUBECONFIG, then ~/.kube/config, then in-cluster)
  --as <user>           act as this user, as kubectl --as does (--as-group <group>, repeatable, adds groups)
  -h, --help            this help`;

function usageLine(name: CommandName): string {
  const spec: CommandSpec = COMMANDS[name];
  const flags = spec.flags.map((f) => (f === 'output' ? '[-o <file.tar.gz|dir>]' : `[--${f}]`));
  return ['kubectl taskjuice', name, ...spec.positionals.map((p) => `<${p}>`), ...flags].join(' ');
}

/** The help text: of every command, or of one. */
export function usage(command?: CommandName): string {
  if (command !== undefined) {
    const spec: CommandSpec = COMMANDS[command];
    const extra: Record<string, string> = {
      confirm:
        '  --confirm             set taskjuice.io/confirm-delete to the workspace name, then delete it',
      wait: '  --wait                wait (up to 2 minutes) until the operator has carried it out',
      output:
        '  -o, --output <path>   a .tar.gz or .tgz file, or else a directory (default: taskjuice-report-<account>-<time>.tar.gz)',
    };
    return [
      `Usage: ${usageLine(command)}`,
      '',
      `${spec.summary[0]?.toUpperCase()}${spec.summary.slice(1)}.`,
      ...(spec.flags.length > 0 ? ['', ...spec.flags.map((f) => extra[f] ?? '')] : []),
      '',
      GLOBAL_FLAGS,
      '',
    ].join('\n');
  }
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return [
    'kubectl taskjuice: day-two commands for the accounts, workspaces and invitations of workspace-operator.',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(([name, spec]) => `  ${name.padEnd(width)}  ${spec.summary}`),
    '',
    'Usage:',
    ...Object.keys(COMMANDS)
      .filter(isCommand)
      .map((name) => `  ${usageLine(name)}`),
    '',
    GLOBAL_FLAGS,
    '',
    'Exit codes: 0 done, 1 an error (named in the message), 2 a usage error.',
    '',
  ].join('\n');
}
