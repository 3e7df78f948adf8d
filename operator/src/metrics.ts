import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** client-go's buckets for queue and work durations: 10 ns to 1,000 s, by tens. */
const QUEUE_BUCKETS = Array.from({ length: 12 }, (_, i) => Number((1e-8 * 10 ** i).toPrecision(1)));

/** What a controller tells the metrics at scrape time. */
export interface ControllerStats {
  readonly name: string;
  readonly workers: number;
  activeWorkers(): number;
}

/** What a work queue tells the metrics at scrape time. */
export interface QueueStats {
  readonly name: string;
  readonly depth: number;
  unfinishedWorkSeconds(): number;
  longestRunningProcessorSeconds(): number;
}

/** What a work queue reports as it goes, client-go's queue metrics provider. */
export interface QueueMetrics {
  add(): void;
  retry(): void;
  /** Seconds a key waited between its add and a worker taking it. */
  waited(seconds: number): void;
  /** Seconds a worker held a key. */
  worked(seconds: number): void;
}

export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
  max: number;
}

/** The counts of the operator's kinds, read from the caches at scrape time (label values already bounded). */
export interface DomainSources {
  workspacePhases(): Record<string, number>;
  invitationPhases(): Record<string, number>;
  stalled(): { kind: string; reason: string; count: number }[];
}

