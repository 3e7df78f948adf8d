/**
 * Attacks on the operator's HTTPS listeners: forged admission reviews sent straight to the webhook port, the
 * listeners' routes crossed, and oversized or flooding requests to the public accept endpoint.
 */
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { parse } from 'yaml';
import { Labels } from '../../operator/src/api/v1alpha1/group.js';
import type { AcceptResult } from '../../operator/src/invitations/accept.js';
import { ACCEPT_MAX_BODY_BYTES } from '../../operator/src/invitations/accept-server.js';
import type { Api } from '../../operator/src/kube/api.js';
import { Resources } from '../../operator/src/kube/resources.js';
import type { Operator } from '../../operator/src/operator.js';
import { createAuthority, issueCertificate } from '../../operator/src/tls/pki.js';
import { createLogger } from '../../operator/src/log.js';
import { CLAIM_COMPONENT } from '../../operator/src/domain/claims.js';
import { resolvePlan } from '../../operator/src/domain/plans.js';
import { WebhookServer } from '../../operator/src/webhook/server.js';
import type { WebhookView } from '../../operator/src/webhook/view.js';
import { adminApi, eventually, rejection, uniqueName } from '../support/env.js';
import { createAccount, createWorkspace, waitReady } from '../support/fixtures.js';
import { SHARD_LABEL } from '../support/operator.js';
import { TestSmtpServer, tokenOf } from '../support/smtp.js';
import { apiServerClientTls, startOperatorWithWebhook } from '../support/webhook.js';

const shard = uniqueName('sec');
const account = `${shard}-acme`;
const forged = `${shard}-forged`;
const owner = `olivia@${account}.example`;
const smtp = new TestSmtpServer();
let api: Api;
let operator: Operator;
let operatorNs: string;
let servingCa: string;
let stop: () => Promise<void> = async () => {};

beforeAll(async () => {
  api = await adminApi();
  await smtp.start();
  ({ operator, operatorNs, stop } = await startOperatorWithWebhook({
    api,
    shard,
    accounts: [account, forged],
    env: { ...smtp.env(), ACCEPT_BASE_URL: 'https://portal.example/accept' },
  }));
  await createAccount(api, shard, account, { teammates: [{ email: owner, role: 'Owner' }] });
  await createWorkspace(api, shard, account, 'web');
  await waitReady(api, Resources.Workspace, account, 'web');
  servingCa = (await operator.webhook!.certificates.current()).caBundle;
});

afterAll(async () => {
  await stop();
  await smtp.stop();
  api.client.close();
});

interface Reply {
  status?: number;
  text?: string;
  headers?: Record<string, string | string[] | undefined>;
  /** Set when the connection was refused (the TLS handshake, or reset before an answer). */
  error?: string;
}

function request(
  port: number,
  path: string,
  body: string | Buffer,
  tls: { cert?: string; key?: string } = {},
  method = 'POST',
): Promise<Reply> {
  return new Promise((resolve) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method,
        ca: servingCa,
        servername: 'localhost',
        ...tls,
        agent: false,
        headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text, headers: res.headers }));
        res.on('error', (err) => resolve({ error: err.message }));
      },
    );
    req.on('error', (err) => resolve({ error: err.message }));
    req.end(body);
  });
}

const review = (request: Record<string, unknown>) =>
  JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request });

/** An Account CREATE with many teammates: answered, it would reserve a claim ConfigMap for each. */
const forgedCreate = review({
  uid: 'forged-create',
  kind: { group: 'taskjuice.io', version: 'v1alpha1', kind: 'Account' },
  resource: { group: 'taskjuice.io', version: 'v1alpha1', resource: 'accounts' },
  operation: 'CREATE',
  name: forged,
  userInfo: { username: 'mallory' },
  object: {
    apiVersion: 'taskjuice.io/v1alpha1',
    kind: 'Account',
    metadata: { name: forged, labels: { [SHARD_LABEL]: shard } },
    spec: {
      displayName: 'Forged',
      plan: 'growth',
      teammates: Array.from({ length: 500 }, (_, i) => ({
        email: `p${i}@${forged}.example`,
        role: 'Member',
      })),
    },
  },
});

/** An Account DELETE: answered, the denial would list the account's workspaces. */
const forgedDelete = review({
  uid: 'forged-delete',
  kind: { group: 'taskjuice.io', version: 'v1alpha1', kind: 'Account' },
  resource: { group: 'taskjuice.io', version: 'v1alpha1', resource: 'accounts' },
  operation: 'DELETE',
  name: account,
  userInfo: { username: 'mallory' },
  oldObject: {
    apiVersion: 'taskjuice.io/v1alpha1',
    kind: 'Account',
    metadata: { name: account, labels: { [SHARD_LABEL]: shard } },
    spec: { displayName: 'Acme', plan: 'growth', teammates: [{ email: owner, role: 'Owner' }] },
  },
});

