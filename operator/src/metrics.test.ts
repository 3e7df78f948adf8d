import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { METRIC_CATALOG } from './metrics-catalog.js';
import { Metrics, resourceOfPath } from './metrics.js';

describe('resourceOfPath', () => {
  it('names the resource and subresource a REST path addresses', () => {
    expect(resourceOfPath('/apis/coordination.k8s.io/v1/namespaces/x/leases/y')).toBe('leases');
    expect(resourceOfPath('/apis/taskjuice.io/v1alpha1/namespaces/acme/workspaces/web/status')).toBe(
      'workspaces/status',
    );
    expect(resourceOfPath('/api/v1/namespaces')).toBe('namespaces');
    expect(resourceOfPath('/api/v1/namespaces/acme')).toBe('namespaces');
    expect(resourceOfPath('/api/v1/namespaces/acme/secrets?watch=1')).toBe('secrets');
    expect(resourceOfPath('/apis/taskjuice.io/v1alpha1/accounts/acme/status')).toBe('accounts/status');
  });
});

describe('resourceOfPath with tenant-chosen names', () => {
  it('never puts a namespace or object name in the label, whatever the tenant called it', () => {
    const names = ['acme', 'workspaces', 'status', 'evil-1234567890', 'a'.repeat(63)];
    const labels = new Set<string>();
    for (const ns of names) {
      for (const name of names) {
        labels.add(resourceOfPath(`/api/v1/namespaces/${ns}`));
        labels.add(resourceOfPath(`/api/v1/namespaces/${ns}/secrets/${name}`));
        labels.add(resourceOfPath(`/apis/taskjuice.io/v1alpha1/namespaces/${ns}/workspaces/${name}/status`));
        labels.add(resourceOfPath(`/apis/taskjuice.io/v1alpha1/accounts/${name}`));
      }
    }
    expect([...labels].sort()).toEqual(['accounts', 'namespaces', 'secrets', 'workspaces/status']);
  });
});

describe('Metrics', () => {
  it("counts a request under client-go's labels and, with resource detail, under the operator's own", async () => {
    const m = new Metrics();
    m.observeApiRequest('apply', 200, 0.01, '/api/v1/namespaces/x/secrets/y', 'PATCH', '10.0.0.1:6443');
    m.observeApiRequest('get', 0, 0.01, '/api/v1/namespaces/x', 'GET', '10.0.0.1:6443');
    expect(
      await m.total('rest_client_requests_total', { code: '200', method: 'PATCH', host: '10.0.0.1:6443' }),
    ).toBe(1);
    expect(await m.total('rest_client_requests_total', { code: '<error>', method: 'GET' })).toBe(1);
    expect(
      await m.total('workspace_operator_api_requests_total', { verb: 'apply', resource: 'secrets' }),
    ).toBe(1);
    const latency = await m.registry.getSingleMetric('rest_client_request_duration_seconds')?.get();
    expect(new Set(latency?.values.map((v) => v.labels.verb))).toEqual(new Set(['PATCH', 'GET']));
  });

  it('reads the controller and queue gauges from what is tracked, when scraped', async () => {
    const m = new Metrics();
    let active = 3;
    m.trackController({ name: 'workspace', workers: 16, activeWorkers: () => active });
    m.trackQueue({
      name: 'workspace',
      depth: 7,
      unfinishedWorkSeconds: () => 1.5,
      longestRunningProcessorSeconds: () => 1,
    });
    expect(await m.total('controller_runtime_active_workers', { controller: 'workspace' })).toBe(3);
    active = 0;
    expect(await m.total('controller_runtime_active_workers', { controller: 'workspace' })).toBe(0);
    expect(await m.total('controller_runtime_max_concurrent_reconciles', { controller: 'workspace' })).toBe(
      16,
    );
    expect(await m.total('workqueue_depth', { name: 'workspace', controller: 'workspace' })).toBe(7);
    expect(await m.total('workqueue_unfinished_work_seconds', { name: 'workspace' })).toBe(1.5);
    expect(await m.total('workqueue_longest_running_processor_seconds', { name: 'workspace' })).toBe(1);
  });

  it('sums the pools it tracks per state', async () => {
    const m = new Metrics();
    m.trackPool(() => ({ total: 3, idle: 1, waiting: 0, max: 10 }));
    m.trackPool(() => ({ total: 2, idle: 2, waiting: 4, max: 5 }));
    expect(await m.total('workspace_operator_database_pool_connections', { state: 'total' })).toBe(5);
    expect(await m.total('workspace_operator_database_pool_connections', { state: 'idle' })).toBe(3);
    expect(await m.total('workspace_operator_database_pool_connections', { state: 'waiting' })).toBe(4);
    expect(await m.total('workspace_operator_database_pool_connections', { state: 'max' })).toBe(15);
  });

  it('forgets a scraped value that its source no longer reports', async () => {
    const m = new Metrics();
    let stalled = [{ kind: 'Workspace', reason: 'OverPlanLimit', count: 1 }];
    m.countFrom({ workspacePhases: () => ({}), invitationPhases: () => ({}), stalled: () => stalled });
    expect(await m.total('workspace_operator_stalled_objects', { reason: 'OverPlanLimit' })).toBe(1);
    stalled = [];
    const after = await m.registry.getSingleMetric('workspace_operator_stalled_objects')?.get();
    expect(after?.values).toEqual([]);
  });
});

describe('the metric catalog', () => {
  it('lists every family the Metrics class registers, with its type and label names', async () => {
    const m = new Metrics();
    const families = await m.registry.getMetricsAsJSON();
    const registered = Object.fromEntries(
      families.map((f) => [f.name, { type: String(f.type), labels: [...(metricLabels(m, f.name) ?? [])] }]),
    );
    expect(registered).toEqual(
      Object.fromEntries(
        Object.entries(METRIC_CATALOG).map(([n, f]) => [n, { type: f.type, labels: [...f.labels] }]),
      ),
    );
  });
});

/** The label names a metric was declared with (prom-client keeps them on the metric). */
function metricLabels(m: Metrics, name: string): readonly string[] | undefined {
  const metric = m.registry.getSingleMetric(name) as unknown as
    { labelNames?: readonly string[] } | undefined;
  return metric?.labelNames;
}

describe('docs/metrics.md', () => {
  it('lists every metric of the catalog with its labels', () => {
    const doc = readFileSync(
      join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'metrics.md'),
      'utf8',
    );
    for (const [name, family] of Object.entries(METRIC_CATALOG)) {
      const row = doc.split('\n').find((line) => line.startsWith(`| \`${name}\``));
      expect(row, name).toBeDefined();
      expect(row, name).toContain(` ${family.type} `);
      for (const label of family.labels) expect(row, `${name} ${label}`).toContain(`\`${label}\``);
    }
  });
});
