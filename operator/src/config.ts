import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { OperatorError } from './errors.js';
import { QUANTITY, quantityValue } from './api/quantity.js';

/**
 * How long a watch may stay silent before it is taken for dead: the API server sends a watch that allows bookmarks
 * one about every minute (61 s measured on a quiet resource), so two minutes without anything is a connection that
 * dropped without closing (a NAT or proxy that forgot it), not a quiet resource.
 */
export const WATCH_IDLE_SECONDS = 130;

/**
 * The operator's configuration: the only module that reads the environment. Every variable is parsed once, at
 * start-up; a bad value stops the operator with one message per variable that names it and says the rule.
 */

/** A whole number from `min` to `max`, `fallback` when unset; `what` names it in the error. */
const wholeNumber = (what: string, min: number, max: number, fallback: number) =>
  z.coerce
    .number({ message: `must be ${what}` })
    .int('must be a whole number')
    .min(min, `must be from ${min} to ${max}`)
    .max(max, `must be from ${min} to ${max}`)
    .default(fallback);

const port = (fallback: number) => wholeNumber('a port number', 0, 65535, fallback);

const positiveInt = (fallback: number, max: number) => wholeNumber('a number', 1, max, fallback);

/** Zero switches the setting off. */
const seconds = (fallback: number, max: number) => wholeNumber('a number of seconds', 0, max, fallback);

const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');

const sqlIdentifier = (fallback: string, max: number) =>
  z
    .string()
    .regex(
      new RegExp(`^[a-z][a-z0-9_]{0,${max - 1}}$`),
      `must be a lower-case SQL name of at most ${max} characters`,
    )
    .default(fallback);

const clusterRoleName = (fallback: string) =>
  z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9.:]*[a-z0-9])?$/, 'must be a ClusterRole name')
    .default(fallback);

const PlanCatalog = z
  .string()
  .default('{"starter":1,"growth":5,"scale":25}')
  .transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be JSON, e.g. {"starter":1,"growth":5,"scale":25}' });
      return z.NEVER;
    }
  })
  .pipe(
    z.record(
      z
        .string()
        .regex(/^[a-z0-9][-a-z0-9]{0,62}$/, 'plan names must be lower-case words of at most 63 characters'),
      z.number().int('workspace limits must be whole numbers').min(0).max(100000),
      { message: 'must be a JSON object of plan name to workspace limit' },
    ),
  );

/** A JSON setting: the text is parsed, then checked against `schema`; bad JSON gets `example` in its message. */
const jsonSetting = <T extends z.ZodType>(fallback: string, example: string, schema: T) =>
  z
    .string()
    .default(fallback)
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: `must be JSON, e.g. ${example}` });
        return z.NEVER;
      }
    })
    .pipe(schema);

const Quantity = z
  .string({ message: 'must be a quantity in a string, e.g. "500m" or "8Gi"' })
  .regex(QUANTITY, 'must be a quantity, e.g. "500m", "4" or "8Gi"');

const resourceName = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9./]*[a-z0-9])?$/, 'keys must be resource names, e.g. requests.cpu');

const Quantities = (what: string) =>
  z.record(resourceName, Quantity, { message: `must be a JSON object of ${what} to quantity` });

export const DEFAULT_WORKSPACE_QUOTA = {
  'requests.cpu': '4',
  'requests.memory': '8Gi',
  'limits.cpu': '8',
  'limits.memory': '16Gi',
  pods: '50',
  persistentvolumeclaims: '10',
  'requests.storage': '100Gi',
  'services.loadbalancers': '0',
  'services.nodeports': '0',
};

export const DEFAULT_WORKSPACE_LIMIT_RANGE = {
  defaultRequest: { cpu: '100m', memory: '128Mi' },
  default: { cpu: '500m', memory: '512Mi' },
};