async function claimsOf(accountName: string): Promise<unknown[]> {
  const { items } = await api.list(Resources.ConfigMap, {
    namespace: operatorNs,
    labelSelector: `${Labels.component}=${CLAIM_COMPONENT},${Labels.account}=${accountName}`,
  });
  return items;
}

/** The cluster administrator's own client certificate: signed by the cluster CA, not the webhook client's. */
function clusterAdminTls(): { cert: string; key: string } {
  const config = parse(readFileSync(inject('kubeconfig'), 'utf8')) as {
    users: { user: { 'client-certificate-data'?: string; 'client-key-data'?: string } }[];
  };
  const user = config.users[0]?.user;
  const decode = (s: string | undefined) => Buffer.from(s ?? '', 'base64').toString('utf8');
  return { cert: decode(user?.['client-certificate-data']), key: decode(user?.['client-key-data']) };
}

/** A certificate with the API server's common name, from a CA the webhook does not trust. */
async function impostorTls(): Promise<{ cert: string; key: string }> {
  const ca = await createAuthority('impostor-ca', { days: 1 });
  const client = await issueCertificate(ca, {
    commonName: inject('webhookClient').name || 'kube-apiserver-webhook-client',
    usage: 'client',
    validFor: { days: 1 },
  });
  return { cert: client.certificate, key: client.privateKey };
}

function expectRefusedAndSilent(reply: Reply): void {
  if (reply.error === undefined) {
    expect([401, 403]).toContain(reply.status);
    expect(JSON.parse(reply.text ?? '')).toEqual({ message: 'forbidden' });
  }
  const said = `${reply.error ?? ''} ${reply.text ?? ''}`;
  for (const secret of [account, forged, 'web', owner]) expect(said).not.toContain(secret);
}

const requiresClientAuth = inject('webhookClient').caFile !== '';

describe.runIf(requiresClientAuth)('a forged admission review sent straight to the webhook port', () => {
  it('is refused without a client certificate, changes nothing and reveals nothing', async () => {
    for (const body of [forgedCreate, forgedDelete]) {
      expectRefusedAndSilent(await request(operator.webhook!.port, '/validate', body));
    }
    expect(await claimsOf(forged)).toEqual([]);
  });

  it('is refused with a certificate from another CA, even one naming the API server’s client', async () => {
    for (const tls of [clusterAdminTls(), await impostorTls()]) {
      for (const body of [forgedCreate, forgedDelete]) {
        expectRefusedAndSilent(await request(operator.webhook!.port, '/validate', body, tls));
      }
    }
    expect(await claimsOf(forged)).toEqual([]);
  });

  it('is still answered through the API server, which authenticates with its client certificate', async () => {
    const err = await rejection(api.delete(Resources.Account, { name: account }));
    expect(err.message).toBe(
      `admission webhook "accounts.taskjuice.io" denied the request: account ${account} still has 1 workspace (web); delete its workspaces before the account`,
    );
    // And the certificate the API server presents is what the webhook answers.
    const direct = await request(operator.webhook!.port, '/validate', forgedDelete, apiServerClientTls());
    expect(direct.status).toBe(200);
  });
});

describe('the two listeners', () => {
  it('do not serve each other’s routes: no /validate on the accept port, no /accept on the webhook port', async () => {
    const onAccept = await request(operator.webhook!.acceptPort, '/validate', forgedCreate);
    expect(onAccept.status).toBe(404);
    expect(onAccept.text).not.toContain(forged);
    expect(await claimsOf(forged)).toEqual([]);
    const onWebhook = await request(
      operator.webhook!.port,
      '/accept',
      JSON.stringify({ token: 'x'.repeat(43) }),
      apiServerClientTls(),
    );
    expect(onWebhook.status).toBe(404);
  });
});

