import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

const base = { DATABASE_URL: 'postgres://op:secret@db.example:6543/workspaces' };

describe('loadConfig', () => {
  it('fills in defaults and derives the client host, port and database from DATABASE_URL', () => {
    const c = loadConfig(base);
    expect(c.plans).toEqual({ starter: 1, growth: 5, scale: 25 });
    expect(c.database).toMatchObject({
      clientHost: 'db.example',
      clientPort: 6543,
      databaseName: 'workspaces',
      namePrefix: 'ws',
    });
    expect(c.leaderElection).toMatchObject({ enabled: true, name: 'workspace-operator' });
    expect(c.http).toEqual({ bindAddress: '0.0.0.0', healthPort: 8081, metricsPort: 8080 });
  });

  it('names every bad variable and its rule in one error', () => {
    try {
      loadConfig({
        ...base,
        HEALTH_PORT: '70000',
        PLAN_CATALOG: '{"growth":"five"}',
        LEADER_ELECTION: 'maybe',
      });
      expect.unreachable();
    } catch (err) {
      const message = (err as Error).message;
      expect(message).toContain('HEALTH_PORT: must be from 0 to 65535');
      expect(message).toContain('PLAN_CATALOG.growth');
      expect(message).toContain('LEADER_ELECTION: must be true or false');
    }
  });

  it('requires DATABASE_URL and says what it is', () => {
    expect(() => loadConfig({})).toThrow(/DATABASE_URL: is required: the PostgreSQL connection string/);
  });

  it('rejects a plan catalog that is not JSON, saying what it should look like', () => {
    expect(() => loadConfig({ ...base, PLAN_CATALOG: 'starter=1' })).toThrow(
      /PLAN_CATALOG: must be JSON, e.g./,
    );
  });

  it('never echoes the database password in an error', () => {
    try {
      loadConfig({ DATABASE_URL: 'mysql://op:hunter2@db/x' });
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).not.toContain('hunter2');
    }
  });

  it('gives the accept endpoint a port and rate limits of its own, and asks no client certificate by default', () => {
    const c = loadConfig(base);
    expect(c.invitations).toMatchObject({
      acceptPort: 8443,
      acceptBaseUrl: 'https://workspace-operator-webhook.workspace-operator.svc:8443/accept',
      rate: { perSecond: 20, burst: 40, clientPerSecond: 5, clientBurst: 10 },
    });
    expect(c.webhook).toMatchObject({ port: 9443, clientCaFile: undefined, clientNames: [] });
  });

  it('reads the webhook client CA file and allowed names', () => {
    const c = loadConfig({ ...base, WEBHOOK_CLIENT_CA_FILE: '/ca/ca.crt', WEBHOOK_CLIENT_NAMES: 'a, b' });
    expect(c.webhook).toMatchObject({ clientCaFile: '/ca/ca.crt', clientNames: ['a', 'b'] });
  });

  it('refuses client names without a CA, and one port for the webhook and the public accept endpoint', () => {
    expect(() => loadConfig({ ...base, WEBHOOK_CLIENT_NAMES: 'a' })).toThrow(
      /WEBHOOK_CLIENT_NAMES: needs WEBHOOK_CLIENT_CA_FILE/,
    );
    expect(() => loadConfig({ ...base, ACCEPT_PORT: '9443' })).toThrow(
      /ACCEPT_PORT: must differ from WEBHOOK_PORT/,
    );
    expect(() => loadConfig({ ...base, ACCEPT_RATE_BURST: '0' })).toThrow(
      /ACCEPT_RATE_BURST: must be from 1/,
    );
  });

  it('bounds the operator and tenant sessions on the server by default, in milliseconds', () => {
    expect(loadConfig(base).database).toMatchObject({
      statementTimeoutMs: 30_000,
      lockTimeoutMs: 5_000,
      idleInTransactionTimeoutMs: 30_000,
      tenantConnectionLimit: 5,
      tenantStatementTimeoutMs: 60_000,
      tenantIdleInTransactionTimeoutMs: 60_000,
      allowSharedDatabases: false,
    });
    expect(loadConfig({ ...base, DATABASE_TENANT_STATEMENT_TIMEOUT_SECONDS: '0' }).database).toMatchObject({
      tenantStatementTimeoutMs: 0,
    });
  });

  it('refuses a lock timeout longer than the statement timeout, naming both variables', () => {
    expect(() =>
      loadConfig({ ...base, DATABASE_LOCK_TIMEOUT_SECONDS: '60', DATABASE_STATEMENT_TIMEOUT_SECONDS: '30' }),
    ).toThrow(/DATABASE_LOCK_TIMEOUT_SECONDS: must not be longer than DATABASE_STATEMENT_TIMEOUT_SECONDS/);
    expect(() => loadConfig({ ...base, DATABASE_STATEMENT_TIMEOUT_SECONDS: '0' })).toThrow(
      /DATABASE_STATEMENT_TIMEOUT_SECONDS: must be from 1 to 3600/,
    );
  });
});

