import { describe, expect, it } from 'vitest';
import { parseArgs, usage } from './args.js';

describe('the plugin command line', () => {
  it('reads a command, its arguments by name, and flags in both of kubectl’s forms', () => {
    expect(parseArgs(['delete', 'acme', 'web', '--confirm', '--context=prod', '--kubeconfig', '/k'])).toEqual(
      {
        help: false,
        command: 'delete',
        args: { account: 'acme', workspace: 'web' },
        context: 'prod',
        kubeconfig: '/k',
        as: undefined,
        asGroups: [],
        confirm: true,
        wait: false,
        output: undefined,
      },
    );
    expect(parseArgs(['report', 'acme', '-o', 'b.tgz'])).toMatchObject({ output: 'b.tgz' });
    expect(
      parseArgs(['status', 'acme', '--as', 'olivia@acme.example', '--as-group=a', '--as-group', 'b']),
    ).toMatchObject({
      as: 'olivia@acme.example',
      asGroups: ['a', 'b'],
    });
  });

  it('refuses what a command does not take, naming it', () => {
    expect(() => parseArgs(['status'])).toThrow('status needs <account>');
    expect(() => parseArgs(['rotate', 'acme', 'web', 'extra'])).toThrow(/unexpected extra/);
    expect(() => parseArgs(['status', 'acme', '--confirm'])).toThrow('status takes no --confirm');
    expect(() => parseArgs(['status', 'acme', '--namespace', 'x'])).toThrow('unknown flag --namespace');
    expect(() => parseArgs(['frobnicate'])).toThrow(/unknown command frobnicate; the commands are status, /);
    expect(() => parseArgs(['status', 'acme', '--context'])).toThrow('flag --context needs a value');
    expect(() => parseArgs(['status', 'acme', '--as-group', 'g'])).toThrow('--as-group needs --as');
  });

  it('answers help for every command and for one', () => {
    expect(parseArgs([])).toEqual({ help: true, command: undefined });
    expect(parseArgs(['delete', '--help'])).toEqual({ help: true, command: 'delete' });
    expect(parseArgs(['help', 'report'])).toEqual({ help: true, command: 'report' });
    expect(usage()).toMatch(/kubectl taskjuice delete <account> <workspace> \[--confirm\]/);
    expect(usage('delete')).toMatch(/--confirm +set taskjuice.io\/confirm-delete/);
  });
});
