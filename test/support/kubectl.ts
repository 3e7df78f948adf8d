import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { inject } from 'vitest';
import { kubectlBinary } from '../ship/support.js';

const run = promisify(execFile);

/**
 * `kubectl get` against the test cluster, as a person reads it: the rows of the printer columns, each a record
 * of column header to cell (`-o wide` adds the priority-1 columns).
 */
export async function kubectlTable(args: string[]): Promise<Record<string, string>[]> {
  const { stdout } = await run(await kubectlBinary(), ['--kubeconfig', inject('kubeconfig'), 'get', ...args]);
  const [header = '', ...lines] = stdout.trimEnd().split('\n');
  // Columns start where a header word starts after two or more spaces; headers have single inner spaces.
  const starts = [0, ...[...header.matchAll(/ {2,}(?=\S)/g)].map((m) => (m.index ?? 0) + m[0].length)];
  const cell = (line: string, i: number) => line.slice(starts[i], starts[i + 1]).trim();
  const names = starts.map((_, i) => cell(header, i));
  return lines.map((line) => Object.fromEntries(names.map((n, i) => [n, cell(line, i)])));
}
