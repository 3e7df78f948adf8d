import { row, seconds, verdict } from '../bench/common.js';
import type { ScenarioResult } from './scenario.js';

export interface ChaosReport {
  workspaces: number;
  minutes: number;
  results: ScenarioResult[];
  totalMs: number;
  runDir: string;
}

/** One scenario's block: each figure beside its target and a verdict, then the notes. */
export function scenarioBlock(s: ScenarioResult): string[] {
  const out = ['', s.name];
  for (const f of s.figures) {
    const target = f.target ? `${f.target}${f.ok === undefined ? '' : ` ${verdict(f.ok)}`}` : '';
    out.push(row(f.label, f.value, target));
  }
  for (const note of s.notes) out.push(`  note: ${note}`);
  return out;
}

/** The report on stdout, at the end: every scenario's block after a heading. */
export function printChaosReport(r: ChaosReport): void {
  const out = [
    '',
    `chaos: bursts of ${r.workspaces} workspaces, soak ${r.minutes} min, ${seconds(r.totalMs)} in all`,
  ];
  for (const s of r.results) out.push(...scenarioBlock(s));
  out.push('', `logs of every process: ${r.runDir}`);
  process.stdout.write(`${out.join('\n')}\n`);
}
