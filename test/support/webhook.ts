import https from 'node:https';
import type { AcceptResult } from '../../operator/src/invitations/accept.js';
import { readFileSync } from 'node:fs';
import { inject } from 'vitest';
import type { Api } from '../../operator/src/kube/api.js';
import { Resources } from '../../operator/src/kube/resources.js';
import { webhookConfiguration } from '../../operator/src/webhook/configuration.js';
import type { Operator } from '../../operator/src/operator.js';
import { freePort } from '../../operator/tools/local/processes.js';
import { eventually, uniqueName } from './env.js';
import { SHARD_LABEL, startOperator } from './operator.js';

/**
 * Registers a test operator's webhook with the API server, scoped to the test's own objects: its shard label for
 * the taskjuice.io kinds, and its accounts for the namespace guard. Returns a function that removes it.
 */
export async function registerWebhook(
  api: Api,
  opts: { name: string; port: number; shard: string; accounts: string[] },
): Promise<() => Promise<void>> {
  await api.create(
    Resources.ValidatingWebhookConfiguration,
    webhookConfiguration({
      name: opts.name,
      clientConfig: { url: `https://127.0.0.1:${opts.port}/validate` },
      objectSelector: { matchLabels: { [SHARD_LABEL]: opts.shard } },
      namespaceObjectSelector: {
        matchExpressions: [{ key: 'taskjuice.io/account', operator: 'In', values: opts.accounts }],
      },
    }),
  );
  return async () => {
    await api.delete(Resources.ValidatingWebhookConfiguration, { name: opts.name });
  };
}

/** Waits until the operator has written its CA bundle into every webhook of the configuration. */
export async function waitForCaBundle(api: Api, name: string): Promise<string> {
  return eventually(`the caBundle of ${name}`, async () => {
    const vwc = (await api.get(Resources.ValidatingWebhookConfiguration, { name })) as {
      webhooks: { clientConfig: { caBundle?: string } }[];
    };
    const bundles = vwc.webhooks.map((w) => w.clientConfig.caBundle);
    return bundles.every((b) => b && b === bundles[0]) ? bundles[0] : undefined;
  });
}

/** An operator of this test file with its webhook registered (scoped to the file's shard and accounts). */
export async function startOperatorWithWebhook(opts: {
  api: Api;
  shard: string;
  accounts: string[];
  env?: Record<string, string>;
  now?: () => Date;
  logTo?: NodeJS.WritableStream;
}): Promise<{ operator: Operator; operatorNs: string; stop(): Promise<void> }> {
  const operatorNs = uniqueName('op');
  await opts.api.create(Resources.Namespace, { metadata: { name: operatorNs } });
  const port = await freePort();
  const name = `webhook-${opts.shard}`;
  const unregister = await registerWebhook(opts.api, {
    name,
    port,
    shard: opts.shard,
    accounts: opts.accounts,
  });
  const { operator } = await startOperator({
    shard: opts.shard,
    leaseNamespace: operatorNs,
    env: { WEBHOOK_PORT: String(port), ...opts.env },
    now: opts.now,
    logTo: opts.logTo,
  });
  await waitForCaBundle(opts.api, name);
  return {
    operator,
    operatorNs,
    async stop() {
      // The registration goes first: a webhook that no longer answers must not be left to fail requests.
      await unregister();
      await operator.stop();
      await opts.api.delete(Resources.Namespace, { name: operatorNs });
    },
  };
}

/**
 * The certificate and key the test cluster's API server presents to webhooks, for tests that post reviews to a
 * webhook directly, as the API server would. Empty with a cluster of KUBECONFIG (its webhooks ask for none).
 */
export function apiServerClientTls(): { cert?: string; key?: string } {
  const client = inject('webhookClient');
  if (!client.certFile) return {};
  return { cert: readFileSync(client.certFile, 'utf8'), key: readFileSync(client.keyFile, 'utf8') };
}

/** POSTs a token to the operator's accept listener, as the page's button does (JSON here). */
export async function postAccept(operator: Operator, token: string): Promise<AcceptResult> {
  const webhook = operator.webhook;
  if (!webhook) throw new Error('the operator serves no webhook (and so no accept endpoint) yet');
  const ca = (await webhook.certificates.current()).caBundle;
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port: webhook.acceptPort,
        path: '/accept',
        method: 'POST',
        ca,
        headers: { 'Content-Type': 'application/json' },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d));
        res.on('end', () => resolve(JSON.parse(text) as AcceptResult));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify({ token }));
  });
}