/**
 * The operator's Prometheus metrics, in a registry of its own (two operators in one test process must not share
 * counters). The controller, work queue and REST client metrics carry controller-runtime's and client-go's names
 * and labels exactly, so dashboards made for Go operators read them; the operator's own are workspace_operator_*.
 * docs/metrics.md lists every one.
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

  readonly terminalErrors = new Counter({
    name: 'controller_runtime_terminal_reconcile_errors_total',
    help: 'Reconciles that ended in an error a person must fix (not retried), per controller.',
    labelNames: ['controller'] as const,
    registers: [this.registry],
  });

  private readonly controllers: ControllerStats[] = [];
  private readonly queues: QueueStats[] = [];

  /** controller-runtime's gauges, read from the controllers at scrape time. */
  readonly activeWorkers = this.scraped(
    'controller_runtime_active_workers',
    'Number of currently used workers per controller.',
    ['controller'],
    (set) => {
      for (const c of this.controllers) set({ controller: c.name }, c.activeWorkers());
    },
  );

  readonly maxConcurrentReconciles = this.scraped(
    'controller_runtime_max_concurrent_reconciles',
    'Maximum number of concurrent reconciles per controller.',
    ['controller'],
    (set) => {
      for (const c of this.controllers) set({ controller: c.name }, c.workers);
    },
  );

  /** client-go's work queue metrics, with controller-runtime's labels (`name` and `controller` both the controller). */
  readonly queueDepth = this.scraped(
    'workqueue_depth',
    'Current depth of workqueue.',
    ['name', 'controller'],
    (set) => {
      for (const q of this.queues) set({ name: q.name, controller: q.name }, q.depth);
    },
  );

  readonly queueUnfinishedSeconds = this.scraped(
    'workqueue_unfinished_work_seconds',
    "How many seconds of work has been done that is in progress and hasn't been observed by work_duration. Large values indicate stuck threads.",
    ['name', 'controller'],
    (set) => {
      for (const q of this.queues) set({ name: q.name, controller: q.name }, q.unfinishedWorkSeconds());
    },
  );

  readonly queueLongestRunningSeconds = this.scraped(
    'workqueue_longest_running_processor_seconds',
    'How many seconds has the longest running processor for workqueue been running.',
    ['name', 'controller'],
    (set) => {
      for (const q of this.queues)
        set({ name: q.name, controller: q.name }, q.longestRunningProcessorSeconds());
    },
  );

  readonly queueAdds = new Counter({
    name: 'workqueue_adds_total',
    help: 'Total number of adds handled by workqueue.',
    labelNames: ['name', 'controller'] as const,
    registers: [this.registry],
  });

  readonly queueRetries = new Counter({
    name: 'workqueue_retries_total',
    help: 'Total number of retries handled by workqueue.',
    labelNames: ['name', 'controller'] as const,
    registers: [this.registry],
  });

  readonly queueWaitSeconds = new Histogram({
    name: 'workqueue_queue_duration_seconds',
    help: 'How long in seconds an item stays in workqueue before being requested.',
    labelNames: ['name', 'controller'] as const,
    buckets: QUEUE_BUCKETS,
    registers: [this.registry],
  });

  readonly queueWorkSeconds = new Histogram({
    name: 'workqueue_work_duration_seconds',
    help: 'How long in seconds processing an item from workqueue takes.',
    labelNames: ['name', 'controller'] as const,
    buckets: QUEUE_BUCKETS,
    registers: [this.registry],
  });

  /** client-go's: every request to the Kubernetes API by HTTP status code, method and API server host. */
  readonly restRequests = new Counter({
    name: 'rest_client_requests_total',
    help: 'Number of HTTP requests, partitioned by status code, method, and host.',
    labelNames: ['code', 'method', 'host'] as const,
    registers: [this.registry],
  });

  /** client-go's request latency; its `verb` label is the HTTP method. */
  readonly restRequestSeconds = new Histogram({
    name: 'rest_client_request_duration_seconds',
    help: 'Request latency in seconds. Broken down by verb (the HTTP method), and host.',
    labelNames: ['verb', 'host'] as const,
    buckets: [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60],
    registers: [this.registry],
  });

  /** The same requests with the detail client-go's labels lack: the Kubernetes verb and the resource. */
  readonly apiRequests = new Counter({
    name: 'workspace_operator_api_requests_total',
    help: 'Requests to the Kubernetes API per verb (get, list, watch, create, update, patch, apply, delete), resource (plural, with subresource) and HTTP status code (0: no answer).',
    labelNames: ['verb', 'resource', 'code'] as const,
    registers: [this.registry],
  });

  readonly apiRequestSeconds = new Histogram({
    name: 'workspace_operator_api_request_duration_seconds',
    help: 'Latency of requests to the Kubernetes API per verb (a watch: until its answer began).',
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

  private leaderSource: { name: string; isLeader(): boolean } | undefined;

  /** client-go's leader election gauge, per Lease name, read at scrape time. */
  readonly leader = this.scraped(
    'leader_election_master_status',
    "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master. 'name' is the string used to identify the lease.",
    ['name'],
    (set) => {
      if (this.leaderSource) set({ name: this.leaderSource.name }, this.leaderSource.isLeader() ? 1 : 0);
    },
  );

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

  /** controller-runtime's webhook metrics, for dashboards made for Go webhooks; `webhook` is the path. */
  readonly webhookResponses = new Counter({
    name: 'controller_runtime_webhook_requests_total',
    help: 'Total number of admission requests by HTTP status code.',
    labelNames: ['code', 'webhook'] as const,
    registers: [this.registry],
  });

  readonly webhookLatency = new Histogram({
    name: 'controller_runtime_webhook_latency_seconds',
    help: 'Histogram of the latency of processing admission requests.',
    labelNames: ['webhook'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly webhookInFlight = new Gauge({
    name: 'controller_runtime_webhook_requests_in_flight',
    help: 'Current number of admission requests being served.',
    labelNames: ['webhook'] as const,
    registers: [this.registry],
  });

  readonly webhookErrors = new Counter({
    name: 'workspace_operator_webhook_errors_total',
    help: 'Admission reviews answered without a decision on the object: bad_request (not a review, HTTP 400), malformed (a review that does not parse, denied) or validation_failed (a validator threw, denied).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly webhookCertificateExpiry = new Gauge({
    name: 'workspace_operator_webhook_certificate_expiration_timestamp_seconds',
    help: 'When the serving certificate of the webhook and the accept endpoint expires, in seconds since the Unix epoch.',
    registers: [this.registry],
  });

  readonly mailsSent = new Counter({
    name: 'workspace_operator_invitation_mails_sent_total',
    help: 'Invitation emails handed to the mailer successfully.',
    registers: [this.registry],
  });

  readonly mailFailures = new Counter({
    name: 'workspace_operator_invitation_mail_failures_total',
    help: 'Invitation emails that could not be sent, per reason: send_failed (the SMTP relay refused or was unreachable; retried) or not_configured (no SMTP server; the invitation is Stalled).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly provisioningSeconds = new Histogram({
    name: 'workspace_operator_workspace_provisioning_duration_seconds',
    help: 'Time from the moment the leader first saw a new Workspace until it reported Ready.',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
    registers: [this.registry],
  });

  readonly databaseUp = new Gauge({
    name: 'workspace_operator_database_up',
    help: 'Whether PostgreSQL answered the last time the operator used it (1) or not (0). An idle operator sends no SQL, so an outage shows once something needs the database.',
    registers: [this.registry],
  });

  private readonly pools: (() => PoolStats)[] = [];

  readonly poolConnections = this.scraped(
    'workspace_operator_database_pool_connections',
    "Connections of the operator's PostgreSQL pool, per state: total (open), idle, waiting (callers waiting for a connection), max (the pool size).",
    ['state'],
    (set) => {
      const sum: PoolStats = { total: 0, idle: 0, waiting: 0, max: 0 };
      for (const read of this.pools) {
        const p = read();
        sum.total += p.total;
        sum.idle += p.idle;
        sum.waiting += p.waiting;
        sum.max += p.max;
      }
      for (const [state, n] of Object.entries(sum)) set({ state }, n);
    },
  );

  /** What the gauges of the operator's kinds read at scrape time (the manager gives them the caches). */
  private domain: DomainSources | undefined;

  readonly workspacesByPhase = this.scraped(
    'workspace_operator_workspaces',
    'Workspaces in the caches per status.phase (Provisioning, Ready, Failed, Deleting; Unknown before the first status).',
    ['phase'],
    (set) => {
      for (const [phase, n] of Object.entries(this.domain?.workspacePhases() ?? {})) set({ phase }, n);
    },
  );

  readonly invitationsByPhase = this.scraped(
    'workspace_operator_invitations',
    'ClientInvitations in the caches per status.phase (Pending, Accepted, Expired, Revoked, Rejected; Unknown before the first status).',
    ['phase'],
    (set) => {
      for (const [phase, n] of Object.entries(this.domain?.invitationPhases() ?? {})) set({ phase }, n);
    },
  );

  readonly stalled = this.scraped(
    'workspace_operator_stalled_objects',
    'Objects whose Stalled condition is True (an error a person must fix), per kind and reason (a reason the operator does not write counts as Other).',
    ['kind', 'reason'],
    (set) => {
      for (const s of this.domain?.stalled() ?? []) set({ kind: s.kind, reason: s.reason }, s.count);
    },
  );

  constructor(opts: { processMetrics?: boolean } = {}) {
    if (opts.processMetrics) collectDefaultMetrics({ register: this.registry });
  }

  /** A controller, for controller-runtime's worker gauges. */
  trackController(stats: ControllerStats): void {
    this.controllers.push(stats);
  }

  /** A work queue: its gauges are read at scrape time, and what it reports goes into client-go's metrics. */
  trackQueue(stats: QueueStats): QueueMetrics {
    this.queues.push(stats);
    const labels = { name: stats.name, controller: stats.name };
    return {
      add: () => this.queueAdds.inc(labels),
      retry: () => this.queueRetries.inc(labels),
      waited: (seconds) => this.queueWaitSeconds.observe(labels, seconds),
      worked: (seconds) => this.queueWorkSeconds.observe(labels, seconds),
    };
  }

  /** The leader election of this replica, by its Lease's name. */
  trackLeader(name: string, isLeader: () => boolean): void {
    this.leaderSource = { name, isLeader };
  }

  /** A PostgreSQL pool; several are summed. */
  trackPool(read: () => PoolStats): void {
    this.pools.push(read);
  }

  /** Where the gauges of workspaces, invitations and stalled objects read their counts. */
  countFrom(domain: DomainSources): void {
    this.domain = domain;
  }

  observeApiRequest = (
    verb: string,
    status: number,
    seconds: number,
    path: string,
    method = 'GET',
    host = '',
  ): void => {
    // client-go's label for a request that got no answer.
    const code = status === 0 ? '<error>' : String(status);
    this.restRequests.inc({ code, method, host });
    this.restRequestSeconds.observe({ verb: method, host }, seconds);
    this.apiRequests.inc({ verb, resource: resourceOfPath(path), code: String(status) });
    this.apiRequestSeconds.observe({ verb }, seconds);
  };

  /** A gauge whose values are computed at scrape time by `fill`; values not filled in are not exported. */
  private scraped<L extends string>(
    name: string,
    help: string,
    labelNames: L[],
    fill: (set: (labels: Record<L, string>, value: number) => void) => void,
  ): Gauge<L> {
    return new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        this.reset();
        fill((labels, value) => this.set(labels as Partial<Record<L, string>>, value));
      },
    });
  }

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