describe('the public accept endpoint', () => {
  /** Accepts a token, waiting out a rate limit the way a browser's user would: by trying again later. */
  async function accept(token: string): Promise<AcceptResult> {
    return eventually('an answer other than 429', async () => {
      const reply = await request(operator.webhook!.acceptPort, '/accept', JSON.stringify({ token }));
      if (reply.status === 429) {
        await new Promise((r) => setTimeout(r, Number(reply.headers?.['retry-after'] ?? 1) * 1000));
        return undefined;
      }
      return JSON.parse(reply.text ?? '') as AcceptResult;
    });
  }

  it('refuses a body over 4 KiB with 413', async () => {
    const body = JSON.stringify({ token: 'x'.repeat(5 * 1024) });
    expect(Buffer.byteLength(body)).toBeGreaterThan(ACCEPT_MAX_BODY_BYTES);
    const reply = await eventually('an answer other than 429', async () => {
      const r = await request(operator.webhook!.acceptPort, '/accept', body);
      return r.status === 429 ? undefined : r;
    });
    expect(reply.status).toBe(413);
  });

  it('answers a burst beyond its rate with 429 and Retry-After, then still accepts a valid link', async () => {
    await api.create(Resources.ClientInvitation, {
      metadata: { name: 'dana', namespace: account, labels: { [SHARD_LABEL]: shard } },
      spec: { workspace: 'web', email: 'dana@contoso.example' },
    });
    const mail = await eventually('the invitation email', async () => smtp.to('dana@contoso.example')[0]);
    const token = tokenOf(mail);

    const burst = await Promise.all(
      Array.from({ length: 60 }, () =>
        request(operator.webhook!.acceptPort, '/accept', JSON.stringify({ token: 'y'.repeat(43) })),
      ),
    );
    const limited = burst.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    for (const r of limited) expect(Number(r.headers?.['retry-after'])).toBeGreaterThanOrEqual(1);
    // The ones let through were answered as the unknown links they are.
    for (const r of burst.filter((b) => b.status !== 429)) expect(r.status).toBe(404);

    const result = await accept(token);
    expect(result.outcome).toBe('accepted');
  });
});

describe('the webhook listener’s client check, with a CA of the test’s own', () => {
  const view: WebhookView = {
    account: async () => undefined,
    workspaceExists: async () => true,
    workspaceCached: () => undefined,
    workspaceCount: () => 1,
    hasWorkspace: (_, slug) => slug === 'hidden-client-ws',
    workspacesLive: async () => ({ count: 1, names: ['hidden-client-ws'] }),
    admitWorkspace: () => {},
    clients: () => new Map(),
    connections: () => [],
    plan: (spec) => resolvePlan(spec, { growth: 5 }),
    namespaceLabels: async () => undefined,
    isSystem: () => false,
  };
  let server: WebhookServer;
  let port: number;
  let ownServingCa: string;
  const authorities: Awaited<ReturnType<typeof createAuthority>>[] = [];
  const clientOf = async (ca: (typeof authorities)[number], commonName: string) => {
    const pair = await issueCertificate(ca, { commonName, usage: 'client', validFor: { days: 1 } });
    return { cert: pair.certificate, key: pair.privateKey };
  };
  const post = (tls: { cert?: string; key?: string }) =>
    new Promise<Reply>((resolve) => {
      const req = https.request(
        {
          host: '127.0.0.1',
          port,
          path: '/validate',
          method: 'POST',
          ca: ownServingCa,
          agent: false,
          ...tls,
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (d: string) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', (err) => resolve({ error: err.message }));
      req.end(forgedDelete);
    });

  beforeAll(async () => {
    const serving = await createAuthority('test-serving-ca', { days: 1 });
    const cert = await issueCertificate(serving, {
      commonName: 'localhost',
      ipAddresses: ['127.0.0.1'],
      usage: 'server',
      validFor: { days: 1 },
    });
    ownServingCa = serving.certificate;
    authorities.push(
      await createAuthority('client-ca-1', { days: 1 }),
      await createAuthority('client-ca-2', { days: 1 }),
    );
    server = new WebhookServer({
      view,
      claims: { reserve: async () => ({ ok: true }) },
      log: createLogger('silent'),
      host: '127.0.0.1',
      port: 0,
      clientAuth: { ca: authorities[0]!.certificate, names: ['the-api-server'] },
    });
    port = await server.start({
      certificate: cert.certificate,
      privateKey: cert.privateKey,
      caBundle: ownServingCa,
    });
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('answers the allowed name, and gives a certificate from the CA with another name a fixed 403', async () => {
    const answered = await post(await clientOf(authorities[0]!, 'the-api-server'));
    expect(answered.status).toBe(200);
    expect(answered.text).toContain('hidden-client-ws');
    const other = await post(await clientOf(authorities[0]!, 'a-tenant'));
    expect(other.status).toBe(403);
    expect(JSON.parse(other.text ?? '')).toEqual({ message: 'forbidden' });
  });

  it('trusts a new client CA once reloaded, and the old one no more', async () => {
    server.reloadClientCa(authorities[1]!.certificate);
    expect((await post(await clientOf(authorities[1]!, 'the-api-server'))).status).toBe(200);
    const old = await post(await clientOf(authorities[0]!, 'the-api-server'));
    expect(old.error).toBeDefined();
    expect(old.text).toBeUndefined();
  });
});
