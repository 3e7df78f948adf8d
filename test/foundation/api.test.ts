import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '../../operator/tools/local/install.js';
import { WorkspaceSpec } from '../../operator/src/api/v1alpha1/workspace.js';
import type { Api } from '../../operator/src/kube/api.js';
import { Resources, type ResourceType } from '../../operator/src/kube/resources.js';
import { adminApi, eventually, rejection, uniqueName } from '../support/env.js';

let api: Api;
let ns: string;

const account = (name: string, spec: Record<string, unknown> = {}) => ({
  metadata: { name },
  spec: {
    displayName: 'Acme Agency',
    plan: 'growth',
    teammates: [{ email: 'owner@acme.example', role: 'Owner' }],
    ...spec,
  },
});

const workspace = (name: string, spec: Record<string, unknown> = {}) => ({
  metadata: { name, namespace: ns },
  spec: { displayName: 'Client', ...spec },
});

beforeAll(async () => {
  api = await adminApi();
  ns = uniqueName('found');
  await api.create(Resources.Namespace, { metadata: { name: ns } });
});

afterAll(async () => {
  await api.delete(Resources.Namespace, { name: ns });
  api.client.close();
});

function examples(dir: string): unknown[] {
  const docs: unknown[] = [];
  for (const entry of readdirSync(dir).sort()) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) docs.push(...examples(path));
    else if (/\.ya?ml$/.test(entry) && !/^kustomization\.ya?ml$/.test(entry)) {
      for (const doc of parseAllDocuments(readFileSync(path, 'utf8'))) docs.push(doc.toJS());
    }
  }
  return docs;
}

describe('the CRDs', () => {
  it('install and become Established, with short names and the shared category', async () => {
    for (const [plural, short] of [
      ['accounts', 'acct'],
      ['workspaces', 'ws'],
      ['clientinvitations', 'cinv'],
    ] as const) {
      const crd = (await api.get(Resources.CustomResourceDefinition, { name: `${plural}.taskjuice.io` })) as {
        spec: { names: { shortNames: string[]; categories: string[] } };
        status: { conditions: { type: string; status: string }[] };
      };
      expect(crd.status.conditions).toContainEqual(
        expect.objectContaining({ type: 'Established', status: 'True' }),
      );
      expect(crd.spec.names.shortNames).toEqual([short]);
      expect(crd.spec.names.categories).toEqual(['taskjuice']);
    }
  });

  it('accept every object in examples/ (server-side dry run)', async () => {
    // examples/gitops also holds Argo CD and Flux objects, whose CRDs this cluster does not have: only our kinds
    // are dry-run here (test/ship checks the GitOps files).
    const docs = (
      examples(join(REPO_ROOT, 'examples')) as {
        apiVersion: string;
        kind: string;
        metadata: { name: string; namespace?: string };
      }[]
    ).filter((d) => d.apiVersion.startsWith('taskjuice.io/'));
    expect(docs.length).toBeGreaterThanOrEqual(4);
    const kinds: Record<string, ResourceType> = {
      Account: Resources.Account,
      Workspace: Resources.Workspace,
      ClientInvitation: Resources.ClientInvitation,
      Connection: Resources.Connection,
    };
    for (const doc of docs) {
      const r = kinds[doc.kind];
      expect(r, `unexpected kind ${doc.kind} in examples/`).toBeDefined();
      if (!r) continue;
      // Namespaced examples go to this test's namespace, so the dry run needs no operator to have made theirs.
      const body = r.namespaced ? { ...doc, metadata: { ...doc.metadata, namespace: ns } } : doc;
      await api.create(r, body, { dryRun: true });
    }
  });
});

describe('the API server itself rejects', () => {
  const invalid = async (r: ResourceType, body: unknown) => {
    const err = await rejection(api.create(r, body, { dryRun: true }));
    expect(err.code).toBe('Invalid');
    return err.message;
  };

  it.each([
    ['of 1 character', 'a'],
    ['of 51 characters', 'a'.repeat(51)],
    ['with a leading hyphen', '-acme'],
    ['with a trailing hyphen', 'acme-'],
  ])('a workspace slug %s, naming metadata.name and the rule', async (_, slug) => {
    const message = await invalid(Resources.Workspace, workspace(slug));
    expect(message).toContain('metadata.name');
    expect(message).toMatch(/2 to 50 characters of lower-case letters, digits and hyphens/);
    // The rule's error points at the field, never at `<nil>`.
    expect(message).not.toContain('<nil>');
    expect(message).toMatch(/metadata\.name: Invalid value/);
  });

  it.each([
    ['upper case', 'Acme'],
    ['an underscore', 'acme_inc'],
  ])('a workspace slug with %s, naming metadata.name', async (_, slug) => {
    const message = await invalid(Resources.Workspace, workspace(slug));
    expect(message).toContain('metadata.name');
    expect(message).toMatch(/lower.?case/i);
  });

  it.each([59, 604801])('approvalTimeoutSeconds of %i', async (seconds) => {
    const message = await invalid(
      Resources.Workspace,
      workspace(uniqueName('ws'), { approvalTimeoutSeconds: seconds }),
    );
    expect(message).toContain('spec.approvalTimeoutSeconds');
    expect(message).toMatch(seconds < 60 ? /greater than or equal to 60/ : /less than or equal to 604800/);
  });

  it.each([
    ['empty', ''],
    ['101 characters long', 'x'.repeat(101)],
  ])('a displayName that is %s', async (_, displayName) => {
    const message = await invalid(Resources.Workspace, workspace(uniqueName('ws'), { displayName }));
    expect(message).toContain('spec.displayName');
    expect(message).toMatch(displayName === '' ? /at least 1 chars/ : /may not be more than 100/);
  });

  it('a teammate role outside Owner, Admin, Member', async () => {
    const message = await invalid(
      Resources.Account,
      account(uniqueName('acct'), {
        teammates: [
          { email: 'owner@acme.example', role: 'Owner' },
          { email: 'x@acme.example', role: 'Client' },
        ],
      }),
    );
    expect(message).toContain('spec.teammates[1].role');
    expect(message).toMatch(/"Owner", "Admin", "Member"/);
  });

  it('an account without an Owner, and an account named like a reserved namespace', async () => {
    expect(
      await invalid(
        Resources.Account,
        account(uniqueName('acct'), { teammates: [{ email: 'a@acme.example', role: 'Admin' }] }),
      ),
    ).toMatch(/spec.teammates.*at least one teammate must have the Owner role/);
    expect(await invalid(Resources.Account, account('kube-acme'))).toMatch(
      /metadata.name must not be a reserved namespace/,
    );
  });
});

