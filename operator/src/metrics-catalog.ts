/**
 * Every metric family the operator exports beside Node's process metrics, with its type and label names: the
 * contract dashboards and alerts read. An integration test compares a running operator's /metrics with it, the
 * chart's tests check that every alert and dashboard query names only these, and docs/metrics.md lists them.
 */
export interface MetricFamily {
  type: 'counter' | 'gauge' | 'histogram';
  labels: readonly string[];
}

export const METRIC_CATALOG: Readonly<Record<string, MetricFamily>> = {
  // controller-runtime
  controller_runtime_reconcile_total: { type: 'counter', labels: ['controller', 'result'] },
  controller_runtime_reconcile_errors_total: { type: 'counter', labels: ['controller'] },
  controller_runtime_terminal_reconcile_errors_total: { type: 'counter', labels: ['controller'] },
  controller_runtime_reconcile_time_seconds: { type: 'histogram', labels: ['controller'] },
  controller_runtime_active_workers: { type: 'gauge', labels: ['controller'] },
  controller_runtime_max_concurrent_reconciles: { type: 'gauge', labels: ['controller'] },
  controller_runtime_webhook_requests_total: { type: 'counter', labels: ['code', 'webhook'] },
  controller_runtime_webhook_latency_seconds: { type: 'histogram', labels: ['webhook'] },
  controller_runtime_webhook_requests_in_flight: { type: 'gauge', labels: ['webhook'] },
  // client-go's work queue, with controller-runtime's labels
  workqueue_depth: { type: 'gauge', labels: ['name', 'controller'] },
  workqueue_adds_total: { type: 'counter', labels: ['name', 'controller'] },
  workqueue_retries_total: { type: 'counter', labels: ['name', 'controller'] },
  workqueue_queue_duration_seconds: { type: 'histogram', labels: ['name', 'controller'] },
  workqueue_work_duration_seconds: { type: 'histogram', labels: ['name', 'controller'] },
  workqueue_unfinished_work_seconds: { type: 'gauge', labels: ['name', 'controller'] },
  workqueue_longest_running_processor_seconds: { type: 'gauge', labels: ['name', 'controller'] },
  // client-go's REST client and leader election
  rest_client_requests_total: { type: 'counter', labels: ['code', 'method', 'host'] },
  rest_client_request_duration_seconds: { type: 'histogram', labels: ['verb', 'host'] },
  leader_election_master_status: { type: 'gauge', labels: ['name'] },
  // the operator's own
  workspace_operator_api_requests_total: { type: 'counter', labels: ['verb', 'resource', 'code'] },
  workspace_operator_api_request_duration_seconds: { type: 'histogram', labels: ['verb'] },
  workspace_operator_sql_statements_total: { type: 'counter', labels: ['operation'] },
  workspace_operator_database_up: { type: 'gauge', labels: [] },
  workspace_operator_database_pool_connections: { type: 'gauge', labels: ['state'] },
  workspace_operator_webhook_requests_total: { type: 'counter', labels: ['kind', 'operation', 'allowed'] },
  workspace_operator_webhook_duration_seconds: { type: 'histogram', labels: [] },
  workspace_operator_webhook_errors_total: { type: 'counter', labels: ['reason'] },
  workspace_operator_webhook_certificate_expiration_timestamp_seconds: { type: 'gauge', labels: [] },
  workspace_operator_invitation_mails_sent_total: { type: 'counter', labels: [] },
  workspace_operator_invitation_mail_failures_total: { type: 'counter', labels: ['reason'] },
  workspace_operator_workspace_provisioning_duration_seconds: { type: 'histogram', labels: [] },
  workspace_operator_workspaces: { type: 'gauge', labels: ['phase'] },
  workspace_operator_invitations: { type: 'gauge', labels: ['phase'] },
  workspace_operator_stalled_objects: { type: 'gauge', labels: ['kind', 'reason'] },
  workspace_operator_orphaned_objects: { type: 'gauge', labels: ['kind'] },
};

/** The series names a family's samples carry: a histogram's _bucket (with `le`), _sum and _count. */
export function seriesOf(name: string, family: MetricFamily): string[] {
  return family.type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name];
}
