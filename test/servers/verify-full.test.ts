/**
 * The server's CA in workspaces' Secrets, for sslmode=verify-full (issue 15, item 9). Two PostgreSQL servers of this
 * file's own accept TLS with certificates of one test CA: the operator's default server, whose CA comes from
 * DATABASE_CLIENT_CA_FILE, and a DatabaseServer whose CA comes from spec.clientCA (a Secret that, like
 * CloudNativePG's <cluster>-ca, also holds the CA's key). A workspace on each must get the CA as ca.crt, and an
 * application that mounts it and verifies the server connects; one that trusts another CA is refused, so the
 * check is real. The CA's key never reaches a workspace.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Api } from '../../operator/src/kube/api.js';
import { Resources } from '../../operator/src/kube/resources.js';
import type { Operator } from '../../operator/src/operator.js';
import { createAuthority, issueCertificate, type KeyPair } from '../../operator/src/tls/pki.js';
import { startPostgres, type LocalPostgres } from '../../operator/tools/local/postgres.js';
import { adminApi, eventually, uniqueName } from '../support/env.js';
import { createAccount, createWorkspace, read, secretData, waitReady } from '../support/fixtures.js';
import { SHARD_LABEL, startOperator } from '../support/operator.js';
import { workspaceNamespace } from '../../operator/src/db/names.js';

const shard = uniqueName('tls');
const leaseNs = uniqueName('lease');
const account = uniqueName('tls');
const serverB = `${shard}-b`;
const labels = { [SHARD_LABEL]: shard };
let api: Api;
let operator: Operator;
let ca: KeyPair;
let a: LocalPostgres;
let b: LocalPostgres;
let folder: string;

/** Connects as an application would: the Secret's uri, with sslrootcert naming the mounted CA file. */
async function connectVerifying(data: Record<string, string>, caFile: string): Promise<void> {
  const client = new pg.Client({ connectionString: `${data.uri}&sslrootcert=${encodeURIComponent(caFile)}` });
  await client.connect();
  try {
    const { rows } = await client.query<{ ssl: boolean }>(
      'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
    );
    expect(rows[0]?.ssl).toBe(true);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  api = await adminApi();
  folder = join(inject('runDir'), shard);
  mkdirSync(folder, { recursive: true });
  ca = await createAuthority('test PostgreSQL CA', { days: 1 });
  const tls = await issueCertificate(ca, {
    commonName: '127.0.0.1',
    ipAddresses: ['127.0.0.1'],
    dnsNames: ['localhost'],
    usage: 'server',
    validFor: { days: 1 },
  });
  [a, b] = await Promise.all([
    startPostgres(join(folder, 'a'), undefined, { tls }),
    startPostgres(join(folder, 'b'), undefined, { tls }),
  ]);
  const caFile = join(folder, 'operator-ca.crt');
  writeFileSync(caFile, ca.certificate);
  await api.create(Resources.Namespace, { metadata: { name: leaseNs } });
  await api.create(Resources.Secret, {
    metadata: { name: 'pg-b', namespace: leaseNs },
    stringData: { uri: b.operatorUrl },
  });
  await api.create(Resources.Secret, {
    metadata: { name: 'pg-b-ca', namespace: leaseNs },
    stringData: { 'ca.crt': ca.certificate, 'ca.key': ca.privateKey },
  });
  ({ operator } = await startOperator({
    shard,
    leaseNamespace: leaseNs,
    databaseUrl: a.operatorUrl,
    env: { DATABASE_CLIENT_SSLMODE: 'verify-full', DATABASE_CLIENT_CA_FILE: caFile },
  }));
  await createAccount(api, shard, account, { plan: 'growth' });
});

afterAll(async () => {
  await operator?.stop();
  await api.delete(Resources.DatabaseServer, { name: serverB }).catch(() => undefined);
  await Promise.all([a?.stop(), b?.stop()]);
  await api.delete(Resources.Namespace, { name: leaseNs }).catch(() => undefined);
});

describe("the server's CA in workspaces' Secrets", () => {
  it('comes from DATABASE_CLIENT_CA_FILE for the default server, and lets an application verify the server', async () => {
    await createWorkspace(api, shard, account, 'home');
    await waitReady(api, Resources.Workspace, account, 'home');
    const data = await secretData(api, workspaceNamespace(account, 'home'), 'database-credentials');
    expect(data['ca.crt']).toBe(ca.certificate);
    expect(data.uri).toContain('sslmode=verify-full');
    expect(data.port).toBe(String(a.port));
    const mounted = join(folder, 'home-ca.crt');
    writeFileSync(mounted, data['ca.crt'] ?? '');
    await connectVerifying(data, mounted);
    // An application that trusts another CA does not get in: the server's certificate is really checked.
    const other = await createAuthority('another CA', { days: 1 });
    const wrong = join(folder, 'other-ca.crt');
    writeFileSync(wrong, other.certificate);
    await expect(connectVerifying(data, wrong)).rejects.toThrow(
      /self[- ]signed|unable to verify|certificate/i,
    );
  });

  it("comes from spec.clientCA for a DatabaseServer, without the CA's key", async () => {
    // The account is pinned to server b by a label rather than by cordoning the suite's `default`: DatabaseServers
    // are cluster-scoped, and test/servers/placement.test.ts, which may run beside this file, cordons `default` too.
    const pin = { 'test.taskjuice.io/tls-server': shard };
    await api.mergePatch(
      Resources.Account,
      { name: account },
      { spec: { databaseServerSelector: { matchLabels: pin } } },
    );
    await api.create(Resources.DatabaseServer, {
      metadata: { name: serverB, labels: { ...labels, ...pin } },
      spec: { connectionSecret: { name: 'pg-b' }, clientCA: { name: 'pg-b-ca' } },
    });
    await waitReady(api, Resources.DatabaseServer, undefined, serverB);
    await createWorkspace(api, shard, account, 'placed');
    await waitReady(api, Resources.Workspace, account, 'placed');
    const placed = await read(api, Resources.Workspace, account, 'placed');
    expect((placed?.status as { databaseServer?: string } | undefined)?.databaseServer).toBe(serverB);
    const data = await eventually('the Secret to reach server b', async () => {
      const d = await secretData(api, workspaceNamespace(account, 'placed'), 'database-credentials');
      return d.port === String(b.port) ? d : undefined;
    });
    expect(data['ca.crt']).toBe(ca.certificate);
    expect(Object.values(data).some((v) => v.includes('PRIVATE KEY'))).toBe(false);
    const mounted = join(folder, 'placed-ca.crt');
    writeFileSync(mounted, data['ca.crt'] ?? '');
    await connectVerifying(data, mounted);
  });
});
