import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { METRIC_CATALOG, seriesOf } from '../../operator/src/metrics-catalog.js';
import { REPO_ROOT } from '../../operator/tools/local/install.js';
import { ALERTS, DASHBOARD_ROWS, THRESHOLDS, type AlertRule } from '../../operator/tools/monitoring.js';
import { metricNames } from '../../operator/tools/promql.js';
import { helmTemplate, promtoolBinary, render, type Manifest } from './support.js';

const run = promisify(execFile);
const RELEASE = 'wsop';
const NAMESPACE = 'taskjuice-system';
/** The labels the default selector matches: what a ServiceMonitor or PodMonitor scrape gives the series. */
const POD = `namespace="${NAMESPACE}", pod="wsop-workspace-operator-7d9f-abcde"`;

/** Every series name a query may read: the catalog's families, a histogram's _bucket, _sum and _count. */
const KNOWN_SERIES = new Set(Object.entries(METRIC_CATALOG).flatMap(([name, f]) => seriesOf(name, f)));

interface RuleGroup {
  name: string;
  rules: AlertRule[];
}

const ofKind = (docs: Manifest[], kind: string) => docs.filter((d) => d.kind === kind);

let groups: RuleGroup[];

beforeAll(async () => {
  const docs = await render(RELEASE, NAMESPACE, {
    metrics: { prometheusRule: { enabled: true, additionalRuleLabels: { team: 'platform' } } },
  });
  const [rule] = ofKind(docs, 'PrometheusRule');
  groups = (rule as unknown as { spec: { groups: RuleGroup[] } }).spec.groups;
});

describe('the PrometheusRule', () => {
  it('is off by default, and so is the dashboard', async () => {
    const docs = await render(RELEASE, NAMESPACE);
    expect(ofKind(docs, 'PrometheusRule')).toEqual([]);
    expect(docs.filter((d) => d.metadata.labels?.grafana_dashboard !== undefined)).toEqual([]);
  });

  it('has the alerts the issue asks for, each linking a runbook that exists and says what, how to check and how to fix', () => {
    const rules = groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.alert).sort()).toEqual(ALERTS.map((a) => a.alert).sort());
    expect(rules).toHaveLength(7);
    for (const rule of rules) {
      expect(rule.annotations.runbook_url).toBe(
        `https://github.com/taskjuice/workspace-operator/blob/main/docs/runbooks/${rule.alert}.md`,
      );
      const page = join(REPO_ROOT, 'docs', 'runbooks', `${rule.alert}.md`);
      expect(existsSync(page), page).toBe(true);
      const text = readFileSync(page, 'utf8');
      expect(text).toMatch(new RegExp(`^# ${rule.alert}$`, 'm'));
      for (const section of ['What it means', 'How to check', 'How to fix'])
        expect(text, `${rule.alert}: ${section}`).toContain(`## ${section}`);
      expect(rule.labels).toMatchObject({ team: 'platform' });
      expect(['warning', 'critical']).toContain(rule.labels.severity);
    }
  });

  it("scopes every metric it reads to the release's pods, and reads only metrics the operator exports", () => {
    for (const rule of groups.flatMap((g) => g.rules)) {
      expect(rule.expr).not.toContain('__SELECTOR__');
      const selectors = [...rule.expr.matchAll(/\{([^}]*)\}/g)].map((m) => m[1]);
      expect(selectors.length, rule.alert).toBeGreaterThan(0);
      for (const s of selectors)
        expect(s, rule.alert).toContain(`namespace="${NAMESPACE}", pod=~"wsop-workspace-operator-.+"`);
      for (const name of metricNames(rule.expr))
        expect(KNOWN_SERIES, `${rule.alert} reads ${name}`).toContain(name);
    }
  });

  it('takes the selector and the runbook base from the values', async () => {
    const docs = await render(RELEASE, NAMESPACE, {
      metrics: {
        prometheusRule: {
          enabled: true,
          selector: 'job="wsop"',
          runbookBaseUrl: 'https://wiki.example/runbooks/',
          labels: { release: 'prometheus' },
        },
      },
    });
    const [rule] = ofKind(docs, 'PrometheusRule');
    expect(rule?.metadata.labels).toMatchObject({ release: 'prometheus' });
    const rules = (rule as unknown as { spec: { groups: RuleGroup[] } }).spec.groups.flatMap((g) => g.rules);
    for (const r of rules) {
      expect(r.expr).toContain('{job="wsop"');
      expect(r.expr).not.toContain('namespace=');
      expect(r.annotations.runbook_url).toBe(`https://wiki.example/runbooks/${r.alert}.md`);
    }
  });

  it('refuses values the schema does not know', async () => {
    const result = await helmTemplate(RELEASE, NAMESPACE, {
      metrics: { prometheusRule: { enabled: true, runbookBase: 'x' } },
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/runbookBase/);
  });
});

