/**
 * Hostile tenants inside a workspace (SPEC 4b): a Member, acting through the API server under its own identity,
 * tries to run a privileged pod, to take more than the workspace's share, and to undo the isolation the operator
 * set up. Then the permissions table of docs/permissions.md is checked cell by cell against the API server.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workspaceNamespace } from '../../operator/src/db/names.js';
import { Api } from '../../operator/src/kube/api.js';
import { Resources } from '../../operator/src/kube/resources.js';
import type { Operator } from '../../operator/src/operator.js';
import { workspaceClientRules, workspaceStaffRules } from '../../operator/src/rbac.js';
import { REPO_ROOT } from '../../operator/tools/local/install.js';
import { adminApi, eventually, rejection, uniqueName } from '../support/env.js';
import { createAccount, createWorkspace, waitReady } from '../support/fixtures.js';
import { SHARD_LABEL } from '../support/operator.js';
import { TestSmtpServer, tokenOf } from '../support/smtp.js';
import { postAccept, startOperatorWithWebhook } from '../support/webhook.js';
import {
  LIMIT_RANGE,
  NETWORK_POLICY,
  RESOURCE_QUOTA,
  STAFF_BINDING,
} from '../../operator/src/domain/children.js';

const shard = uniqueName('isolation');
const acme = `${shard}-acme`;
const globex = `${shard}-globex`;
const people = {
  Owner: `olivia@${acme}.example`,
  Admin: `adam@${acme}.example`,
  Member: `mia@${acme}.example`,
  Client: `carla@client-of-${acme}.example`,
};
const web = workspaceNamespace(acme, 'web');
const mobile = workspaceNamespace(acme, 'mobile');
const otherAccount = workspaceNamespace(globex, 'web');
const smtp = new TestSmtpServer();
let api: Api;
/** The Member's own identity: every request goes through the API server's authentication and admission. */
let member: Api;
let operator: Operator;
let stop: () => Promise<void> = async () => {};

/** Asks the API server's authorizer how it would decide the request (SubjectAccessReview). */
async function can(
  user: string,
  verb: string,
  target: { group: string; resource: string; subresource?: string; namespace: string; name?: string },
): Promise<boolean> {
  const review = (await api.create(Resources.SubjectAccessReview, {
    spec: { user, resourceAttributes: { verb, ...target } },
  })) as { status: { allowed: boolean } };
  return review.status.allowed;
}

async function acceptInvitation(email: string): Promise<void> {
  await api.create(Resources.ClientInvitation, {
    metadata: { name: 'carla', namespace: acme, labels: { [SHARD_LABEL]: shard } },
    spec: { workspace: 'web', email },
  });
  const mail = await eventually(`the invitation email to ${email}`, async () => smtp.to(email)[0]);
  const result = await postAccept(operator, tokenOf(mail));
  expect(result.outcome).toBe('accepted');
}

beforeAll(async () => {
  api = await adminApi();
  await smtp.start();
  ({ operator, stop } = await startOperatorWithWebhook({
    api,
    shard,
    accounts: [acme, globex],
    env: { ...smtp.env(), ACCEPT_BASE_URL: 'https://portal.example/accept' },
  }));
  await createAccount(api, shard, acme, {
    teammates: [
      { email: people.Owner, role: 'Owner' },
      { email: people.Admin, role: 'Admin' },
      { email: people.Member, role: 'Member' },
    ],
  });
  await createAccount(api, shard, globex);
  for (const slug of ['web', 'mobile']) await createWorkspace(api, shard, acme, slug);
  await createWorkspace(api, shard, globex, 'web');
  for (const slug of ['web', 'mobile']) await waitReady(api, Resources.Workspace, acme, slug);
  await waitReady(api, Resources.Workspace, globex, 'web');
  await acceptInvitation(people.Client);
  await eventually('the client binding', async () =>
    (await can(people.Client, 'list', { group: '', resource: 'pods', namespace: web })) ? true : undefined,
  );
  // Admission needs the default ServiceAccount (made by its controller) and a counted quota before any pod.
  await eventually('the default ServiceAccount', async () =>
    api.get(Resources.ServiceAccount, { namespace: web, name: 'default' }),
  );
  await eventually('the quota to be counted', async () => {
    const q = (await api.get(Resources.ResourceQuota, { namespace: web, name: RESOURCE_QUOTA })) as
      { status?: { used?: Record<string, string> } } | undefined;
    return q?.status?.used?.pods;
  });
  member = new Api(await api.client.as({ user: people.Member }));
});

afterAll(async () => {
  member?.client.close();
  await stop();
  await smtp.stop();
  api.client.close();
});

