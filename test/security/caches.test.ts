/**
 * A Member tries to grow the operator's memory: large Secrets labelled as the operator's, and padding on the
 * operator's own credentials Secret. Nothing of it enters the caches, and the operator does not start writing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workspaceNamespace } from '../../operator/src/db/names.js';
import { Api } from '../../operator/src/kube/api.js';
import { Resources } from '../../operator/src/kube/resources.js';
import type { Operator } from '../../operator/src/operator.js';
import { adminApi, eventually, uniqueName } from '../support/env.js';
import { accountWithMember, secretData, waitReady } from '../support/fixtures.js';

const shard = uniqueName('sec-mem');
const account = uniqueName('mem');
const member = `mia@${account}.example`;
let api: Api;
let operator: Operator;

const PADDING = 'A'.repeat(900 * 1024);
const forgedLabels = (slug: string) => ({
  'app.kubernetes.io/managed-by': 'workspace-operator',
  'taskjuice.io/account': account,
  'taskjuice.io/workspace': slug,
  'taskjuice.io/component': 'workspace',
});

/** What the Secrets cache keeps of one namespace (other test files' workspaces share the cluster). */
const cachedIn = (op: Operator, namespace: string) =>
  [...op.caches.secrets.list()].filter((s) => s.metadata.namespace === namespace);
const cachedBytes = (op: Operator, namespace: string) =>
  cachedIn(op, namespace).reduce((n, s) => n + JSON.stringify(s).length, 0);

let stop: () => Promise<void> = async () => {};

beforeAll(async () => {
  api = await adminApi();
  ({ operator, stop } = await accountWithMember(api, shard, account, member));
});

afterAll(async () => {
  await stop();
  api.client.close();
});

describe('a Member filling the operator caches', () => {
  it('adds nothing to them with Secrets labelled as the operator’s, nor by padding the operator’s own', async () => {
    const namespace = workspaceNamespace(account, 'web');
    const before = cachedBytes(operator, namespace);
    const writes = async () =>
      (await operator.metrics.total('workspace_operator_api_requests_total', {
        resource: 'secrets',
        verb: 'apply',
      })) +
      (await operator.metrics.total('workspace_operator_api_requests_total', {
        resource: 'secrets',
        verb: 'patch',
      })) +
      (await operator.metrics.total('workspace_operator_api_requests_total', {
        resource: 'secrets',
        verb: 'update',
      }));
    const writesBefore = await writes();
    const mia = new Api(await api.client.as({ user: member, groups: ['system:authenticated'] }));
    try {
      for (let i = 0; i < 20; i++) {
        await mia.create(Resources.Secret, {
          metadata: { name: `padding-${i}`, namespace, labels: forgedLabels('web') },
          data: { padding: Buffer.from(PADDING).toString('base64') },
        });
      }
      // The operator's own Secret, padded with a large entry and many labels and annotations of the tenant's.
      await mia.mergePatch(
        Resources.Secret,
        { namespace, name: 'database-credentials' },
        {
          metadata: {
            labels: Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`pad/l${i}`, 'x'.repeat(60)])),
            annotations: { padding: PADDING.slice(0, 200_000) },
          },
          data: { padding: Buffer.from(PADDING).toString('base64') },
        },
      );
    } finally {
      mia.client.close();
    }
    // The padded version has reached the operator (its watch saw it) before the cache is weighed.
    await eventually('the padded Secret to reach the cache', async () => {
      const live = (await api.get(Resources.Secret, { namespace, name: 'database-credentials' })) as {
        metadata: { resourceVersion: string };
      };
      const cached = operator.caches.secrets.get(`${namespace}/database-credentials`);
      return cached?.metadata.resourceVersion === live.metadata.resourceVersion ? true : undefined;
    });

    expect(cachedIn(operator, namespace).map((s) => s.metadata.name)).toEqual(['database-credentials']);
    // The credentials entries are all the cache keeps of the operator's Secret, so its size does not move.
    expect(cachedBytes(operator, namespace) - before).toBeLessThan(1024);
    const cached = operator.caches.secrets.get(`${namespace}/database-credentials`);
    expect(Object.keys((cached?.data as Record<string, string>) ?? {})).not.toContain('padding');
    expect(JSON.stringify(cached).length).toBeLessThan(4096);
    // The padding changes nothing the operator owns, so it writes nothing back (no apply loop).
    await waitReady(api, Resources.Workspace, account, 'web');
    expect((await writes()) - writesBefore).toBe(0);
    const data = await secretData(api, namespace, 'database-credentials');
    expect(data.password).toMatch(/^[A-Za-z0-9_-]{32,}$/);
  });

  it('keeps a digest, never the data, of Secrets labelled as connection credentials or named as a connection’s', async () => {
    const namespace = workspaceNamespace(account, 'web');
    const mia = new Api(await api.client.as({ user: member, groups: ['system:authenticated'] }));
    const names: string[] = [];
    try {
      for (let i = 0; i < 10; i++) {
        names.push(`creds-${i}`, `connection-forged-${i}`);
        await mia.create(Resources.Secret, {
          metadata: {
            name: `creds-${i}`,
            namespace,
            labels: { 'taskjuice.io/connection-credentials': 'true' },
          },
          data: { padding: Buffer.from(PADDING).toString('base64') },
        });
        await mia.create(Resources.Secret, {
          metadata: {
            name: `connection-forged-${i}`,
            namespace,
            labels: { ...forgedLabels('web'), 'taskjuice.io/connection': `forged-${i}` },
          },
          data: { padding: Buffer.from(PADDING).toString('base64') },
        });
      }
    } finally {
      mia.client.close();
    }
    const cached = () =>
      [...operator.caches.credentialSources.list(), ...operator.caches.mountedSecrets.list()].filter(
        (s) => s.metadata.namespace === namespace,
      );
    await eventually('the labelled Secrets to reach the caches', async () =>
      cached().length === names.length ? true : undefined,
    );
    for (const s of cached()) {
      expect(s.data, s.metadata.name).toBeUndefined();
      expect(JSON.stringify(s).length, s.metadata.name).toBeLessThan(1024);
    }
  });
});