describe('defaults', () => {
  it('are stored on create: betaOptIn true and approvalTimeoutSeconds 86400', async () => {
    const name = uniqueName('ws');
    await api.create(Resources.Workspace, workspace(name));
    const stored = (await api.get(Resources.Workspace, { namespace: ns, name })) as { spec: unknown };
    expect(stored.spec).toEqual({ displayName: 'Client', betaOptIn: true, approvalTimeoutSeconds: 86400 });
  });
});

describe('the OpenAPI the API server serves', () => {
  it('carries the field descriptions that kubectl explain shows', async () => {
    const doc = (await api.client.request({
      method: 'GET',
      path: '/openapi/v3/apis/taskjuice.io/v1alpha1',
    })) as {
      components: {
        schemas: Record<
          string,
          {
            properties?: Record<
              string,
              { description?: string; properties?: Record<string, { description?: string }> }
            >;
          }
        >;
      };
    };
    const ws = doc.components.schemas['io.taskjuice.v1alpha1.Workspace'];
    const timeout = ws?.properties?.spec?.properties?.approvalTimeoutSeconds;
    expect(timeout?.description).toBe(WorkspaceSpec.shape.approvalTimeoutSeconds.description);
    expect(timeout?.description).toMatch(/60 seconds to 7 days/);
    expect(
      doc.components.schemas['io.taskjuice.v1alpha1.Account']?.properties?.spec?.properties?.teammates
        ?.description,
    ).toMatch(/Agency staff/);
  });
});

describe('the control plane', () => {
  it('garbage-collects an object after its owner is deleted', async () => {
    const owner = (await api.create(Resources.ConfigMap, { metadata: { name: 'owner', namespace: ns } })) as {
      metadata: { uid: string };
    };
    await api.create(Resources.ConfigMap, {
      metadata: {
        name: 'dependent',
        namespace: ns,
        ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata.uid }],
      },
    });
    await api.delete(Resources.ConfigMap, { namespace: ns, name: 'owner' });
    await eventually(
      'the dependent ConfigMap to be collected',
      async () =>
        (await api.get(Resources.ConfigMap, { namespace: ns, name: 'dependent' })) === undefined
          ? true
          : undefined,
      60_000,
    );
  });

  it('finishes deleting a namespace', async () => {
    const name = uniqueName('gone');
    await api.create(Resources.Namespace, { metadata: { name } });
    await api.create(Resources.ConfigMap, { metadata: { name: 'content', namespace: name } });
    await api.delete(Resources.Namespace, { name });
    await eventually(
      'the namespace to disappear',
      async () => ((await api.get(Resources.Namespace, { name })) === undefined ? true : undefined),
      60_000,
    );
  });

  it('fills in a ResourceQuota on count/workspaces.taskjuice.io and stops the create beyond its limit', async () => {
    const name = uniqueName('quota');
    await api.create(Resources.Namespace, { metadata: { name } });
    try {
      await api.create(Resources.ResourceQuota, {
        metadata: { name: 'workspaces', namespace: name },
        spec: { hard: { 'count/workspaces.taskjuice.io': '1' } },
      });
      // The quota controller computes usage once its discovery knows the CRD (it re-reads discovery every 30 s).
      await eventually(
        'the quota status',
        async () => {
          const q = (await api.get(Resources.ResourceQuota, { namespace: name, name: 'workspaces' })) as {
            status?: { used?: Record<string, string> };
          };
          return q.status?.used?.['count/workspaces.taskjuice.io'];
        },
        90_000,
      );
      const ws = (n: string) => ({ metadata: { name: n, namespace: name }, spec: { displayName: n } });
      await api.create(Resources.Workspace, ws('first'));
      const err = await rejection(api.create(Resources.Workspace, ws('second')));
      expect(err.code).toBe('Forbidden');
      expect(err.message).toMatch(/exceeded quota: workspaces.*count\/workspaces.taskjuice.io=1/);
    } finally {
      await api.delete(Resources.Namespace, { name });
    }
  });
});