const LimitRangeSetting = z
  .strictObject(
    {
      default: Quantities('resource').optional(),
      defaultRequest: Quantities('resource').optional(),
      min: Quantities('resource').optional(),
      max: Quantities('resource').optional(),
    },
    { message: 'must be a JSON object with default, defaultRequest, min and max (each optional)' },
  )
  .superRefine((lr, ctx) => {
    // The API server refuses a LimitRange whose default request exceeds its default limit; say so at start-up.
    for (const [resource, request] of Object.entries(lr.defaultRequest ?? {})) {
      const limit = lr.default?.[resource];
      if (limit !== undefined && (quantityValue(request) ?? 0) > (quantityValue(limit) ?? 0)) {
        ctx.addIssue({
          code: 'custom',
          path: ['defaultRequest', resource],
          message: `must not exceed default.${resource} (${limit})`,
        });
      }
    }
  });

/** OTLP over HTTP only: the gRPC exporter would add a gRPC stack for what a collector also takes over HTTP. */
const OtlpProtocol = z.enum(['http/protobuf', 'http/json'], {
  message: "must be http/protobuf or http/json (grpc is not supported: use the collector's HTTP port, 4318)",
});

const TRACES_SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;

const Environment = z.object({
  DATABASE_URL: z
    .string({
      message: 'is required: the PostgreSQL connection string, e.g. postgres://user:password@host:5432/db',
    })
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// connection string'),
  DATABASE_CLIENT_HOST: z.string().min(1).optional(),
  DATABASE_CLIENT_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  DATABASE_CLIENT_SSLMODE: z
    .enum(['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'], {
      message: 'must be a libpq sslmode: disable, allow, prefer, require, verify-ca or verify-full',
    })
    .optional(),
  // The CA (PEM) that signed the server's certificate, handed to workspaces as ca.crt for sslmode=verify-full.
  DATABASE_CLIENT_CA_FILE: z.string().min(1).optional(),
  DATABASE_POOL_SIZE: positiveInt(10, 200),
  // How many workspaces placement puts on the DATABASE_URL server, unless a DatabaseServer named default says.
  DATABASE_CAPACITY: positiveInt(10000, 1000000),
  // Where pg_dump and psql are, for moving workspaces between servers (default: PATH).
  DATABASE_TOOLS_DIR: z.string().min(1).optional(),
  // Workspaces moved at once (a drain moves this many at a time).
  DATABASE_MOVE_CONCURRENCY: positiveInt(2, 100),
  DATABASE_NAME_PREFIX: sqlIdentifier('ws', 8),
  DATABASE_TENANT_GROUP: sqlIdentifier('workspace_tenants', 63),
  // Sessions of the operator end on the server after these (SPEC 4b: tenants must not be able to stall it).
  DATABASE_STATEMENT_TIMEOUT_SECONDS: positiveInt(30, 3600),
  DATABASE_LOCK_TIMEOUT_SECONDS: positiveInt(5, 3600),
  DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_SECONDS: positiveInt(30, 3600),
  // Per workspace role; docs/security.md has the sizing rule (tenants × limit against max_connections).
  DATABASE_TENANT_CONNECTION_LIMIT: positiveInt(5, 10000),
  DATABASE_TENANT_STATEMENT_TIMEOUT_SECONDS: seconds(60, 86400),
  DATABASE_TENANT_IDLE_IN_TRANSACTION_TIMEOUT_SECONDS: seconds(60, 86400),
  DATABASE_ALLOW_SHARED_DATABASES: bool(false),
  DRIFT_CHECK_INTERVAL_SECONDS: positiveInt(600, 86400),
  PLAN_CATALOG: PlanCatalog,
  WATCH_LABEL_SELECTOR: z.string().optional(),
  LEADER_ELECTION: bool(true),
  LEADER_ELECTION_NAMESPACE: z.string().optional(),
  LEADER_ELECTION_ID: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'must be a Lease name')
    .default('workspace-operator'),
  LEADER_ELECTION_LEASE_DURATION_SECONDS: positiveInt(15, 3600),
  LEADER_ELECTION_RENEW_DEADLINE_SECONDS: positiveInt(10, 3600),
  LEADER_ELECTION_RETRY_PERIOD_SECONDS: positiveInt(2, 3600),
  POD_NAME: z.string().optional(),
  POD_NAMESPACE: z.string().optional(),
  RECONCILE_WORKERS: positiveInt(16, 256),
  HTTP_BIND_ADDRESS: z.string().default('0.0.0.0'),
  HEALTH_PORT: port(8081),
  METRICS_PORT: port(8080),
  LOG_LEVEL: z
    .enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], {
      message: 'must be one of trace, debug, info, warn, error, fatal, silent',
    })
    .default('info'),
  WATCH_TIMEOUT_SECONDS: positiveInt(600, 3600),
  WATCH_IDLE_SECONDS: positiveInt(WATCH_IDLE_SECONDS, 3600),
  STAFF_CLUSTER_ROLE: clusterRoleName('taskjuice-workspace-staff'),
  CLIENT_CLUSTER_ROLE: clusterRoleName('taskjuice-workspace-client'),
  POD_SECURITY_LEVEL: z
    .enum(['privileged', 'baseline', 'restricted'], {
      message: 'must be a Pod Security level: privileged, baseline or restricted',
    })
    .default('restricted'),
  WORKSPACE_QUOTA: jsonSetting(
    JSON.stringify(DEFAULT_WORKSPACE_QUOTA),
    '{"requests.cpu":"4","pods":"50"} ({} for no quota)',
    Quantities('resource name'),
  ),
  WORKSPACE_LIMIT_RANGE: jsonSetting(
    JSON.stringify(DEFAULT_WORKSPACE_LIMIT_RANGE),
    '{"defaultRequest":{"cpu":"100m"},"default":{"cpu":"500m"}} ({} for none)',
    LimitRangeSetting,
  ),
  ACCOUNT_MANAGER_CLUSTER_ROLE: clusterRoleName('taskjuice-account-manager'),
  ACCOUNT_MEMBER_CLUSTER_ROLE: clusterRoleName('taskjuice-account-member'),
  WEBHOOK_ENABLED: bool(true),
  WEBHOOK_PORT: port(9443),
  WEBHOOK_CERT_MODE: z
    .enum(['self-signed', 'files'], {
      message: 'must be self-signed (the operator keeps its own CA) or files (cert-manager)',
    })
    .default('self-signed'),
  WEBHOOK_CERT_DIR: z.string().default('/tmp/k8s-webhook-server/serving-certs'),
  WEBHOOK_SECRET_NAME: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'must be a Secret name')
    .default('workspace-operator-webhook-tls'),
  WEBHOOK_CONFIGURATION_NAME: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'must be a ValidatingWebhookConfiguration name')
    .default('workspace-operator'),
  WEBHOOK_SERVICE_NAME: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a Service name')
    .default('workspace-operator-webhook'),
  WEBHOOK_DNS_NAMES: z.string().optional(),
  WEBHOOK_IP_ADDRESSES: z.string().optional(),
  WEBHOOK_CERT_VALIDITY_DAYS: positiveInt(90, 3650),
  WEBHOOK_CLIENT_CA_FILE: z.string().min(1).optional(),
  WEBHOOK_CLIENT_NAMES: z.string().optional(),
  ACCEPT_PORT: port(8443),
  ACCEPT_RATE_PER_SECOND: positiveInt(20, 100000),
  ACCEPT_RATE_BURST: positiveInt(40, 100000),
  ACCEPT_CLIENT_RATE_PER_SECOND: positiveInt(5, 100000),
  ACCEPT_CLIENT_RATE_BURST: positiveInt(10, 100000),
  // A claim is only reclaimed once no request that made it can still be in flight: the API server gives up on a
  // request after 60 s (--request-timeout), so the default leaves a margin beyond that.
  CLAIM_GRACE_SECONDS: positiveInt(90, 86400),
  ACCEPT_BASE_URL: z
    .url({ message: 'must be an https:// URL, e.g. https://portal.example.com/accept' })
    .optional(),
  INVITATION_TTL_HOURS: positiveInt(168, 8760),
  // Development only: with no SMTP server, write invitation links (tokens included) to the log.
  INVITATION_LINKS_IN_LOG: bool(false),
  SMTP_HOST: z.string().min(1).optional(),
  SMTP_PORT: port(587),
  SMTP_SECURE: bool(false),
  SMTP_USERNAME: z.string().optional(),
  SMTP_PASSWORD: z.string().optional(),
  SMTP_FROM: z.string().optional(),
  SMTP_TLS_REJECT_UNAUTHORIZED: bool(true),
  // OpenTelemetry's own variable names, so the usual collector set-ups (and the SDK's docs) apply as they are.
  OTEL_EXPORTER_OTLP_ENDPOINT: z
    .url({ message: 'must be a URL, e.g. http://otel-collector:4318' })
    .optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z
    .url({ message: 'must be a URL, e.g. http://otel-collector:4318/v1/traces' })
    .optional(),
  OTEL_EXPORTER_OTLP_PROTOCOL: OtlpProtocol.optional(),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: OtlpProtocol.optional(),
  OTEL_SERVICE_NAME: z.string().max(253, 'must be at most 253 characters').default('workspace-operator'),
  OTEL_TRACES_SAMPLER: z
    .enum(TRACES_SAMPLERS, { message: `must be one of ${TRACES_SAMPLERS.join(', ')}` })
    .default('parentbased_always_on'),
  OTEL_TRACES_SAMPLER_ARG: z.coerce
    .number({ message: 'must be a number from 0 to 1' })
    .min(0, 'must be a number from 0 to 1')
    .max(1, 'must be a number from 0 to 1')
    .default(1),
});