/** An alert's annotations as Prometheus renders them, for a case's labels and value texts. */
function rendered(alert: string, labels: Record<string, string>, value: string): Record<string, string> {
  const rule = groups.flatMap((g) => g.rules).find((r) => r.alert === alert);
  if (!rule) throw new Error(`no rule ${alert}`);
  const fill = (text: string) =>
    text
      .replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, l: string) => labels[l] ?? '')
      .replace(/\{\{ \$value( \| \w+)? \}\}/g, value);
  return Object.fromEntries(Object.entries(rule.annotations).map(([k, v]) => [k, fill(v)]));
}

interface Case {
  name: string;
  series: [string, string][];
  evalTime: string;
  alert: string;
  /** The alerts expected at evalTime: their own labels (beyond severity and team) and the value as rendered. */
  fires: { labels: Record<string, string>; value: string }[];
}

const series = (metric: string, labels: string) => `${metric}{${POD}${labels ? `, ${labels}` : ''}}`;

/** Each alert fires on its condition, and stays silent just inside its threshold or before its `for`. */
const CASES: Case[] = [
  {
    name: 'reconcile errors above 10% of reconciles, for one controller only',
    series: [
      [series('controller_runtime_reconcile_total', 'controller="workspace", result="success"'), '0+60x40'],
      [series('controller_runtime_reconcile_errors_total', 'controller="workspace"'), '0+12x40'],
      [series('controller_runtime_reconcile_total', 'controller="account", result="success"'), '0+60x40'],
      [series('controller_runtime_reconcile_errors_total', 'controller="account"'), '0+3x40'],
    ],
    evalTime: '30m',
    alert: 'WorkspaceOperatorReconcileErrors',
    fires: [{ labels: { controller: 'workspace' }, value: '20%' }],
  },
  {
    name: 'reconcile errors, not yet for 15 minutes',
    series: [
      [series('controller_runtime_reconcile_total', 'controller="workspace", result="success"'), '0+60x40'],
      [series('controller_runtime_reconcile_errors_total', 'controller="workspace"'), '0+12x40'],
    ],
    evalTime: '10m',
    alert: 'WorkspaceOperatorReconcileErrors',
    fires: [],
  },
  {
    name: 'Stalled workspaces, counted once however many replicas report them; Stalled invitations do not count',
    series: [
      [series('workspace_operator_stalled_objects', 'kind="Workspace", reason="OverPlanLimit"'), '2x40'],
      [
        `workspace_operator_stalled_objects{namespace="${NAMESPACE}", pod="wsop-workspace-operator-7d9f-xyzab", kind="Workspace", reason="OverPlanLimit"}`,
        '2x40',
      ],
      [
        series('workspace_operator_stalled_objects', 'kind="ClientInvitation", reason="MailNotConfigured"'),
        '1x40',
      ],
    ],
    evalTime: '20m',
    alert: 'WorkspaceOperatorWorkspacesStalled',
    fires: [{ labels: { reason: 'OverPlanLimit' }, value: '2' }],
  },
  {
    name: "another release's stalled workspaces",
    series: [
      [
        `workspace_operator_stalled_objects{namespace="other", pod="wsop-workspace-operator-1-2", kind="Workspace", reason="OverPlanLimit"}`,
        '2x40',
      ],
    ],
    evalTime: '20m',
    alert: 'WorkspaceOperatorWorkspacesStalled',
    fires: [],
  },
  {
    name: 'webhook p99 above 250 ms',
    series: [
      [series('workspace_operator_webhook_duration_seconds_bucket', 'le="0.1"'), '0x40'],
      [series('workspace_operator_webhook_duration_seconds_bucket', 'le="0.5"'), '0+100x40'],
      [series('workspace_operator_webhook_duration_seconds_bucket', 'le="+Inf"'), '0+100x40'],
    ],
    evalTime: '20m',
    alert: 'WorkspaceOperatorWebhookSlow',
    fires: [{ labels: {}, value: '496ms' }],
  },
  {
    name: 'webhook p99 under 250 ms',
    series: [
      [series('workspace_operator_webhook_duration_seconds_bucket', 'le="0.1"'), '0+100x40'],
      [series('workspace_operator_webhook_duration_seconds_bucket', 'le="0.5"'), '0+100x40'],
      [series('workspace_operator_webhook_duration_seconds_bucket', 'le="+Inf"'), '0+100x40'],
    ],
    evalTime: '20m',
    alert: 'WorkspaceOperatorWebhookSlow',
    fires: [],
  },
  {
    name: 'validators throwing',
    series: [[series('workspace_operator_webhook_errors_total', 'reason="validation_failed"'), '0+60x40']],
    evalTime: '20m',
    alert: 'WorkspaceOperatorWebhookErrors',
    fires: [{ labels: {}, value: '1' }],
  },
  {
    name: 'malformed reviews from a caller, which do not page',
    series: [[series('workspace_operator_webhook_errors_total', 'reason="malformed"'), '0+60x40']],
    evalTime: '20m',
    alert: 'WorkspaceOperatorWebhookErrors',
    fires: [],
  },
  {
    name: 'a certificate that expires in 10 days',
    // At 2h the gauge says 2h + 10 days.
    series: [
      [
        series('workspace_operator_webhook_certificate_expiration_timestamp_seconds', ''),
        `${7200 + 10 * 86400}x180`,
      ],
    ],
    evalTime: '2h',
    alert: 'WorkspaceOperatorCertificateExpiresSoon',
    fires: [{ labels: {}, value: '10d 0h 0m 0s' }],
  },
  {
    name: `a certificate that expires in ${THRESHOLDS.certificateDays + 1} days`,
    series: [
      [
        series('workspace_operator_webhook_certificate_expiration_timestamp_seconds', ''),
        `${7200 + (THRESHOLDS.certificateDays + 1) * 86400}x180`,
      ],
    ],
    evalTime: '2h',
    alert: 'WorkspaceOperatorCertificateExpiresSoon',
    fires: [],
  },
  {
    name: 'mail failing every minute; a counter that stays put does not page',
    series: [
      [series('workspace_operator_invitation_mail_failures_total', 'reason="send_failed"'), '0+1x60'],
      [series('workspace_operator_invitation_mail_failures_total', 'reason="not_configured"'), '5x60'],
    ],
    evalTime: '40m',
    alert: 'WorkspaceOperatorMailFailures',
    fires: [{ labels: { reason: 'send_failed' }, value: '15' }],
  },
  {
    name: 'mail failures that stopped long ago',
    series: [
      [series('workspace_operator_invitation_mail_failures_total', 'reason="send_failed"'), '0+1x10 10x50'],
    ],
    evalTime: '40m',
    alert: 'WorkspaceOperatorMailFailures',
    fires: [],
  },
  {
    name: 'a replica that cannot reach PostgreSQL, beside one that can',
    series: [
      [series('workspace_operator_database_up', ''), '0x20'],
      [
        `workspace_operator_database_up{namespace="${NAMESPACE}", pod="wsop-workspace-operator-7d9f-other"}`,
        '1x20',
      ],
    ],
    evalTime: '10m',
    alert: 'WorkspaceOperatorDatabaseUnreachable',
    fires: [{ labels: { pod: 'wsop-workspace-operator-7d9f-abcde' }, value: '0' }],
  },
  {
    name: 'PostgreSQL down for less than 5 minutes',
    series: [[series('workspace_operator_database_up', ''), '1x5 0x20']],
    evalTime: '9m',
    alert: 'WorkspaceOperatorDatabaseUnreachable',
    fires: [],
  },
];

