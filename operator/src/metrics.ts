import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The operator's Prometheus metrics, in a registry of its own (two operators in one test process must not share
 * counters). Names follow controller-runtime's, so existing dashboards read them.
 */
export class Metrics {
  readonly registry = new Registry();

  readonly reconciles = new Counter({
    name: 'controller_runtime_reconcile_total',
    help: 'Reconciles per controller and result (success, error, requeue, requeue_after).',
    labelNames: ['controller', 'result'] as const,
    registers: [this.registry],
  });

  readonly reconcileErrors = new Counter({
    name: 'controller_runtime_reconcile_errors_total',
    help: 'Reconciles that ended in an error, per controller.',
    labelNames: ['controller'] as const,
    registers: [this.registry],
  });

  readonly reconcileSeconds = new Histogram({
    name: 'controller_runtime_reconcile_time_seconds',
    help: 'Time one reconcile takes, per controller.',
    labelNames: ['controller'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly queueDepth = new Gauge({
    name: 'workqueue_depth',
    help: 'Keys waiting in a work queue, per controller.',
    labelNames: ['name'] as const,
    registers: [this.registry],
  });

  readonly queueInFlight = new Gauge({
    name: 'workqueue_unfinished_work',
    help: 'Keys being reconciled now, per controller.',
    labelNames: ['name'] as const,
    registers: [this.registry],
  });

  readonly apiRequests = new Counter({
    name: 'rest_client_requests_total',
    help: 'Requests to the Kubernetes API per verb, resource (plural, with subresource) and HTTP status code.',
    labelNames: ['verb', 'resource', 'code'] as const,
    registers: [this.registry],
  });

  readonly apiRequestSeconds = new Histogram({
    name: 'rest_client_request_duration_seconds',
    help: 'Latency of requests to the Kubernetes API per verb.',
    labelNames: ['verb'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
    registers: [this.registry],
  });

  readonly sqlStatements = new Counter({
    name: 'workspace_operator_sql_statements_total',
    help: 'Round trips to PostgreSQL per operation (provision, rotate, drop, inventory, bootstrap, ping).',
    labelNames: ['operation'] as const,
    registers: [this.registry],
  });

  readonly leader = new Gauge({
    name: 'leader_election_master_status',
    help: '1 while this replica holds the leader Lease.',
    labelNames: ['name'] as const,
    registers: [this.registry],
  });

  readonly webhookRequests = new Counter({
    name: 'workspace_operator_webhook_requests_total',
    help: 'Admission reviews per kind, operation and verdict.',
    labelNames: ['kind', 'operation', 'allowed'] as const,
    registers: [this.registry],
  });

  readonly webhookSeconds = new Histogram({
    name: 'workspace_operator_webhook_duration_seconds',
    help: 'Time to answer an admission review.',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
    registers: [this.registry],
  });

  readonly orphans = new Gauge({
    name: 'workspace_operator_orphaned_objects',
    help: 'Namespaces, schemas and roles the operator made for workspaces that no longer exist (kind: namespace, schema, role).',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  constructor(opts: { processMetrics?: boolean } = {}) {
    if (opts.processMetrics) collectDefaultMetrics({ register: this.registry });
  }

  observeApiRequest = (verb: string, status: number, seconds: number, path: string): void => {
    this.apiRequests.inc({ verb, resource: resourceOfPath(path), code: String(status) });
    this.apiRequestSeconds.observe({ verb }, seconds);
  };

  /** Sum of a counter's values whose labels match, for the benchmark and tests. */
  async total(name: string, match: Record<string, string> = {}): Promise<number> {
    const metric = await this.registry.getSingleMetric(name)?.get();
    let sum = 0;
    for (const v of metric?.values ?? []) {
      if (Object.entries(match).every(([k, want]) => String(v.labels[k]) === want)) sum += v.value;
    }
    return sum;
  }
}

/**
 * The resource a REST path addresses: `/apis/coordination.k8s.io/v1/namespaces/x/leases/y` is `leases`,
 * `…/workspaces/y/status` is `workspaces/status`.
 */
export function resourceOfPath(path: string): string {
  const parts = path.split('?')[0]?.split('/').filter(Boolean) ?? [];
  // /api/v1/... or /apis/group/version/...
  let rest = parts[0] === 'api' ? parts.slice(2) : parts.slice(3);
  if (rest[0] === 'namespaces' && rest.length > 2) rest = rest.slice(2);
  const [plural, , subresource] = rest;
  if (!plural) return 'unknown';
  return subresource ? `${plural}/${subresource}` : plural;
}
