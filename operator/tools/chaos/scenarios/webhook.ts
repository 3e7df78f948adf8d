import { errorMessage } from '../../../src/errors.js';
import { Resources } from '../../../src/kube/resources.js';
import { webhookConfiguration } from '../../../src/webhook/configuration.js';
import { delay, ms, progress, seconds } from '../../bench/common.js';
import { workspaceBody } from '../../bench/objects.js';
import { freePort } from '../../local/processes.js';
import { TcpProxy } from '../../local/proxy.js';
import { Stage, timeUntil, type ScenarioContext, type ScenarioResult } from '../scenario.js';
import { CHAOS_LABEL } from '../workload.js';

const TIMEOUT_S = 5;

/**
 * The admission webhook slow (a proxy in front of it adds 3 s to every chunk, past the configuration's 5 s
 * timeout) and then down (the proxy refuses connections). Guarded writes must be refused within the timeout with
 * a message, and nothing else may wait on the webhook: kube-system, an unrelated namespace, namespaces outside the
 * product, and the operator's own status writes.
 */
export async function webhook(ctx: ScenarioContext): Promise<ScenarioResult> {
  const n = ctx.workspaces;
  const stage = new Stage(ctx, 'webhook', 'hook', Math.max(1, Math.ceil(n / 30)));
  await stage.begin();
  const w = stage.workload;
  const { api } = ctx.platform;
  const port = await freePort();
  const proxy = new TcpProxy('127.0.0.1', port);
  await proxy.start();
  const configurationName = `chaos-${stage.scenario}`;
  await api.create(
    Resources.ValidatingWebhookConfiguration,
    webhookConfiguration({
      name: configurationName,
      clientConfig: { url: `https://127.0.0.1:${proxy.port}/validate` },
      objectSelector: { matchLabels: { [CHAOS_LABEL]: stage.scenario } },
      namespaceObjectSelector: {
        matchExpressions: [{ key: 'taskjuice.io/account', operator: 'In', values: [...w.accounts] }],
      },
      timeoutSeconds: TIMEOUT_S,
    }),
  );
  const operator = stage.replica('op', {
    env: {
      WEBHOOK_ENABLED: 'true',
      WEBHOOK_PORT: String(port),
      WEBHOOK_DNS_NAMES: 'localhost',
      WEBHOOK_IP_ADDRESSES: '127.0.0.1',
      WEBHOOK_CONFIGURATION_NAME: configurationName,
    },
  });
  const unrelated = `chaos-unrelated-${ctx.run}`;
  try {
    await operator.start();
    await timeUntil(async () => {
      const vwc = (await api.get(Resources.ValidatingWebhookConfiguration, { name: configurationName })) as
        { webhooks?: { clientConfig?: { caBundle?: string } }[] } | undefined;
      return (vwc?.webhooks ?? []).every((h) => h.clientConfig?.caBundle);
    }, 60_000);
    await timeUntil(() => operator.ready(), 60_000);
    await w.createAccounts();
    await api.create(Resources.Namespace, { metadata: { name: unrelated } });
    const third = Math.ceil(n / 3);
    await w.create(w.keys(0, third));
    await w.converge(120_000);
    await w.writeRows();

    for (const fault of ['slow', 'down'] as const) {
      progress(`webhook: ${fault}`);
      if (fault === 'slow') proxy.slow(3_000);
      else await proxy.cut();
      // Workspaces created just before the fault: the operator's status writes do not pass the webhook.
      const before = w.keys(fault === 'slow' ? third : third + 1, 1);
      // A guarded write: refused, within the API server's timeout, with a message.
      const [account = ''] = before[0]?.split('/') ?? [];
      const t = performance.now();
      let message = 'allowed';
      try {
        await api.create(Resources.Workspace, workspaceBody(account, `guarded-${fault}`, w.labels));
        w.live.add(`${account}/guarded-${fault}`);
      } catch (err) {
        message = errorMessage(err);
      }
      const refusedMs = performance.now() - t;
      stage.add(
        `${fault}: guarded create refused after`,
        ms(refusedMs),
        `≤ ${TIMEOUT_S} s + 1 s`,
        message !== 'allowed' && refusedMs <= (TIMEOUT_S + 1) * 1000,
      );
      stage.notes.push(`${fault}: the client read: ${message.slice(0, 240)}`);
      // Everything else: kube-system, an unrelated namespace, a namespace outside the product.
      const others: [string, () => Promise<unknown>][] = [
        ['ConfigMap in kube-system', () => roundTrip(api, 'kube-system', `chaos-${fault}`)],
        ['ConfigMap in an unrelated namespace', () => roundTrip(api, unrelated, `chaos-${fault}`)],
        [
          'an unrelated Namespace created and deleted',
          async () => {
            await api.create(Resources.Namespace, { metadata: { name: `${unrelated}-${fault}` } });
            await api.delete(Resources.Namespace, { name: `${unrelated}-${fault}` });
          },
        ],
      ];
      for (const [label, call] of others) {
        const s = performance.now();
        let failed = '';
        await call().catch((err: unknown) => (failed = errorMessage(err)));
        const took = performance.now() - s;
        stage.add(
          `${fault}: ${label}`,
          failed ? 'FAILED' : ms(took),
          '< 1 s, not blocked',
          !failed && took < 1_000,
        );
        if (failed) stage.notes.push(`${fault}: ${label}: ${failed.slice(0, 200)}`);
      }
      await delay(1_000);
      await proxy.restore();
    }
    const back = performance.now();
    const ok = await timeUntil(async () => {
      const [account = ''] = w.keys(0, 1)[0]?.split('/') ?? [];
      const slug = `guarded-back-${Date.now()}`;
      await api.create(Resources.Workspace, workspaceBody(account, slug, w.labels));
      w.live.add(`${account}/${slug}`);
      return true;
    }, 30_000);
    stage.add('guarded writes admitted again after', seconds(ok), '≤ 5 s', ok <= 5_000);
    await w.create(w.keys(third, n - third));
    const c = await w.converge(120_000, back);
    await w.writeRows();
    stage.addBooks(c, 30);
    stage.notes.push(
      'admission errors above count the burst only; the guarded probes are the figures per fault.',
    );
    return await stage.finish();
  } finally {
    await api.delete(Resources.ValidatingWebhookConfiguration, { name: configurationName }).catch(() => {});
    await api.delete(Resources.Namespace, { name: unrelated }).catch(() => {});
    await proxy.stop();
  }
}

async function roundTrip(
  api: Stage['ctx']['platform']['api'],
  namespace: string,
  name: string,
): Promise<void> {
  await api.create(Resources.ConfigMap, { metadata: { name, namespace }, data: { a: '1' } });
  await api.delete(Resources.ConfigMap, { namespace, name });
}