describe('workspace guardrail settings', () => {
  it('default to Pod Security restricted, a quota and container defaults', () => {
    const c = loadConfig(base);
    expect(c.workspaces.podSecurityLevel).toBe('restricted');
    expect(c.workspaces.quota).toMatchObject({ 'requests.cpu': '4', pods: '50', 'services.nodeports': '0' });
    expect(c.workspaces.limitRange.defaultRequest).toEqual({ cpu: '100m', memory: '128Mi' });
    expect(c.rbac.staffClusterRole).toBe('taskjuice-workspace-staff');
    expect(c.rbac.clientClusterRole).toBe('taskjuice-workspace-client');
  });

  it('name the variable and the rule when a level, quota or limit range is wrong', () => {
    const message = (env: Record<string, string>) => {
      try {
        loadConfig({ ...base, ...env });
      } catch (err) {
        return (err as Error).message;
      }
      throw new Error('expected loadConfig to refuse');
    };
    expect(message({ POD_SECURITY_LEVEL: 'lax' })).toContain(
      'POD_SECURITY_LEVEL: must be a Pod Security level: privileged, baseline or restricted',
    );
    expect(message({ WORKSPACE_QUOTA: 'pods=5' })).toContain('WORKSPACE_QUOTA: must be JSON');
    expect(message({ WORKSPACE_QUOTA: '{"pods":"lots"}' })).toContain(
      'WORKSPACE_QUOTA.pods: must be a quantity',
    );
    expect(message({ WORKSPACE_QUOTA: '{"pods":5}' })).toContain('WORKSPACE_QUOTA.pods: must be a quantity');
    expect(message({ WORKSPACE_LIMIT_RANGE: '{"defaults":{}}' })).toContain('WORKSPACE_LIMIT_RANGE');
    expect(
      message({ WORKSPACE_LIMIT_RANGE: '{"defaultRequest":{"cpu":"2"},"default":{"cpu":"1"}}' }),
    ).toContain('WORKSPACE_LIMIT_RANGE.defaultRequest.cpu: must not exceed default.cpu (1)');
  });

  it('accept an empty quota and limit range, which turn them off', () => {
    const c = loadConfig({ ...base, WORKSPACE_QUOTA: '{}', WORKSPACE_LIMIT_RANGE: '{}' });
    expect(c.workspaces.quota).toEqual({});
    expect(c.workspaces.limitRange).toEqual({});
  });
});

describe('tracing settings', () => {
  it('are absent, tracing off, without an OTLP endpoint', () => {
    expect(loadConfig(base).tracing).toBeUndefined();
    expect(loadConfig({ ...base, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }).tracing).toBeUndefined();
  });

  it('post to /v1/traces under the general endpoint, or to the traces endpoint as given', () => {
    expect(loadConfig({ ...base, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).tracing).toEqual({
      url: 'http://collector:4318/v1/traces',
      protocol: 'http/protobuf',
      serviceName: 'workspace-operator',
      sampler: 'parentbased_always_on',
      samplerRatio: 1,
    });
    const both = loadConfig({
      ...base,
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example/otlp',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'operator-eu',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
    });
    expect(both.tracing).toEqual({
      url: 'https://traces.example/otlp',
      protocol: 'http/json',
      serviceName: 'operator-eu',
      sampler: 'parentbased_traceidratio',
      samplerRatio: 0.25,
    });
  });

  it('refuse gRPC, an unknown sampler and a ratio above one, naming each variable', () => {
    const load = () =>
      loadConfig({
        ...base,
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4317',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
        OTEL_TRACES_SAMPLER: 'sometimes',
        OTEL_TRACES_SAMPLER_ARG: '2',
      });
    expect(load).toThrow(
      /OTEL_EXPORTER_OTLP_PROTOCOL: must be http\/protobuf or http\/json \(grpc is not supported/,
    );
    expect(load).toThrow(/OTEL_TRACES_SAMPLER: must be one of always_on/);
    expect(load).toThrow(/OTEL_TRACES_SAMPLER_ARG: must be a number from 0 to 1/);
  });
});
