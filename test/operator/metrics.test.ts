import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Api } from '../../operator/src/kube/api.js';
import { Resources } from '../../operator/src/kube/resources.js';
import { METRIC_CATALOG, seriesOf } from '../../operator/src/metrics-catalog.js';
import type { Operator } from '../../operator/src/operator.js';
import { adminApi, eventually, uniqueName } from '../support/env.js';
import { createAccount, createWorkspace, waitCondition, waitReady } from '../support/fixtures.js';
import { SHARD_LABEL, startOperator } from '../support/operator.js';
import { startOperatorWithWebhook } from '../support/webhook.js';

/** One sample of the text exposition format. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses what /metrics answers: the declared type of each family, and every sample with its labels. */
function parseExposition(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1] ?? '', type[2] ?? '');
    if (line.startsWith('#') || line.trim() === '') continue;
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    expect(sample, `a sample line: ${line}`).not.toBeNull();
    const labels: Record<string, string> = {};
    for (const m of (sample?.[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[m[1] ?? ''] = m[2] ?? '';
    }
    samples.push({ name: sample?.[1] ?? '', labels, value: Number(sample?.[3]) });
  }
  return { types, samples };
}

let api: Api;
let operator: Operator;
let stop: () => Promise<void> = async () => {};
const shard = uniqueName('metrics');
const account = `${shard}-acme`;
let scraped: ReturnType<typeof parseExposition>;

const values = (name: string, match: Record<string, string> = {}) =>
  scraped.samples
    .filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .map((s) => s.value);

beforeAll(async () => {
  api = await adminApi();
  // The webhook registered for the account, so that its objects' creates are reviewed. No SMTP and no
  // INVITATION_LINKS_IN_LOG: an invitation cannot be sent, which the mail metrics must show.
  ({ operator, stop } = await startOperatorWithWebhook({ api, shard, accounts: [account] }));
  await createAccount(api, shard, account);
  await waitReady(api, Resources.Account, undefined, account);
  await createWorkspace(api, shard, account, 'web');
  await waitReady(api, Resources.Workspace, account, 'web');
  await api.create(Resources.ClientInvitation, {
    metadata: { name: 'dana', namespace: account, labels: { [SHARD_LABEL]: shard } },
    spec: { workspace: 'web', email: `dana@${account}.example` },
  });
  await waitCondition(api, Resources.ClientInvitation, account, 'dana', 'Stalled', 'True');
  await eventually('the webhook serving', async () => operator.webhook);
  // The invitation is Stalled between passes that try again (each writes Reconciling first): take a scrape that
  // caught it Stalled.
  scraped = await eventually('a scrape with the Stalled invitation', async () => {
    const res = await fetch(`http://127.0.0.1:${operator.metricsPort}/metrics`);
    expect(res.status).toBe(200);
    const parsed = parseExposition(await res.text());
    const stalled = parsed.samples.find(
      (s) => s.name === 'workspace_operator_stalled_objects' && s.labels.kind === 'ClientInvitation',
    );
    return stalled?.value === 1 ? parsed : undefined;
  });
});

afterAll(async () => {
  await stop();
  api.client.close();
});

