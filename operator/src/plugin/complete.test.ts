import { describe, expect, it } from 'vitest';
import { completions, connectionFlags, type Names } from './complete.js';

const names: Names = {
  accounts: async () => ['northwind', 'tailspin'],
  workspaces: async (account) => (account === 'northwind' ? ['contoso', 'fabrikam'] : []),
  invitations: async () => ['carla', 'dan'],
};

describe('shell completion', () => {
  it('offers commands, then accounts, then the workspaces or invitations the command takes', async () => {
    expect(await completions(['re'], names)).toEqual(['report', 'resend', 'revoke']);
    expect(await completions(['status', ''], names)).toEqual(['northwind', 'tailspin']);
    expect(await completions(['rotate', 'northwind', 'c'], names)).toEqual(['contoso']);
    expect(await completions(['revoke', 'northwind', ''], names)).toEqual(['carla', 'dan']);
    expect(await completions(['status', 'northwind', ''], names)).toEqual([]);
  });

  it('skips flags and their values, and offers the flags of the command', async () => {
    expect(await completions(['delete', '--context', 'prod', 'northwind', 'f'], names)).toEqual(['fabrikam']);
    expect(await completions(['delete', 'northwind', 'contoso', '--c'], names)).toEqual([
      '--confirm',
      '--context',
    ]);
    expect(await completions(['report', 'northwind', '-o', ''], names)).toEqual([]);
  });

  it('reads the cluster and user the command line names', () => {
    expect(connectionFlags(['status', '--context=prod', '--as', 'bob', '--as-group', 'g', 'x'])).toEqual({
      context: 'prod',
      kubeconfig: undefined,
      as: 'bob',
      asGroups: ['g'],
    });
  });
});
