import { row, seconds, verdict } from '../bench/common.js';
import type { ScenarioResult } from './scenario.js';

export interface ChaosReport {
  workspaces: number;
  minutes: number;
  results: ScenarioResult[];
  totalMs: number;
  runDir: string;
}

/** The report on stdout: one block per scenario, each figure beside its target and a verdict. */
export function printChaosReport(r: ChaosReport): void {
  const out: string[] = [];
  out.push('');
  out.push(
    `chaos: bursts of ${r.workspaces} workspaces, soak ${r.minutes} min, ${seconds(r.totalMs)} in all`,
  );
  for (const s of r.results) {
    out.push('');
    out.push(`${s.name}`);
    for (const f of s.figures) {
      const target = f.target ? `${f.target}${f.ok === undefined ? '' : ` ${verdict(f.ok)}`}` : '';
      out.push(row(f.label, f.value, target));
    }
    for (const note of s.notes) out.push(`  note: ${note}`);
  }
  out.push('');
  out.push(`logs of every process: ${r.runDir}`);
  process.stdout.write(`${out.join('\n')}\n`);
}