describe('the alerting rules under promtool', () => {
  let dir: string;
  let promtool: string;

  beforeAll(async () => {
    promtool = await promtoolBinary();
    dir = mkdtempSync(join(tmpdir(), 'rules-'));
    writeFileSync(join(dir, 'rules.yaml'), stringify({ groups }));
  }, 900_000);

  it('are valid rules', async () => {
    const { stdout } = await run(promtool, ['check', 'rules', join(dir, 'rules.yaml')]);
    expect(stdout).toMatch(/SUCCESS: 7 rules found/);
  });

  it('fire on their conditions with their labels and annotations, and stay silent otherwise', async () => {
    const tests = CASES.map((c) => ({
      name: c.name,
      interval: '1m',
      input_series: c.series.map(([s, values]) => ({ series: s, values })),
      alert_rule_test: [
        {
          eval_time: c.evalTime,
          alertname: c.alert,
          exp_alerts: c.fires.map((f) => {
            const severity = ALERTS.find((a) => a.alert === c.alert)?.labels.severity ?? '';
            return {
              exp_labels: { ...f.labels, severity, team: 'platform' },
              exp_annotations: rendered(c.alert, f.labels, f.value),
            };
          }),
        },
      ],
    }));
    // Every alert is shown both firing and silent.
    for (const a of ALERTS) {
      expect(
        CASES.some((c) => c.alert === a.alert && c.fires.length > 0),
        a.alert,
      ).toBe(true);
      expect(
        CASES.some((c) => c.alert === a.alert && c.fires.length === 0),
        a.alert,
      ).toBe(true);
    }
    const file = join(dir, 'tests.yaml');
    writeFileSync(file, stringify({ rule_files: ['rules.yaml'], evaluation_interval: '1m', tests }));
    const result = await run(promtool, ['test', 'rules', file]).catch(
      (err: { stdout?: string; stderr?: string }) => err,
    );
    expect(`${result.stdout ?? ''}${result.stderr ?? ''}`).toMatch(/SUCCESS/);
  });
});