/** A pod that Pod Security "restricted" admits. */
function restrictedPod(name: string, resources?: Record<string, Record<string, string>>) {
  return {
    metadata: { name, namespace: web },
    spec: {
      automountServiceAccountToken: false,
      securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'app',
          image: 'registry.example/app:1',
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
          ...(resources ? { resources } : {}),
        },
      ],
    },
  };
}

const podExists = async (name: string) =>
  (await api.get(Resources.Pod, { namespace: web, name })) !== undefined;

describe('pods of a Member in a workspace namespace', () => {
  it('refuses a privileged, hostPID pod that mounts the node’s / by Pod Security, and nothing is created', async () => {
    const err = await rejection(
      member.create(Resources.Pod, {
        metadata: { name: 'escape', namespace: web },
        spec: {
          hostPID: true,
          hostNetwork: true,
          containers: [
            {
              name: 'root',
              image: 'registry.example/tools:1',
              securityContext: { privileged: true },
              volumeMounts: [{ name: 'host', mountPath: '/host' }],
            },
          ],
          volumes: [{ name: 'host', hostPath: { path: '/' } }],
        },
      }),
    );
    expect(err.code).toBe('Forbidden');
    expect(err.message).toMatch(/violates PodSecurity "restricted:latest"/);
    expect(err.message).toMatch(/privileged/);
    expect(err.message).toMatch(/hostPID/);
    expect(err.message).toMatch(/hostPath/);
    expect(await podExists('escape')).toBe(false);
  });

  it('refuses a pod running as root, even without privileges, under the restricted level', async () => {
    const pod = restrictedPod('as-root');
    const err = await rejection(
      member.create(Resources.Pod, {
        ...pod,
        spec: { ...pod.spec, securityContext: { runAsNonRoot: false, runAsUser: 0 } },
      }),
    );
    expect(err.message).toMatch(/violates PodSecurity/);
    expect(await podExists('as-root')).toBe(false);
  });

  it('gives a pod that states no resources the LimitRange defaults, so the quota counts it', async () => {
    const created = (await member.create(Resources.Pod, restrictedPod('defaults'))) as {
      spec: { containers: { resources?: { requests?: unknown; limits?: unknown } }[] };
    };
    expect(created.spec.containers[0]?.resources).toEqual({
      requests: { cpu: '100m', memory: '128Mi' },
      limits: { cpu: '500m', memory: '512Mi' },
    });
    await api.delete(Resources.Pod, { namespace: web, name: 'defaults' });
  });

  it('refuses a pod that asks for more than the workspace’s quota, and nothing is created', async () => {
    const err = await rejection(
      member.create(
        Resources.Pod,
        restrictedPod('greedy', {
          requests: { cpu: '5', memory: '1Gi' },
          limits: { cpu: '5', memory: '1Gi' },
        }),
      ),
    );
    expect(err.code).toBe('Forbidden');
    expect(err.message).toMatch(/exceeded quota: taskjuice-workspace/);
    expect(err.message).toMatch(/requests\.cpu/);
    expect(await podExists('greedy')).toBe(false);
  });

  it('refuses a NodePort Service, which would open a port on every node, and nothing is created', async () => {
    const err = await rejection(
      member.create(Resources.Service, {
        metadata: { name: 'open', namespace: web },
        spec: { type: 'NodePort', selector: { app: 'x' }, ports: [{ port: 80 }] },
      }),
    );
    expect(err.message).toMatch(/exceeded quota: taskjuice-workspace.*services\.nodeports/);
    expect(await api.get(Resources.Service, { namespace: web, name: 'open' })).toBeUndefined();
  });
});

/** What a test compares before and after an attack: the object's content and version. */
async function snapshot(
  r: (typeof Resources)[keyof typeof Resources],
  namespace: string | undefined,
  name: string,
) {
  const obj = (await api.get(r, { namespace, name })) as
    | {
        metadata: { resourceVersion?: string; labels?: unknown };
        spec?: unknown;
        subjects?: unknown;
        roleRef?: unknown;
      }
    | undefined;
  expect(obj, `${r.kind} ${name}`).toBeDefined();
  return JSON.stringify({
    rv: obj?.metadata.resourceVersion,
    labels: obj?.metadata.labels,
    spec: obj?.spec,
    subjects: obj?.subjects,
    roleRef: obj?.roleRef,
  });
}

