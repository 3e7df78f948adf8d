import { App } from 'cdk8s';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { accountClusterRoles, operatorRules, workspaceClusterRoles } from '../../operator/src/rbac.js';
import { webhookConfiguration } from '../../operator/src/webhook/configuration.js';
import { OperatorInstall } from './operator-install.js';
import type { Manifest } from './testing.js';

function install(props: ConstructorParameters<typeof OperatorInstall>[2] = {}): Manifest[] {
  const app = new App();
  new OperatorInstall(app, 'install', props);
  return parseAllDocuments(app.synthYaml()).map((d) => d.toJS() as Manifest);
}

const find = (docs: Manifest[], kind: string, name?: string) =>
  docs.find((d) => d.kind === kind && (name === undefined || d.metadata.name === name));

describe('OperatorInstall', () => {
  it('renders the operator ClusterRole from operator/src/rbac.ts, binding the configured roles', () => {
    const docs = install({ staffClusterRole: 'agency-staff', clientClusterRole: 'agency-client' });
    expect(find(docs, 'ClusterRole', 'workspace-operator')?.rules).toEqual(
      operatorRules([
        'taskjuice-account-manager',
        'taskjuice-account-member',
        'agency-staff',
        'agency-client',
      ]),
    );
    for (const role of accountClusterRoles({})) {
      expect(find(docs, 'ClusterRole', role.metadata.name)?.rules).toEqual(role.rules);
    }
    for (const role of workspaceClusterRoles({}, { staff: 'agency-staff', client: 'agency-client' })) {
      expect(find(docs, 'ClusterRole', role.metadata.name)?.rules).toEqual(role.rules);
    }
  });

  it('creates the project-owned workspace roles by default, and passes the workspace bounds to the operator', () => {
    const docs = install({ podSecurityLevel: 'baseline', workspaceQuota: { pods: '10' } });
    for (const role of workspaceClusterRoles({})) {
      expect(find(docs, 'ClusterRole', role.metadata.name)?.rules).toEqual(role.rules);
    }
    const deployment = find(docs, 'Deployment') as Manifest & {
      spec: { template: { spec: { containers: { env?: { name: string; value?: string }[] }[] } } };
    };
    const env = Object.fromEntries(
      (deployment.spec.template.spec.containers[0]?.env ?? []).map((e) => [e.name, e.value]),
    );
    expect(env).toMatchObject({
      STAFF_CLUSTER_ROLE: 'taskjuice-workspace-staff',
      CLIENT_CLUSTER_ROLE: 'taskjuice-workspace-client',
      POD_SECURITY_LEVEL: 'baseline',
      WORKSPACE_QUOTA: '{"pods":"10"}',
    });
    expect(JSON.parse(env.WORKSPACE_LIMIT_RANGE ?? '{}')).toHaveProperty('defaultRequest');
  });

  it('renders the webhook configuration the operator itself defines, leaving out its own namespace', () => {
    const docs = install({ namespace: 'ops' });
    const vwc = find(docs, 'ValidatingWebhookConfiguration');
    expect(vwc?.webhooks).toEqual(
      webhookConfiguration({
        name: 'workspace-operator',
        clientConfig: {
          service: { name: 'workspace-operator', namespace: 'ops', path: '/validate', port: 443 },
        },
        excludeNamespaces: ['ops'],
      }).webhooks,
    );
    expect(vwc?.metadata.namespace).toBeUndefined();
  });

  it('puts namespaced objects in the operator namespace and cluster-scoped ones nowhere', () => {
    const docs = install({ namespace: 'ops' });
    const clusterScoped = new Set([
      'Namespace',
      'CustomResourceDefinition',
      'ClusterRole',
      'ClusterRoleBinding',
      'ValidatingAdmissionPolicy',
      'ValidatingAdmissionPolicyBinding',
      'ValidatingWebhookConfiguration',
    ]);
    for (const doc of docs) {
      expect(doc.metadata.namespace, `${doc.kind} ${doc.metadata.name}`).toBe(
        clusterScoped.has(doc.kind) ? undefined : 'ops',
      );
    }
    expect(docs.filter((d) => d.kind === 'CustomResourceDefinition').map((d) => d.metadata.name)).toEqual([
      'accounts.taskjuice.io',
      'clientinvitations.taskjuice.io',
      'connections.taskjuice.io',
      'databaseservers.taskjuice.io',
      'workspaces.taskjuice.io',
    ]);
  });

  it('runs the pod as Pod Security "restricted" asks, with /tmp as the only writable path', () => {
    const deployment = find(install(), 'Deployment') as {
      spec: { template: { spec: Record<string, unknown> } };
    } & Manifest;
    const pod = deployment.spec.template.spec as {
      securityContext: Record<string, unknown>;
      containers: { securityContext: Record<string, unknown>; volumeMounts: { mountPath: string }[] }[];
    };
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod.containers[0]?.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(pod.containers[0]?.volumeMounts.map((m) => m.mountPath)).toEqual(['/tmp']);
  });

  it('selects its pods by the standard labels, the same in the Deployment, the Service and the PDB', () => {
    const docs = install();
    const deployment = find(docs, 'Deployment') as Manifest & {
      spec: {
        selector: { matchLabels: Record<string, string> };
        template: { metadata: { labels: Record<string, string> } };
      };
    };
    const selector = {
      'app.kubernetes.io/name': 'workspace-operator',
      'app.kubernetes.io/instance': 'workspace-operator',
    };
    expect(deployment.spec.selector.matchLabels).toEqual(selector);
    expect(deployment.spec.template.metadata.labels).toMatchObject(selector);
    expect((find(docs, 'Service') as Manifest & { spec: { selector: unknown } }).spec.selector).toEqual(
      selector,
    );
    expect(
      (find(docs, 'PodDisruptionBudget') as Manifest & { spec: { selector: { matchLabels: unknown } } }).spec
        .selector.matchLabels,
    ).toEqual(selector);
  });
});
