import { randomBytes } from 'node:crypto';
import { Resources } from '../../src/kube/resources.js';
import { fixed, progress, seconds } from '../bench/common.js';
import { PLAN_CATALOG } from '../bench/objects.js';
import type { ChaosPlatform } from './platform.js';
import { Replica } from './replica.js';
import { OPERATOR_DATABASE } from '../local/postgres.js';
import {
  CHAOS_LABEL,
  inDatabase,
  ROWS_PER_WORKSPACE,
  Workload,
  totalOrphans,
  type Orphans,
} from './workload.js';

/** What every scenario gets, and what it hands back: figures beside their targets, and notes. */
export interface ScenarioContext {
  platform: ChaosPlatform;
  workspaces: number;
  minutes: number;
  run: string;
}

export interface Figure {
  label: string;
  value: string;
  target?: string;
  ok?: boolean;
}

export interface ScenarioResult {
  name: string;
  figures: Figure[];
  notes: string[];
}

export type Scenario = (ctx: ScenarioContext) => Promise<ScenarioResult>;

const open = new Set<Stage>();

/** Stops the operators and the watch of every scenario that failed before its books were kept. */
export async function abandonOpenStages(): Promise<void> {
  for (const stage of [...open]) await stage.abandon();
}

/** One scenario's objects, its operator's environment and its figures. */
export class Stage {
  readonly scenario: string;
  readonly leaseNamespace: string;
  readonly workload: Workload;
  readonly figures: Figure[] = [];
  readonly notes: string[] = [];
  readonly replicas: Replica[] = [];

  constructor(
    readonly ctx: ScenarioContext,
    readonly name: string,
    readonly prefix: string,
    accounts: number,
  ) {
    this.scenario = `${name}-${ctx.run}`;
    this.leaseNamespace = `chaos-${this.scenario}`;
    const names = Array.from({ length: accounts }, (_, i) => `${name}-${ctx.run}-a${i}`);
    this.workload = new Workload({
      api: ctx.platform.api,
      catalogUrl: inDatabase(ctx.platform.postgres.adminUrl, OPERATOR_DATABASE),
      scenario: this.scenario,
      accounts: names,
      prefix,
    });
  }

  /** The operator's environment for this scenario (its label selector, name prefix, Lease). */
  env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      PLAN_CATALOG,
      WATCH_LABEL_SELECTOR: `${CHAOS_LABEL}=${this.scenario}`,
      DATABASE_NAME_PREFIX: this.prefix,
      WEBHOOK_ENABLED: 'false',
      LEADER_ELECTION_NAMESPACE: this.leaseNamespace,
      POD_NAMESPACE: this.leaseNamespace,
      LEADER_ELECTION_ID: `chaos-${this.scenario}`,
      ...extra,
    };
  }

  replica(
    name: string,
    opts: { kubeconfig?: string; databaseUrl?: string; env?: Record<string, string> } = {},
  ) {
    const r = new Replica({
      runDir: this.ctx.platform.runDir,
      name: `${this.name}-${name}`,
      kubeconfig: opts.kubeconfig ?? this.ctx.platform.controlPlane.kubeconfigPath,
      databaseUrl: opts.databaseUrl ?? this.ctx.platform.postgres.operatorUrl,
      env: this.env(opts.env),
    });
    this.replicas.push(r);
    return r;
  }

  async begin(): Promise<void> {
    progress(`${this.name}: start`);
    open.add(this);
    await this.ctx.platform.api.create(Resources.Namespace, { metadata: { name: this.leaseNamespace } });
    await this.workload.start();
  }

  add(label: string, value: string, target?: string, ok?: boolean): void {
    this.figures.push({ label, value, target, ok });
  }

  /** The figures every scenario reports: convergence, orphans, rows lost, restarts, admission errors. */
  addBooks(converged: { ms: number; notReady: number; notGone: number; orphans: Orphans }, targetS: number) {
    const okTime = Number.isFinite(converged.ms) && converged.ms <= targetS * 1000;
    this.add('converged after the fault ends', seconds(converged.ms), `≤ ${targetS} s`, okTime);
    if (!Number.isFinite(converged.ms))
      this.notes.push(
        `not converged: ${converged.notReady} not Ready, ${converged.notGone} deleted not gone`,
      );
    const o = converged.orphans;
    this.add(
      'orphans (schemas/roles/namespaces, live missing)',
      `${o.schemas}/${o.roles}/${o.namespaces}, ${o.missing}`,
      '0',
      totalOrphans(o) === 0,
    );
  }

  async abandon(): Promise<void> {
    open.delete(this);
    for (const r of this.replicas) await r.stop();
    await this.workload.stop();
  }

  async finish(): Promise<ScenarioResult> {
    const w = this.workload;
    const lost = await w.rowsLost();
    this.add(
      'rows lost',
      `${lost} of ${[...w.rows].filter(([k]) => w.live.has(k)).length * ROWS_PER_WORKSPACE}`,
      '0',
      lost === 0,
    );
    const kills = this.replicas.reduce((n, r) => n + r.kills, 0);
    const crashes = this.replicas.reduce((n, r) => n + r.crashes, 0);
    this.add(
      'process restarts (kills by the tool + crashes)',
      `${kills} + ${crashes}`,
      'crashes 0',
      crashes === 0,
    );
    for (const r of this.replicas)
      for (const reason of r.crashReasons.slice(0, 3)) this.notes.push(`crash: ${reason}`);
    this.add('admission errors seen by clients', String(w.admissionErrors));
    this.add('other client errors (retried)', String(w.clientErrors));
    for (const s of w.errorSamples.slice(0, 3)) this.notes.push(`client error: ${s}`);
    this.add('workspaces ever Stalled', String(w.stalled.size), '0', w.stalled.size === 0);
    await this.abandon();
    progress(`${this.name}: done`);
    return { name: this.name, figures: this.figures, notes: this.notes };
  }
}

export const newRun = (): string => randomBytes(2).toString('hex');
export const pct = (v: number): string => `${fixed(v * 100, 1)} %`;

/** Polls `probe` every 100 ms until it is true; the time it took, or NaN after `timeoutMs`. */
export async function timeUntil(probe: () => Promise<boolean> | boolean, timeoutMs: number): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    try {
      if (await probe()) return performance.now() - started;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return Number.NaN;
}