export interface Config {
  database: {
    url: string;
    /** Host and port that workspaces use to reach the database (written into their Secrets). */
    clientHost: string;
    clientPort: number;
    clientSslMode: string | undefined;
    /** File of the server's CA certificate, copied into workspaces' Secrets as ca.crt. */
    clientCaFile: string | undefined;
    databaseName: string;
    poolSize: number;
    /** Workspaces placement puts on the DATABASE_URL server (a DatabaseServer named default overrides it). */
    defaultCapacity: number;
    /** pg_dump and psql for moves; undefined: found on PATH. */
    toolsDir: string | undefined;
    moveConcurrency: number;
    namePrefix: string;
    tenantGroup: string;
    tenantConnectionLimit: number;
    /** Defaults set on each workspace role (ALTER ROLE … SET); 0: the server's default. */
    tenantStatementTimeoutMs: number;
    tenantIdleInTransactionTimeoutMs: number;
    /** Server-side limits of the operator's own sessions. */
    statementTimeoutMs: number;
    lockTimeoutMs: number;
    idleInTransactionTimeoutMs: number;
    /** Start although tenants may connect to other databases of the server (a warning instead of a refusal). */
    allowSharedDatabases: boolean;
    driftCheckIntervalMs: number;
  };
  plans: Record<string, number>;
  watchLabelSelector: string | undefined;
  leaderElection: {
    enabled: boolean;
    namespace: string;
    name: string;
    identity: string;
    leaseDurationMs: number;
    renewDeadlineMs: number;
    retryPeriodMs: number;
  };
  workers: number;
  http: { bindAddress: string; healthPort: number; metricsPort: number };
  logLevel: string;
  watchTimeoutSeconds: number;
  /** Silence on a watch (not even a bookmark) after which it counts as dead and is opened again. */
  watchIdleSeconds: number;
  rbac: {
    staffClusterRole: string;
    clientClusterRole: string;
    accountManagerClusterRole: string;
    accountMemberClusterRole: string;
  };
  /** What bounds the workloads of every workspace namespace. */
  workspaces: {
    /** Pod Security level enforced (and audited, and warned about) in workspace and home namespaces. */
    podSecurityLevel: 'privileged' | 'baseline' | 'restricted';
    /** `hard` of each workspace namespace's ResourceQuota; empty: no quota. */
    quota: Record<string, string>;
    /** The container limits of each workspace namespace's LimitRange; empty: no LimitRange. */
    limitRange: {
      default?: Record<string, string> | undefined;
      defaultRequest?: Record<string, string> | undefined;
      min?: Record<string, string> | undefined;
      max?: Record<string, string> | undefined;
    };
  };
  /** The namespace the operator runs in (its Secrets and Lease live there). */
  namespace: string;
  webhook: {
    enabled: boolean;
    port: number;
    certMode: 'self-signed' | 'files';
    certDir: string;
    secretName: string;
    configurationName: string;
    serviceName: string;
    dnsNames: string[];
    ipAddresses: string[];
    certValidityDays: number;
    /**
     * The CA bundle (a file, re-read when it changes) that the API server's client certificate must chain to.
     * Absent: the webhook does not ask for a client certificate.
     */
    clientCaFile: string | undefined;
    /** Common names or DNS SANs a client certificate must carry; empty: any certificate the CA signed. */
    clientNames: string[];
    /** How long a staff/client claim may exist without the object that backs it before it is reclaimed. */
    claimGraceMs: number;
  };
  invitations: {
    acceptBaseUrl: string;
    ttlMs: number;
    /** Development only: links (with their tokens) go to the log when no SMTP server is configured. */
    linksInLog: boolean;
    /** The accept endpoint's own HTTPS listener: public, so apart from the webhook's. */
    acceptPort: number;
    /** Token buckets for /accept: over all callers, and per client address. */
    rate: { perSecond: number; burst: number; clientPerSecond: number; clientBurst: number };
  };
  /** Absent: invitations are not sent (or, with invitations.linksInLog, their links go to the log). */
  smtp:
    | {
        host: string;
        port: number;
        secure: boolean;
        username?: string | undefined;
        password?: string | undefined;
        from: string;
        rejectUnauthorized: boolean;
      }
    | undefined;
  /** Absent: no OTLP endpoint is set, and tracing is off (no SDK loaded, every span a plain call). */
  tracing: TracingSettings | undefined;
}