describe('the Grafana dashboard', () => {
  it('is a ConfigMap labelled for the sidecar, in the namespace asked for, holding the dashboard JSON', async () => {
    const docs = await render(RELEASE, NAMESPACE, {
      metrics: {
        grafanaDashboard: { enabled: true, namespace: 'monitoring', annotations: { grafana_folder: 'Ops' } },
      },
    });
    const maps = docs.filter((d) => d.kind === 'ConfigMap' && d.metadata.labels?.grafana_dashboard === '1');
    expect(maps).toHaveLength(1);
    const [map] = maps as (Manifest & { data: Record<string, string> })[];
    expect(map?.metadata.namespace).toBe('monitoring');
    expect(map?.metadata.annotations).toEqual({ grafana_folder: 'Ops' });
    const dashboard = JSON.parse(map?.data['workspace-operator.json'] ?? '') as {
      uid: string;
      panels: unknown[];
    };
    expect(dashboard.uid).toBe('workspace-operator');
    expect(dashboard.panels.length).toBe(DASHBOARD_ROWS.reduce((n, r) => n + 1 + r.panels.length, 0));
  });

  it('queries only metrics the operator exports, and every metric family has a panel', () => {
    const text = readFileSync(
      join(REPO_ROOT, 'charts/workspace-operator/files/grafana-dashboard.json'),
      'utf8',
    );
    const dashboard = JSON.parse(text) as { panels: { title: string; targets?: { expr: string }[] }[] };
    const read = new Set<string>();
    for (const p of dashboard.panels) {
      for (const t of p.targets ?? []) {
        for (const name of metricNames(t.expr)) {
          expect(KNOWN_SERIES, `${p.title} reads ${name}`).toContain(name);
          read.add(name.replace(/_(bucket|sum|count)$/, ''));
        }
      }
    }
    // Two latencies are shown once, through their twin: the API's through client-go's, the webhook's through the
    // operator's own (which the alert reads too).
    const shown = Object.keys(METRIC_CATALOG).filter((n) => read.has(n));
    expect(Object.keys(METRIC_CATALOG).filter((n) => !shown.includes(n))).toEqual([
      'controller_runtime_webhook_latency_seconds',
      'workspace_operator_api_request_duration_seconds',
    ]);
  });
});
