import type { Api } from '../../operator/src/kube/api.js';
import { Resources } from '../../operator/src/kube/resources.js';
import { webhookConfiguration } from '../../operator/src/webhook/configuration.js';
import { eventually } from './env.js';
import { SHARD_LABEL } from './operator.js';

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