export interface TracingSettings {
  /** Where spans are posted: the traces endpoint as given, or `/v1/traces` under the general endpoint. */
  url: string;
  protocol: 'http/protobuf' | 'http/json';
  serviceName: string;
  sampler: (typeof TRACES_SAMPLERS)[number];
  /** The ratio of the `traceidratio` samplers. */
  samplerRatio: number;
}

/** OpenTelemetry's rule: the signal's own endpoint is used as is, the general one gets the signal's path. */
function tracesUrl(traces: string | undefined, general: string | undefined): string | undefined {
  if (traces) return traces;
  if (!general) return undefined;
  return general.endsWith('/') ? `${general}v1/traces` : `${general}/v1/traces`;
}

const list = (value: string | undefined): string[] =>
  (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

function formatIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || 'environment'}: ${i.message}`).join('; ');
}

/** Parses the environment; throws an OperatorError with code Config naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const parsed = Environment.safeParse(
    Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== '')),
  );
  if (!parsed.success)
    throw new OperatorError('Config', `invalid configuration: ${formatIssues(parsed.error)}`);
  const e = parsed.data;
  let url: URL;
  try {
    url = new URL(e.DATABASE_URL);
  } catch {
    throw new OperatorError('Config', 'invalid configuration: DATABASE_URL: is not a valid URL');
  }
  if (e.LEADER_ELECTION_RENEW_DEADLINE_SECONDS >= e.LEADER_ELECTION_LEASE_DURATION_SECONDS) {
    throw new OperatorError(
      'Config',
      'invalid configuration: LEADER_ELECTION_RENEW_DEADLINE_SECONDS: must be shorter than LEADER_ELECTION_LEASE_DURATION_SECONDS',
    );
  }
  if (e.DATABASE_LOCK_TIMEOUT_SECONDS > e.DATABASE_STATEMENT_TIMEOUT_SECONDS) {
    throw new OperatorError(
      'Config',
      'invalid configuration: DATABASE_LOCK_TIMEOUT_SECONDS: must not be longer than DATABASE_STATEMENT_TIMEOUT_SECONDS',
    );
  }
  if (e.SMTP_HOST && !e.SMTP_FROM) {
    throw new OperatorError(
      'Config',
      'invalid configuration: SMTP_FROM: is required when SMTP_HOST is set (the sender address)',
    );
  }
  if (e.WEBHOOK_CLIENT_NAMES && !e.WEBHOOK_CLIENT_CA_FILE) {
    throw new OperatorError(
      'Config',
      'invalid configuration: WEBHOOK_CLIENT_NAMES: needs WEBHOOK_CLIENT_CA_FILE (names are checked on verified certificates)',
    );
  }
  if (e.ACCEPT_PORT !== 0 && e.ACCEPT_PORT === e.WEBHOOK_PORT) {
    throw new OperatorError(
      'Config',
      'invalid configuration: ACCEPT_PORT: must differ from WEBHOOK_PORT (the accept endpoint is public, the webhook is not)',
    );
  }
  if ((e.SMTP_USERNAME === undefined) !== (e.SMTP_PASSWORD === undefined)) {
    throw new OperatorError(
      'Config',
      'invalid configuration: SMTP_USERNAME and SMTP_PASSWORD: set both or neither',
    );
  }
  const namespace = e.POD_NAMESPACE ?? 'workspace-operator';
  const traces = tracesUrl(e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, e.OTEL_EXPORTER_OTLP_ENDPOINT);
  const service = `${e.WEBHOOK_SERVICE_NAME}.${namespace}.svc`;
  const databaseName = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!databaseName)
    throw new OperatorError('Config', 'invalid configuration: DATABASE_URL: must name a database');
  return {
    database: {
      url: e.DATABASE_URL,
      clientHost: e.DATABASE_CLIENT_HOST ?? url.hostname,
      clientPort: e.DATABASE_CLIENT_PORT ?? (url.port ? Number(url.port) : 5432),
      clientSslMode: e.DATABASE_CLIENT_SSLMODE,
      clientCaFile: e.DATABASE_CLIENT_CA_FILE,
      databaseName,
      poolSize: e.DATABASE_POOL_SIZE,
      defaultCapacity: e.DATABASE_CAPACITY,
      toolsDir: e.DATABASE_TOOLS_DIR,
      moveConcurrency: e.DATABASE_MOVE_CONCURRENCY,
      namePrefix: e.DATABASE_NAME_PREFIX,
      tenantGroup: e.DATABASE_TENANT_GROUP,
      tenantConnectionLimit: e.DATABASE_TENANT_CONNECTION_LIMIT,
      tenantStatementTimeoutMs: e.DATABASE_TENANT_STATEMENT_TIMEOUT_SECONDS * 1000,
      tenantIdleInTransactionTimeoutMs: e.DATABASE_TENANT_IDLE_IN_TRANSACTION_TIMEOUT_SECONDS * 1000,
      statementTimeoutMs: e.DATABASE_STATEMENT_TIMEOUT_SECONDS * 1000,
      lockTimeoutMs: e.DATABASE_LOCK_TIMEOUT_SECONDS * 1000,
      idleInTransactionTimeoutMs: e.DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_SECONDS * 1000,
      allowSharedDatabases: e.DATABASE_ALLOW_SHARED_DATABASES,
      driftCheckIntervalMs: e.DRIFT_CHECK_INTERVAL_SECONDS * 1000,
    },
    plans: e.PLAN_CATALOG,
    watchLabelSelector: e.WATCH_LABEL_SELECTOR,
    leaderElection: {
      enabled: e.LEADER_ELECTION,
      namespace: e.LEADER_ELECTION_NAMESPACE ?? namespace,
      name: e.LEADER_ELECTION_ID,
      identity: e.POD_NAME ?? `${hostname()}-${randomBytes(3).toString('hex')}`,
      leaseDurationMs: e.LEADER_ELECTION_LEASE_DURATION_SECONDS * 1000,
      renewDeadlineMs: e.LEADER_ELECTION_RENEW_DEADLINE_SECONDS * 1000,
      retryPeriodMs: e.LEADER_ELECTION_RETRY_PERIOD_SECONDS * 1000,
    },
    workers: e.RECONCILE_WORKERS,
    http: { bindAddress: e.HTTP_BIND_ADDRESS, healthPort: e.HEALTH_PORT, metricsPort: e.METRICS_PORT },
    logLevel: e.LOG_LEVEL,
    watchTimeoutSeconds: e.WATCH_TIMEOUT_SECONDS,
    watchIdleSeconds: e.WATCH_IDLE_SECONDS,
    rbac: {
      staffClusterRole: e.STAFF_CLUSTER_ROLE,
      clientClusterRole: e.CLIENT_CLUSTER_ROLE,
      accountManagerClusterRole: e.ACCOUNT_MANAGER_CLUSTER_ROLE,
      accountMemberClusterRole: e.ACCOUNT_MEMBER_CLUSTER_ROLE,
    },
    workspaces: {
      podSecurityLevel: e.POD_SECURITY_LEVEL,
      quota: e.WORKSPACE_QUOTA,
      limitRange: e.WORKSPACE_LIMIT_RANGE,
    },
    namespace,
    webhook: {
      enabled: e.WEBHOOK_ENABLED,
      port: e.WEBHOOK_PORT,
      certMode: e.WEBHOOK_CERT_MODE,
      certDir: e.WEBHOOK_CERT_DIR,
      secretName: e.WEBHOOK_SECRET_NAME,
      configurationName: e.WEBHOOK_CONFIGURATION_NAME,
      serviceName: e.WEBHOOK_SERVICE_NAME,
      dnsNames: e.WEBHOOK_DNS_NAMES ? list(e.WEBHOOK_DNS_NAMES) : [service, `${service}.cluster.local`],
      ipAddresses: list(e.WEBHOOK_IP_ADDRESSES),
      certValidityDays: e.WEBHOOK_CERT_VALIDITY_DAYS,
      clientCaFile: e.WEBHOOK_CLIENT_CA_FILE,
      clientNames: list(e.WEBHOOK_CLIENT_NAMES),
      claimGraceMs: e.CLAIM_GRACE_SECONDS * 1000,
    },
    invitations: {
      acceptBaseUrl: e.ACCEPT_BASE_URL ?? `https://${service}:${e.ACCEPT_PORT}/accept`,
      ttlMs: e.INVITATION_TTL_HOURS * 3_600_000,
      linksInLog: e.INVITATION_LINKS_IN_LOG,
      acceptPort: e.ACCEPT_PORT,
      rate: {
        perSecond: e.ACCEPT_RATE_PER_SECOND,
        burst: e.ACCEPT_RATE_BURST,
        clientPerSecond: e.ACCEPT_CLIENT_RATE_PER_SECOND,
        clientBurst: e.ACCEPT_CLIENT_RATE_BURST,
      },
    },
    smtp: e.SMTP_HOST
      ? {
          host: e.SMTP_HOST,
          port: e.SMTP_PORT,
          secure: e.SMTP_SECURE,
          username: e.SMTP_USERNAME,
          password: e.SMTP_PASSWORD,
          from: e.SMTP_FROM ?? '',
          rejectUnauthorized: e.SMTP_TLS_REJECT_UNAUTHORIZED,
        }
      : undefined,
    tracing: traces
      ? {
          url: traces,
          protocol: e.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? e.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf',
          serviceName: e.OTEL_SERVICE_NAME,
          sampler: e.OTEL_TRACES_SAMPLER,
          samplerRatio: e.OTEL_TRACES_SAMPLER_ARG,
        }
      : undefined,
  };
}