describe('a Member undoing the isolation from inside', () => {
  it('is forbidden to create an allow-all NetworkPolicy, and none is created', async () => {
    const err = await rejection(
      member.create(Resources.NetworkPolicy, {
        metadata: { name: 'allow-all', namespace: web },
        spec: { podSelector: {}, policyTypes: ['Ingress'], ingress: [{}] },
      }),
    );
    expect(err.code).toBe('Forbidden');
    expect(err.message).toMatch(/cannot create resource "networkpolicies"/);
    expect(await api.get(Resources.NetworkPolicy, { namespace: web, name: 'allow-all' })).toBeUndefined();
  });

  it('is forbidden to change or delete the isolation policy, the quota, the LimitRange and the bindings, which stay as they were', async () => {
    const targets = [
      { r: Resources.NetworkPolicy, name: NETWORK_POLICY, patch: { spec: { ingress: [{}] } } },
      {
        r: Resources.ResourceQuota,
        name: RESOURCE_QUOTA,
        patch: { spec: { hard: { 'requests.cpu': '1000' } } },
      },
      { r: Resources.LimitRange, name: LIMIT_RANGE, patch: { spec: { limits: [] } } },
      { r: Resources.RoleBinding, name: STAFF_BINDING, patch: { roleRef: { name: 'cluster-admin' } } },
    ];
    for (const { r, name, patch } of targets) {
      const before = await snapshot(r, web, name);
      const patched = await rejection(member.mergePatch(r, { namespace: web, name }, patch));
      expect(patched.code, `patch ${r.kind}`).toBe('Forbidden');
      expect(patched.message).toMatch(new RegExp(`cannot patch resource "${r.plural}"`));
      const deleted = await rejection(member.delete(r, { namespace: web, name }));
      expect(deleted.code, `delete ${r.kind}`).toBe('Forbidden');
      expect(await snapshot(r, web, name), `${r.kind} ${name} afterwards`).toBe(before);
    }
  });

  it('is forbidden to grant itself a role in the namespace, and no binding is created', async () => {
    const err = await rejection(
      member.create(Resources.RoleBinding, {
        metadata: { name: 'mine', namespace: web },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' },
        subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: people.Member }],
      }),
    );
    expect(err.code).toBe('Forbidden');
    expect(await api.get(Resources.RoleBinding, { namespace: web, name: 'mine' })).toBeUndefined();
  });

  it('is forbidden to relabel its namespace to Pod Security privileged, or to delete it', async () => {
    const before = await snapshot(Resources.Namespace, undefined, web);
    const relabel = await rejection(
      member.mergePatch(
        Resources.Namespace,
        { name: web },
        { metadata: { labels: { 'pod-security.kubernetes.io/enforce': 'privileged' } } },
      ),
    );
    expect(relabel.code).toBe('Forbidden');
    expect(relabel.message).toMatch(/cannot patch resource "namespaces"/);
    expect((await rejection(member.delete(Resources.Namespace, { name: web }))).code).toBe('Forbidden');
    expect(await snapshot(Resources.Namespace, undefined, web)).toBe(before);
    expect(before).toContain('"pod-security.kubernetes.io/enforce":"restricted"');
  });
});

describe('level-based repair', () => {
  it('puts back the quota, the LimitRange and the Pod Security labels that an administrator changed or deleted', async () => {
    await api.mergePatch(
      Resources.ResourceQuota,
      { namespace: mobile, name: RESOURCE_QUOTA },
      { spec: { hard: { pods: '1000' } } },
    );
    await api.delete(Resources.LimitRange, { namespace: mobile, name: LIMIT_RANGE });
    await api.mergePatch(
      Resources.Namespace,
      { name: mobile },
      { metadata: { labels: { 'pod-security.kubernetes.io/enforce': 'privileged' } } },
    );
    await eventually('the quota back at 50 pods', async () => {
      const q = (await api.get(Resources.ResourceQuota, { namespace: mobile, name: RESOURCE_QUOTA })) as
        { spec: { hard: Record<string, string> } } | undefined;
      return q?.spec.hard.pods === '50' ? true : undefined;
    });
    const limits = await eventually(
      'the LimitRange back',
      async () =>
        (await api.get(Resources.LimitRange, { namespace: mobile, name: LIMIT_RANGE })) as
          { spec: { limits: { type: string; defaultRequest?: Record<string, string> }[] } } | undefined,
    );
    expect(limits.spec.limits[0]).toMatchObject({ type: 'Container', defaultRequest: { cpu: '100m' } });
    await eventually('the namespace back at restricted', async () => {
      const ns = (await api.get(Resources.Namespace, { name: mobile })) as
        { metadata: { labels?: Record<string, string> } } | undefined;
      return ns?.metadata.labels?.['pod-security.kubernetes.io/enforce'] === 'restricted' ? true : undefined;
    });
  });
});