describe("a running operator's /metrics", () => {
  it('declares every family of the catalog with its type, and nothing else beside the process metrics', () => {
    for (const [name, family] of Object.entries(METRIC_CATALOG)) {
      expect(scraped.types.get(name), name).toBe(family.type);
    }
    const own = [...scraped.types.keys()].filter((n) => !/^(process|nodejs)_/.test(n));
    expect(own.sort()).toEqual(Object.keys(METRIC_CATALOG).sort());
  });

  it("labels every sample with exactly its family's label names (a histogram's buckets also le)", () => {
    const expected = new Map<string, string[]>();
    for (const [name, family] of Object.entries(METRIC_CATALOG)) {
      for (const series of seriesOf(name, family)) {
        expected.set(series, [...family.labels, ...(series.endsWith('_bucket') ? ['le'] : [])].sort());
      }
    }
    let checked = 0;
    for (const sample of scraped.samples) {
      const labels = expected.get(sample.name);
      if (!labels) continue;
      expect(Object.keys(sample.labels).sort(), sample.name).toEqual(labels);
      checked++;
    }
    expect(checked).toBeGreaterThan(100);
  });

  it("counts API requests under client-go's code, method and host, and keeps verb and resource apart", () => {
    const host = new URL(api.client.server).host;
    const requests = scraped.samples.filter((s) => s.name === 'rest_client_requests_total');
    expect(requests.length).toBeGreaterThan(0);
    for (const s of requests) {
      expect(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']).toContain(s.labels.method);
      expect(s.labels.host).toBe(host);
      expect(s.labels.code).toMatch(/^(\d{3}|<error>)$/);
    }
    expect(values('rest_client_requests_total', { method: 'PATCH', code: '200' })[0]).toBeGreaterThan(0);
    const statusWrites = values('workspace_operator_api_requests_total', { resource: 'workspaces/status' });
    expect(statusWrites.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  });

  it('reports the controllers and their queues under the names controller-runtime gives them', () => {
    for (const controller of ['account', 'workspace', 'invitation', 'connection']) {
      expect(values('controller_runtime_max_concurrent_reconciles', { controller })).toEqual([16]);
      expect(values('controller_runtime_active_workers', { controller })).toHaveLength(1);
      expect(values('workqueue_depth', { name: controller, controller })).toHaveLength(1);
    }
    expect(values('workqueue_adds_total', { name: 'workspace' })[0]).toBeGreaterThan(0);
    expect(values('workqueue_queue_duration_seconds_count', { name: 'workspace' })[0]).toBeGreaterThan(0);
    expect(values('workqueue_work_duration_seconds_count', { name: 'workspace' })[0]).toBeGreaterThan(0);
    // The invitation that cannot be sent is a terminal error: a condition for a person, not a retry.
    expect(
      values('controller_runtime_terminal_reconcile_errors_total', { controller: 'invitation' })[0],
    ).toBeGreaterThan(0);
    expect(values('leader_election_master_status', { name: `operator-${shard}` })).toEqual([1]);
  });

  it('counts workspaces and invitations by phase, the Stalled invitation, and the mail that could not be sent', () => {
    expect(values('workspace_operator_workspaces', { phase: 'Ready' })).toEqual([1]);
    expect(
      scraped.samples
        .filter((s) => s.name === 'workspace_operator_workspaces')
        .map((s) => s.labels.phase)
        .sort(),
    ).toEqual(['Deleting', 'Failed', 'Provisioning', 'Ready', 'Unknown']);
    expect(values('workspace_operator_invitations', { phase: 'Rejected' }).length).toBe(1);
    expect(
      values('workspace_operator_stalled_objects', { kind: 'ClientInvitation', reason: 'MailNotConfigured' }),
    ).toEqual([1]);
    // Each pass counts its mail failure before its controller counts the terminal error; a scrape may fall between.
    const failures =
      values('workspace_operator_invitation_mail_failures_total', { reason: 'not_configured' })[0] ?? 0;
    const terminal =
      values('controller_runtime_terminal_reconcile_errors_total', { controller: 'invitation' })[0] ?? 0;
    expect(terminal).toBeGreaterThan(0);
    expect(failures).toBeGreaterThanOrEqual(terminal);
    expect(values('workspace_operator_invitation_mails_sent_total')).toEqual([0]);
  });

  it('tries an invitation it has no way to send once per revision, not again and again', async () => {
    // The file's one invitation without mail: its failed attempt changed its status, which used to queue it for
    // another attempt, a new token and another failure (8 by this point, in a run before the fix).
    const failures = () =>
      operator.metrics.total('workspace_operator_invitation_mail_failures_total', {
        reason: 'not_configured',
      });
    expect(await failures()).toBe(1);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await failures()).toBe(1);
  });

  it("answers admission reviews under controller-runtime's webhook metrics too", () => {
    expect(
      values('controller_runtime_webhook_requests_total', { webhook: '/validate', code: '200' })[0],
    ).toBeGreaterThan(0);
    expect(
      values('controller_runtime_webhook_latency_seconds_count', { webhook: '/validate' })[0],
    ).toBeGreaterThan(0);
    expect(values('controller_runtime_webhook_requests_in_flight', { webhook: '/validate' })).toEqual([0]);
    expect(
      values('workspace_operator_webhook_requests_total', { kind: 'Workspace', allowed: 'true' })[0],
    ).toBeGreaterThan(0);
  });

  it('reports the database up, its pool, a provisioned workspace and the webhook certificate expiry', () => {
    expect(values('workspace_operator_database_up')).toEqual([1]);
    expect(values('workspace_operator_database_pool_connections', { state: 'max' })).toEqual([10]);
    expect(values('workspace_operator_database_pool_connections', { state: 'total' })[0]).toBeGreaterThan(0);
    expect(values('workspace_operator_workspace_provisioning_duration_seconds_count')).toEqual([1]);
    const expiry = values('workspace_operator_webhook_certificate_expiration_timestamp_seconds')[0] ?? 0;
    expect(expiry).toBeGreaterThan(Date.now() / 1000 + 30 * 86_400);
  });
});

describe('an operator without its webhook', () => {
  it('queues nothing for the claims controller, which runs only with the webhook', async () => {
    const quiet = uniqueName('nohook');
    const leaseNamespace = uniqueName('lease');
    await api.create(Resources.Namespace, { metadata: { name: leaseNamespace } });
    const { operator: plain } = await startOperator({
      shard: quiet,
      leaseNamespace,
      env: { WEBHOOK_ENABLED: 'false' },
    });
    try {
      const acct = `${quiet}-acme`;
      await createAccount(api, quiet, acct);
      await waitReady(api, Resources.Account, undefined, acct);
      await api.create(Resources.ClientInvitation, {
        metadata: { name: 'dana', namespace: acct, labels: { [SHARD_LABEL]: quiet } },
        spec: { workspace: 'web', email: `dana@${acct}.example` },
      });
      // The account and invitation controllers have seen both; a claims queue fed by them would hold the account.
      await eventually('the invitation to be seen', async () =>
        (await plain.metrics.total('workqueue_adds_total', { name: 'invitation' })) > 0 ? true : undefined,
      );
      expect(await plain.metrics.total('workqueue_adds_total', { name: 'account' })).toBeGreaterThan(0);
      expect(await plain.metrics.total('workqueue_depth', { name: 'claims' })).toBe(0);
      expect(await plain.metrics.total('workqueue_adds_total', { name: 'claims' })).toBe(0);
    } finally {
      await plain.stop();
      await api.delete(Resources.Namespace, { name: leaseNamespace }).catch(() => undefined);
    }
  });
});
