import { COMMANDS, isCommand, type CommandSpec } from './args.js';

/**
 * Shell completion, as kubectl (1.26 and newer) asks a plugin for it: it runs `kubectl_complete-taskjuice` with the
 * words typed after `kubectl taskjuice`, the last one the word being completed, and reads one candidate a line and
 * then cobra's directive (`:4`, no file names). Candidates are commands, flags, and the names of accounts,
 * workspaces and invitations, read from the cluster; a read that fails completes nothing rather than printing an
 * error into the shell.
 */

export interface Names {
  accounts(): Promise<string[]>;
  workspaces(account: string): Promise<string[]>;
  invitations(account: string): Promise<string[]>;
}

/** cobra's ShellCompDirectiveNoFileComp: the shell offers no file names when nothing matches. */
export const NO_FILE_COMPLETION = ':4';

const GLOBAL_VALUE_FLAGS = ['--context', '--kubeconfig', '--as', '--as-group'];
const VALUE_FLAGS = new Set([...GLOBAL_VALUE_FLAGS, '--output', '-o']);

/** The connection flags among the words, so that completion reads the cluster, as the user, the command will. */
export function connectionFlags(words: readonly string[]): {
  context: string | undefined;
  kubeconfig: string | undefined;
  as: string | undefined;
  asGroups: string[];
} {
  const value = (flag: string): string[] =>
    words.flatMap((word, i) =>
      word === flag && words[i + 1] !== undefined
        ? [words[i + 1] ?? '']
        : word.startsWith(`${flag}=`)
          ? [word.slice(flag.length + 1)]
          : [],
    );
  return {
    context: value('--context').at(-1),
    kubeconfig: value('--kubeconfig').at(-1),
    as: value('--as').at(-1),
    asGroups: value('--as-group'),
  };
}

export async function completions(words: readonly string[], names: Names): Promise<string[]> {
  const partial = words.at(-1) ?? '';
  const before = words.slice(0, -1);
  const positionals: string[] = [];
  for (let i = 0; i < before.length; i++) {
    const word = before[i] ?? '';
    if (word.startsWith('-')) {
      if (VALUE_FLAGS.has(word)) i++;
      continue;
    }
    positionals.push(word);
  }
  // The value of a flag: nothing to offer but files for --output and --kubeconfig, which the shell does itself.
  if (VALUE_FLAGS.has(before.at(-1) ?? '')) return [];
  const [command, account] = positionals;
  const spec: CommandSpec | undefined =
    command !== undefined && isCommand(command) ? COMMANDS[command] : undefined;
  let candidates: string[];
  if (partial.startsWith('-'))
    candidates = [...GLOBAL_VALUE_FLAGS, '--help', ...(spec?.flags ?? []).map((f) => `--${f}`)];
  else if (command === undefined) candidates = Object.keys(COMMANDS);
  else if (spec === undefined) candidates = [];
  else {
    const next = spec.positionals[positionals.length - 1];
    if (next === 'account') candidates = await names.accounts();
    else if (next === 'workspace' && account !== undefined) candidates = await names.workspaces(account);
    else if (next === 'invitation' && account !== undefined) candidates = await names.invitations(account);
    else candidates = [];
  }
  return candidates.filter((c) => c.startsWith(partial)).sort();
}