describe('moving off the edit role', () => {
  it('replaces a staff binding to edit, left by an earlier version, with one to the project’s staff role', async () => {
    const key = { namespace: mobile, name: STAFF_BINDING };
    const current = (await api.get(Resources.RoleBinding, key)) as {
      metadata: { labels: Record<string, string> };
      subjects: unknown[];
    };
    // As an earlier operator left it: same name and labels, bound to edit. roleRef cannot change in place, and
    // the operator may put its own binding back between the delete and the create, so this retries.
    await eventually('a staff binding to edit', async () => {
      await api.delete(Resources.RoleBinding, key);
      try {
        await api.create(Resources.RoleBinding, {
          metadata: { ...key, labels: current.metadata.labels },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' },
          subjects: current.subjects,
        });
        return true;
      } catch {
        return undefined;
      }
    });
    // Any change brings the workspace back, as an upgraded operator's first pass would.
    // (A NotFound here means the operator is already replacing it.)
    await api
      .mergePatch(Resources.RoleBinding, key, { metadata: { annotations: { touched: 'yes' } } })
      .catch(() => undefined);
    await eventually('the binding to the project role', async () => {
      const b = (await api.get(Resources.RoleBinding, key)) as { roleRef: { name: string } } | undefined;
      return b?.roleRef.name === 'taskjuice-workspace-staff' ? true : undefined;
    });
    expect(
      await can(people.Member, 'create', {
        group: 'networking.k8s.io',
        resource: 'networkpolicies',
        namespace: mobile,
      }),
    ).toBe(false);
    expect(await can(people.Member, 'create', { group: '', resource: 'pods', namespace: mobile })).toBe(true);
  });
});

interface Row {
  where: string;
  group: string;
  resource: string;
  subresource: string | undefined;
  verbs: string[];
  allowed: Record<keyof typeof people, boolean>;
}

/** The rows of the table under "## The table" in docs/permissions.md. */
function permissionTable(): Row[] {
  const text = readFileSync(join(REPO_ROOT, 'docs', 'permissions.md'), 'utf8');
  const section = text.slice(text.indexOf('## The table'));
  const rows: Row[] = [];
  for (const line of section.split('\n')) {
    if (!line.startsWith('|')) continue;
    const cells = line
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim());
    if (cells[0] === 'where' || /^-+$/.test(cells[0] ?? '')) continue;
    const [where, spec, verbs, ...who] = cells;
    if (!where || !spec || !verbs || who.length !== 4) throw new Error(`malformed row: ${line}`);
    const dot = spec.indexOf('.');
    const [resource = '', subresource] = (dot < 0 ? spec : spec.slice(0, dot)).split('/');
    const yes = (cell: string | undefined) => {
      if (cell !== 'yes' && cell !== 'no') throw new Error(`a cell must be yes or no: ${line}`);
      return cell === 'yes';
    };
    rows.push({
      where,
      group: dot < 0 ? '' : spec.slice(dot + 1),
      resource,
      subresource,
      verbs: verbs.split(',').map((v) => v.trim()),
      allowed: { Owner: yes(who[0]), Admin: yes(who[1]), Member: yes(who[2]), Client: yes(who[3]) },
    });
  }
  return rows;
}

const NAMESPACES: Record<string, string> = {
  home: acme,
  workspace: web,
  'sibling workspace': mobile,
  'other account': otherAccount,
};

describe('the permissions table of docs/permissions.md', () => {
  const rows = permissionTable();

  it('holds in every cell: the API server decides each verb for each person as the table says', async () => {
    expect(rows.length).toBeGreaterThan(40);
    const wrong: string[] = [];
    await Promise.all(
      rows.map(async (row) => {
        const namespace = NAMESPACES[row.where];
        if (!namespace) throw new Error(`unknown place "${row.where}" in the table`);
        for (const verb of row.verbs) {
          for (const [who, expected] of Object.entries(row.allowed)) {
            const target = {
              group: row.group,
              resource: row.resource,
              ...(row.subresource ? { subresource: row.subresource } : {}),
              namespace,
              // A rule on namespaces, bound in a namespace, is about that namespace itself.
              ...(row.resource === 'namespaces' ? { name: namespace } : {}),
            };
            const got = await can(people[who as keyof typeof people], verb, target);
            if (got !== expected)
              wrong.push(`${row.where} ${row.resource} ${verb} ${who}: table ${expected}, cluster ${got}`);
          }
        }
      }),
    );
    expect(wrong).toEqual([]);
  });

  it('has a workspace row for every resource the staff and client roles grant', () => {
    const listed = new Set(
      rows
        .filter((r) => r.where === 'workspace')
        .map((r) => `${r.group}/${r.resource}${r.subresource ? `/${r.subresource}` : ''}`),
    );
    const granted = [...workspaceStaffRules, ...workspaceClientRules].flatMap((rule) =>
      rule.apiGroups.flatMap((g) => rule.resources.map((r) => `${g}/${r}`)),
    );
    expect(granted.filter((g) => !listed.has(g))).toEqual([]);
  });
});
