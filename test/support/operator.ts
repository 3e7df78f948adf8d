import { inject } from 'vitest';
import { loadConfig, type Config } from '../../operator/src/config.js';
import { KubeClient } from '../../operator/src/kube/client.js';
import { createLogger } from '../../operator/src/log.js';
import { Operator } from '../../operator/src/operator.js';
import { clientBinDir } from '../../operator/tools/local/postgres.js';

/** pg_dump and psql of this machine, for moves between servers (else the operator looks on PATH). */
function databaseTools(): Record<string, string> {
  try {
    return { DATABASE_TOOLS_DIR: clientBinDir() };
  } catch {
    return {};
  }
}

/** The label that gives each test file objects of its own: its operator watches only those. */
export const SHARD_LABEL = 'test.taskjuice.io/shard';

export interface TestOperatorOptions {
  shard: string;
  /** Namespace for the leader Lease. */
  leaseNamespace: string;
  env?: Record<string, string>;
  databaseUrl?: string;
  /** The clock of the controllers and the accept endpoint. */
  now?: () => Date;
  /** Where the operator's log lines go (stdout when not given), for tests that read them. */
  logTo?: NodeJS.WritableStream;
}

/**
 * The webhook client settings of the test cluster: its API server presents a client certificate to webhooks,
 * so test operators require it, as a production install should.
 */
function webhookClientEnvironment(): Record<string, string> {
  const client = inject('webhookClient');
  return client.caFile ? { WEBHOOK_CLIENT_CA_FILE: client.caFile, WEBHOOK_CLIENT_NAMES: client.name } : {};
}

/** The environment an operator of this test file runs with (also for operators started as a child process). */
export function testEnvironment(opts: TestOperatorOptions): Record<string, string> {
  return {
    DATABASE_URL: opts.databaseUrl ?? inject('databaseUrl'),
    WATCH_LABEL_SELECTOR: `${SHARD_LABEL}=${opts.shard}`,
    LEADER_ELECTION_NAMESPACE: opts.leaseNamespace,
    POD_NAMESPACE: opts.leaseNamespace,
    // Every test operator serves its webhook on a port of its own; only tests that register it are affected.
    WEBHOOK_PORT: '0',
    WEBHOOK_DNS_NAMES: 'localhost',
    WEBHOOK_IP_ADDRESSES: '127.0.0.1',
    WEBHOOK_CONFIGURATION_NAME: `webhook-${opts.shard}`,
    ...webhookClientEnvironment(),
    ...databaseTools(),
    ACCEPT_PORT: '0',
    LEADER_ELECTION_ID: `operator-${opts.shard}`,
    HTTP_BIND_ADDRESS: '127.0.0.1',
    HEALTH_PORT: '0',
    METRICS_PORT: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
    // Short leases: a killed test operator is replaced within seconds.
    LEADER_ELECTION_LEASE_DURATION_SECONDS: '3',
    LEADER_ELECTION_RENEW_DEADLINE_SECONDS: '2',
    LEADER_ELECTION_RETRY_PERIOD_SECONDS: '1',
    ...opts.env,
  };
}

/** An operator running in this test process, against the test cluster and database. */
export async function startOperator(
  opts: TestOperatorOptions,
): Promise<{ operator: Operator; config: Config }> {
  const config = loadConfig(testEnvironment(opts));
  const kube = await KubeClient.fromFile(inject('kubeconfig'));
  const log = createLogger(config.logLevel, opts.logTo, { shard: opts.shard });
  const operator = await Operator.start({ config, kube, log, now: opts.now });
  return { operator, config };
}
