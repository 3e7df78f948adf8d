/**
 * A Member captures other tenants' traffic with a Service: `spec.externalIPs` set to an address others use (the
 * database's) makes every node's kube-proxy send that traffic to the Member's pods (CVE-2020-8554). The staff role
 * must allow Services, so the API server's own admission policy refuses the field in workspace namespaces.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workspaceNamespace } from '../../operator/src/db/names.js';
import { Api } from '../../operator/src/kube/api.js';
import { Resources } from '../../operator/src/kube/resources.js';
import { EXTERNAL_IPS_MESSAGE } from '../../operator/src/policies.js';
import { adminApi, rejection, uniqueName } from '../support/env.js';
import { accountWithMember } from '../support/fixtures.js';

const shard = uniqueName('sec-svc');
const account = uniqueName('svc');
const member = `mia@${account}.example`;
let api: Api;

let stop: () => Promise<void> = async () => {};

beforeAll(async () => {
  api = await adminApi();
  ({ stop } = await accountWithMember(api, shard, account, member));
});

afterAll(async () => {
  await stop();
  api.client.close();
});

const service = (name: string, namespace: string, externalIPs?: string[]) => ({
  metadata: { name, namespace },
  spec: { ports: [{ port: 5432, targetPort: 5432 }], selector: { app: 'mine' }, externalIPs },
});

describe('a Member with a Service', () => {
  it('is refused spec.externalIPs in its workspace, keeps ordinary Services, and nothing is created', async () => {
    const namespace = workspaceNamespace(account, 'web');
    const mia = new Api(await api.client.as({ user: member, groups: ['system:authenticated'] }));
    try {
      const refused = await rejection(
        mia.create(Resources.Service, service('capture', namespace, ['10.0.0.5'])),
      );
      expect(refused.message).toContain(EXTERNAL_IPS_MESSAGE);
      expect(await api.get(Resources.Service, { namespace, name: 'capture' })).toBeUndefined();

      // What staff build a workspace with still works, and cannot be turned into the same thing later.
      await mia.create(Resources.Service, service('db-client', namespace));
      const edit = await rejection(
        mia.mergePatch(
          Resources.Service,
          { namespace, name: 'db-client' },
          { spec: { externalIPs: ['10.0.0.5'] } },
        ),
      );
      expect(edit.message).toContain(EXTERNAL_IPS_MESSAGE);
      const kept = (await api.get(Resources.Service, { namespace, name: 'db-client' })) as {
        spec: { externalIPs?: string[] };
      };
      expect(kept.spec.externalIPs).toBeUndefined();
    } finally {
      mia.client.close();
    }
  });
});
