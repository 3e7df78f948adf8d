import https from 'node:https';
import { Api } from '../../src/kube/api.js';
import { KubeClient } from '../../src/kube/client.js';
import { Resources } from '../../src/kube/resources.js';
import type { CachedObject } from '../../src/kube/informer.js';
import { freePort, waitFor } from '../local/processes.js';
import { isReady } from './readiness.js';
import { PLAN_CATALOG, accountBody } from './objects.js';
import { startOperatorProcess, type OperatorProcess } from './operator-process.js';
import type { BenchPlatform } from './platform.js';

const NAMESPACE = 'workspace-operator';

export interface WebhookOperator {
  operator: OperatorProcess;
  api: Api;
  /** The port of the operator's HTTPS server (`/validate`, `/accept`) on 127.0.0.1. */
  port: number;
  /** The serving certificate, its key and the CA that signed it, as PEM, from the operator's own Secret. */
  tls: { certificate: string; privateKey: string; ca: string };
}

/**
 * The operator from dist/main.js with its webhook on a loopback port, and one account (an Owner, a plan with room)
 * in its caches: what the webhook benchmark and the webhook fuzz post their reviews to.
 */
export async function startWebhookOperator(
  platform: BenchPlatform,
  account: string,
  nodeArgs: string[] = [],
): Promise<WebhookOperator> {
  const api = new Api(await KubeClient.fromFile(platform.kubeconfig));
  await api.apply(Resources.Namespace, { metadata: { name: NAMESPACE } });
  await api.create(Resources.Account, accountBody(account, {}));
  const port = await freePort();
  const operator = await startOperatorProcess({
    runDir: platform.runDir,
    kubeconfig: platform.kubeconfig,
    databaseUrl: platform.databaseUrl,
    nodeArgs,
    env: {
      PLAN_CATALOG,
      LOG_LEVEL: 'warn',
      POD_NAMESPACE: NAMESPACE,
      LEADER_ELECTION_NAMESPACE: NAMESPACE,
      WEBHOOK_PORT: String(port),
      WEBHOOK_DNS_NAMES: 'localhost',
      WEBHOOK_IP_ADDRESSES: '127.0.0.1',
    },
  });
  // Ready for admission comes before the controllers have made the account's home namespace: wait for that too.
  await waitFor(
    `Account ${account} to be Ready`,
    async () => isReady((await api.get(Resources.Account, { name: account })) as CachedObject),
    { timeoutMs: 60_000 },
  );
  const secret = (await api.get(Resources.Secret, {
    namespace: NAMESPACE,
    name: 'workspace-operator-webhook-tls',
  })) as { data: Record<string, string> };
  const pem = (k: string) => Buffer.from(secret.data[k] ?? '', 'base64').toString('utf8');
  return {
    operator,
    api,
    port,
    tls: { certificate: pem('tls.crt'), privateKey: pem('tls.key'), ca: pem('ca.crt') },
  };
}

/** Posts one AdmissionReview body to the HTTPS server on 127.0.0.1:`port` and reads the whole answer. */
export function postReview(
  agent: https.Agent,
  port: number,
  body: string | Buffer,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path: '/validate',
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
