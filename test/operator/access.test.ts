import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workspaceNamespace } from '../../operator/src/db/names.js';
import type { Api } from '../../operator/src/kube/api.js';
import { Resources } from '../../operator/src/kube/resources.js';
import type { Operator } from '../../operator/src/operator.js';
import { adminApi, eventually, uniqueName } from '../support/env.js';
import { createAccount, createWorkspace, waitReady } from '../support/fixtures.js';
import { startOperator } from '../support/operator.js';

let api: Api;
let operator: Operator;
const shard = uniqueName('access');
const leaseNs = uniqueName('lease');
const acme = uniqueName('acme');
const globex = uniqueName('globex');
const people = {
  owner: 'Olivia@Acme.example',
  admin: 'adam@acme.example',
  member: 'mia@acme.example',
  outsider: 'gus@globex.example',
};

/** Asks the API server's authorizer, exactly as it decides a real request (SubjectAccessReview). */
async function can(
  user: string,
  verb: string,
  resource: { group?: string; resource: string; namespace: string },
): Promise<boolean> {
  const review = (await api.create(Resources.SubjectAccessReview, {
    spec: {
      user,
      resourceAttributes: {
        verb,
        group: resource.group ?? '',
        resource: resource.resource,
        namespace: resource.namespace,
      },
    },
  })) as { status: { allowed: boolean } };
  return review.status.allowed;
}

beforeAll(async () => {
  api = await adminApi();
  await api.create(Resources.Namespace, { metadata: { name: leaseNs } });
  ({ operator } = await startOperator({ shard, leaseNamespace: leaseNs }));
  await createAccount(api, shard, acme, {
    teammates: [
      { email: people.owner, role: 'Owner' },
      { email: people.admin, role: 'Admin' },
      { email: people.member, role: 'Member' },
    ],
  });
  await createAccount(api, shard, globex, { teammates: [{ email: people.outsider, role: 'Owner' }] });
  await waitReady(api, Resources.Account, undefined, acme);
  await waitReady(api, Resources.Account, undefined, globex);
  for (const slug of ['web', 'mobile']) await createWorkspace(api, shard, acme, slug);
  await createWorkspace(api, shard, globex, 'web');
  for (const slug of ['web', 'mobile']) await waitReady(api, Resources.Workspace, acme, slug);
  await waitReady(api, Resources.Workspace, globex, 'web');
});

afterAll(async () => {
  await operator?.stop();
  await api.delete(Resources.Namespace, { name: leaseNs });
  api.client.close();
});

const workspaceResource = (namespace: string) => ({
  group: 'taskjuice.io',
  resource: 'workspaces',
  namespace,
});

describe('RBAC from teammates', () => {
  it('lets every teammate read every workspace namespace of the account, and none of another account', async () => {
    for (const user of ['olivia@acme.example', people.admin, people.member]) {
      for (const slug of ['web', 'mobile']) {
        const namespace = workspaceNamespace(acme, slug);
        expect(
          await can(user, 'list', { resource: 'configmaps', namespace }),
          `${user} in ${namespace}`,
        ).toBe(true);
        expect(await can(user, 'get', { group: 'apps', resource: 'deployments', namespace })).toBe(true);
      }
      expect(
        await can(user, 'list', { resource: 'configmaps', namespace: workspaceNamespace(globex, 'web') }),
      ).toBe(false);
      expect(await can(user, 'list', workspaceResource(globex))).toBe(false);
    }
    expect(
      await can(people.outsider, 'list', {
        resource: 'configmaps',
        namespace: workspaceNamespace(acme, 'web'),
      }),
    ).toBe(false);
  });

  it('binds users by their canonical email, as the OIDC email claim names them', async () => {
    // The spec says "Olivia@Acme.example"; RBAC knows the user as olivia@acme.example.
    expect(await can('olivia@acme.example', 'create', workspaceResource(acme))).toBe(true);
    expect(await can('Olivia@Acme.example', 'create', workspaceResource(acme))).toBe(false);
  });

  it('lets Owners and Admins create and delete workspaces and invitations, and Members only read them', async () => {
    for (const user of ['olivia@acme.example', people.admin]) {
      for (const verb of ['create', 'delete']) {
        expect(await can(user, verb, workspaceResource(acme)), `${user} ${verb}`).toBe(true);
        expect(
          await can(user, verb, { group: 'taskjuice.io', resource: 'clientinvitations', namespace: acme }),
        ).toBe(true);
      }
    }
    expect(await can(people.member, 'create', workspaceResource(acme))).toBe(false);
    expect(await can(people.member, 'delete', workspaceResource(acme))).toBe(false);
    expect(await can(people.member, 'list', workspaceResource(acme))).toBe(true);
    expect(
      await can(people.member, 'create', {
        group: 'taskjuice.io',
        resource: 'clientinvitations',
        namespace: acme,
      }),
    ).toBe(false);
  });

  it('follows teammate changes: a promoted Member may create, a removed teammate loses every namespace', async () => {
    await api.mergePatch(
      Resources.Account,
      { name: acme },
      {
        spec: {
          teammates: [
            { email: people.owner, role: 'Owner' },
            { email: people.member, role: 'Admin' },
          ],
        },
      },
    );
    await eventually('the promotion to apply', async () =>
      (await can(people.member, 'create', workspaceResource(acme))) ? true : undefined,
    );
    await eventually('the removal to apply', async () =>
      (await can(people.admin, 'list', {
        resource: 'configmaps',
        namespace: workspaceNamespace(acme, 'web'),
      }))
        ? undefined
        : true,
    );
    expect(await can(people.admin, 'list', workspaceResource(acme))).toBe(false);
  });
});
