import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Api } from '../../operator/src/kube/api.js';
import { Resources } from '../../operator/src/kube/resources.js';
import { freePort } from '../../operator/tools/local/processes.js';
import { adminApi, uniqueName } from '../support/env.js';
import { createWorkspace } from '../support/fixtures.js';
import { registerWebhook } from '../support/webhook.js';

/**
 * Short form of `npm run chaos`'s webhook scenario (issue 10): the operator's webhook registration, as the chart
 * makes it, with nothing answering behind it: first a listener that accepts and never replies (a hung
 * webhook), then nothing at all (down). The guarded kinds are refused within the API server's timeout with a
 * message that names the webhook; nothing else in the cluster waits for it.
 */

const shard = uniqueName('whk');
const account = `${shard}-acme`;
let api: Api;
let port: number;
let hung: net.Server | undefined;
const held: net.Socket[] = [];
let unregister: () => Promise<void> = async () => {};

beforeAll(async () => {
  api = await adminApi();
  port = await freePort();
  await api.create(Resources.Namespace, { metadata: { name: account } });
  unregister = await registerWebhook(api, { name: `webhook-${shard}`, port, shard, accounts: [account] });
});

afterAll(async () => {
  await unregister();
  for (const s of held) s.destroy();
  hung?.close();
  await api.delete(Resources.Namespace, { name: account });
  api.client.close();
});

async function outcome(write: () => Promise<unknown>): Promise<string> {
  try {
    await write();
    return 'done';
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** Writes nobody guards: a ConfigMap in kube-system and in another namespace, a Namespace made and deleted. */
async function unguardedWrites(): Promise<string[]> {
  const name = uniqueName('probe');
  const results = [
    await outcome(() => api.create(Resources.ConfigMap, { metadata: { name, namespace: 'kube-system' } })),
    await outcome(() => api.create(Resources.ConfigMap, { metadata: { name, namespace: 'default' } })),
    await outcome(() => api.create(Resources.Namespace, { metadata: { name } })),
  ];
  await api.delete(Resources.ConfigMap, { namespace: 'kube-system', name });
  await api.delete(Resources.ConfigMap, { namespace: 'default', name });
  await api.delete(Resources.Namespace, { name });
  return results;
}

describe('a webhook that hangs, then is down', () => {
  it(
    'refuses guarded writes within the timeout, naming the webhook, and blocks nothing else',
    { timeout: 60_000 },
    async () => {
      hung = net.createServer((socket) => held.push(socket));
      await new Promise<void>((r) => hung?.listen(port, '127.0.0.1', r));
      const slow = await outcome(() => createWorkspace(api, shard, account, 'hung'));
      expect(slow).toMatch(/failed calling webhook "workspaces\.taskjuice\.io"/);
      expect(await unguardedWrites()).toEqual(['done', 'done', 'done']);

      for (const s of held) s.destroy();
      await new Promise((r) => hung?.close(r));
      hung = undefined;
      const down = await outcome(() => createWorkspace(api, shard, account, 'down'));
      expect(down).toMatch(/failed calling webhook "workspaces\.taskjuice\.io"/);
      expect(await unguardedWrites()).toEqual(['done', 'done', 'done']);

      // Refused means not stored.
      const { items } = await api.list(Resources.Workspace, { namespace: account });
      expect(items).toEqual([]);
    },
  );
});
