import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig, type Config } from '../../operator/src/config.js';
import type { Api } from '../../operator/src/kube/api.js';
import { Resources } from '../../operator/src/kube/resources.js';
import { DEFAULT_WORKSPACE_QUOTA } from '../../operator/src/config.js';
import {
  accountManagerRules,
  accountMemberRules,
  operatorRules,
  workspaceClientRules,
  workspaceStaffRules,
} from '../../operator/src/rbac.js';
import { webhookConfiguration } from '../../operator/src/webhook/configuration.js';
import { REPO_ROOT } from '../../operator/tools/local/install.js';
import { adminApi } from '../support/env.js';
import {
  configEnvironmentNames,
  dryRunAll,
  helm,
  helmTemplate,
  CHART,
  one,
  only,
  podTemplate,
  rbacRules,
  render,
  resolvedEnvironment,
  resourceType,
  type Container,
  type Manifest,
  releaseNamespace,
} from './support.js';

const DATABASE_URL = 'postgres://workspace_operator:secret@postgres.db.svc:5432/workspaces';

let api: Api;
const namespaces: string[] = [];

const newReleaseNamespace = () => releaseNamespace(api, namespaces, 'ship');

beforeAll(async () => {
  api = await adminApi();
});

afterAll(async () => {
  for (const ns of namespaces) await api.delete(Resources.Namespace, { name: ns });
  api.client.close();
});

const operatorContainer = (docs: Manifest[]): Container => {
  const container = podTemplate(one(docs, 'Deployment')).spec.containers.find((c) => c.name === 'operator');
  expect(container).toBeDefined();
  return container as Container;
};

/** The configuration the operator would load from the rendered Deployment. */
function operatorConfig(docs: Manifest[], namespace: string, secrets: Record<string, string> = {}): Config {
  const env = resolvedEnvironment(
    operatorContainer(docs),
    { name: 'workspace-operator-7d9f-abcde', namespace },
    { DATABASE_URL, ...secrets },
  );
  return loadConfig(env);
}

const bindRule = (docs: Manifest[], role: string) =>
  rbacRules(docs).find((r) => r.role === role && r.rule.verbs?.includes('bind'))?.rule;

describe('the Helm chart with default values', () => {
  const release = 'tj';
  const fullname = 'tj-workspace-operator';
  let ns: string;
  let docs: Manifest[];

  beforeAll(async () => {
    ns = await newReleaseNamespace();
    docs = await render(release, ns);
  });

  it('renders the operator, its RBAC, CRDs, webhook, PDB and NetworkPolicy, and each passes a server-side dry run', async () => {
    expect(docs.map((d) => d.kind).sort()).toEqual([
      'ClusterRole',
      'ClusterRole',
      'ClusterRole',
      'ClusterRole',
      'ClusterRole',
      'ClusterRoleBinding',
      'CustomResourceDefinition',
      'CustomResourceDefinition',
      'CustomResourceDefinition',
      'CustomResourceDefinition',
      'CustomResourceDefinition',
      'Deployment',
      'NetworkPolicy',
      'PodDisruptionBudget',
      'Service',
      'ServiceAccount',
      'ValidatingAdmissionPolicy',
      'ValidatingAdmissionPolicyBinding',
      'ValidatingWebhookConfiguration',
    ]);
    for (const doc of docs) {
      expect(doc.metadata.namespace, `${doc.kind} ${doc.metadata.name}`).toBe(
        resourceType(doc).namespaced ? ns : undefined,
      );
    }
    await dryRunAll(api, docs);
  });

  it('runs two replicas of a pod that Pod Security "restricted" admits, writing only to /tmp', async () => {
    const deployment = one(docs, 'Deployment') as Manifest & { spec: { replicas: number } };
    expect(deployment.spec.replicas).toBe(2);
    const template = podTemplate(deployment);
    const container = operatorContainer(docs);
    expect(template.spec.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(container.volumeMounts).toEqual([{ name: 'tmp', mountPath: '/tmp' }]);
    // The namespace enforces "restricted": a pod the policy refused would fail this dry run. The ServiceAccount
    // must exist for a pod to be admitted at all, so it is created for real.
    await api.create(Resources.ServiceAccount, one(docs, 'ServiceAccount'));
    await api.create(
      resourceType({ apiVersion: 'v1', kind: 'Pod' }),
      {
        metadata: { name: `${fullname}-probe`, namespace: ns, labels: template.metadata.labels },
        spec: template.spec,
      },
      { dryRun: true },
    );
  });

  it('sets only variables that operator/src/config.ts reads, and the operator accepts them', () => {
    const known = configEnvironmentNames();
    const names = operatorContainer(docs).env.map((e) => e.name);
    expect(new Set(names).size, 'no variable twice').toBe(names.length);
    expect(names.filter((n) => !known.includes(n))).toEqual([]);
    const config = operatorConfig(docs, ns);
    expect(config.plans).toEqual({ starter: 1, growth: 5, scale: 25 });
    expect(config.leaderElection).toMatchObject({ enabled: true, namespace: ns, name: fullname });
    expect(config.namespace).toBe(ns);
    expect(config.webhook.certMode).toBe('self-signed');
    expect(config.smtp).toBeUndefined();
  });

  it('keeps the operator’s own defaults, except for the names of the release’s objects', () => {
    const pod = { name: 'workspace-operator-7d9f-abcde', namespace: ns };
    const bare = loadConfig({ DATABASE_URL, POD_NAME: pod.name, POD_NAMESPACE: ns });
    // What the chart names after the release, and what follows from those names.
    const unnamed = (c: Config) => ({
      ...c,
      leaderElection: { ...c.leaderElection, name: '' },
      rbac: {
        ...c.rbac,
        staffClusterRole: '',
        clientClusterRole: '',
        accountManagerClusterRole: '',
        accountMemberClusterRole: '',
      },
      webhook: { ...c.webhook, configurationName: '', serviceName: '', secretName: '', dnsNames: [] },
      invitations: { ...c.invitations, acceptBaseUrl: '' },
    });
    expect(unnamed(operatorConfig(docs, ns))).toEqual(unnamed(bare));
  });

  it('names in the environment the objects it renders: webhook configuration, Service, ports and ClusterRoles', () => {
    const config = operatorConfig(docs, ns);
    const vwc = one(docs, 'ValidatingWebhookConfiguration');
    const service = one(docs, 'Service') as Manifest & {
      spec: { ports: { name: string; port: number; targetPort: string }[] };
    };
    expect(config.webhook.configurationName).toBe(vwc.metadata.name);
    expect(config.webhook.serviceName).toBe(service.metadata.name);
    expect(config.webhook.dnsNames).toContain(`${service.metadata.name}.${ns}.svc`);
    expect(service.spec.ports).toEqual([
      { name: 'https', port: 443, targetPort: 'https', protocol: 'TCP' },
      { name: 'accept', port: 8443, targetPort: 'accept', protocol: 'TCP' },
      { name: 'metrics', port: 8080, targetPort: 'metrics', protocol: 'TCP' },
    ]);
    const container = operatorContainer(docs);
    const port = (name: string) => container.ports?.find((p) => p.name === name)?.containerPort;
    expect(port('https')).toBe(config.webhook.port);
    expect(port('https')).toBe(9443);
    expect(port('accept')).toBe(config.invitations.acceptPort);
    expect(port('accept')).toBe(8443);
    expect(
      config.webhook.clientCaFile,
      'client auth needs API server flags, so it is opt-in',
    ).toBeUndefined();
    expect(port('metrics')).toBe(config.http.metricsPort);
    expect(port('health')).toBe(config.http.healthPort);
    expect(container.livenessProbe?.httpGet?.path).toBe('/healthz');
    expect(container.readinessProbe?.httpGet?.path).toBe('/readyz');
    expect(bindRule(docs, fullname)?.resourceNames).toEqual([
      config.rbac.accountManagerClusterRole,
      config.rbac.accountMemberClusterRole,
      config.rbac.staffClusterRole,
      config.rbac.clientClusterRole,
    ]);
  });

  it('renders the RBAC rules of operator/src/rbac.ts under names of the release’s own, with no wildcard anywhere', () => {
    expect((one(docs, 'ClusterRole', fullname) as Manifest & { rules: unknown }).rules).toEqual(
      operatorRules([
        `${fullname}-account-manager`,
        `${fullname}-account-member`,
        `${fullname}-workspace-staff`,
        `${fullname}-workspace-client`,
      ]),
    );
    const rules = (name: string) => (one(docs, 'ClusterRole', name) as Manifest & { rules: unknown }).rules;
    expect(rules(`${fullname}-workspace-staff`)).toEqual(workspaceStaffRules);
    expect(rules(`${fullname}-workspace-client`)).toEqual(workspaceClientRules);
    expect(rules(`${fullname}-account-manager`)).toEqual(accountManagerRules);
    expect(rules(`${fullname}-account-member`)).toEqual(accountMemberRules);
    expect(operatorConfig(docs, ns).rbac).toEqual({
      staffClusterRole: `${fullname}-workspace-staff`,
      clientClusterRole: `${fullname}-workspace-client`,
      accountManagerClusterRole: `${fullname}-account-manager`,
      accountMemberClusterRole: `${fullname}-account-member`,
    });
    for (const { role, rule } of rbacRules(docs)) {
      for (const values of Object.values(rule))
        expect(values, `${role}: ${JSON.stringify(rule)}`).not.toContain('*');
    }
    const binding = one(docs, 'ClusterRoleBinding') as Manifest & {
      roleRef: { name: string };
      subjects: { kind: string; name: string; namespace: string }[];
    };
    expect(binding.roleRef.name).toBe(fullname);
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: one(docs, 'ServiceAccount').metadata.name, namespace: ns },
    ]);
  });

  it('ships the CRDs of crds/, kept when the release is uninstalled', () => {
    const files = readdirSync(join(REPO_ROOT, 'crds')).filter((n) => n.endsWith('.yaml'));
    const crds = only(docs, 'CustomResourceDefinition');
    expect(crds).toHaveLength(files.length);
    for (const file of files) {
      const expected = parse(readFileSync(join(REPO_ROOT, 'crds', file), 'utf8')) as Manifest & {
        spec: unknown;
      };
      const rendered = one(docs, 'CustomResourceDefinition', expected.metadata.name) as Manifest & {
        spec: unknown;
      };
      expect(rendered.spec).toEqual(expected.spec);
      expect(rendered.metadata.annotations).toEqual({ 'helm.sh/resource-policy': 'keep' });
    }
  });

  it('registers the webhooks the operator defines: failing closed, dry-run safe, never in kube-system', () => {
    const vwc = one(docs, 'ValidatingWebhookConfiguration') as Manifest & {
      webhooks: Record<string, unknown>[];
    };
    expect(vwc.metadata.name).toBe(fullname);
    expect(vwc.metadata.annotations).toBeUndefined();
    expect(vwc.webhooks).toEqual(
      webhookConfiguration({
        name: fullname,
        clientConfig: { service: { name: fullname, namespace: ns, path: '/validate', port: 443 } },
        excludeNamespaces: [ns],
      }).webhooks,
    );
    for (const w of vwc.webhooks) {
      expect(w).toMatchObject({
        failurePolicy: 'Fail',
        sideEffects: 'NoneOnDryRun',
        admissionReviewVersions: ['v1'],
        timeoutSeconds: 5,
        matchPolicy: 'Equivalent',
      });
      // Self-signed mode: the operator writes the CA bundle once it has made its CA.
      expect((w.clientConfig as Record<string, unknown>).caBundle).toBeUndefined();
    }
    expect(vwc.webhooks.map((w) => w.name)).toEqual([
      'accounts.taskjuice.io',
      'workspaces.taskjuice.io',
      'connection-credentials.taskjuice.io',
      'namespaces.taskjuice.io',
    ]);
    expect(vwc.webhooks[1]?.namespaceSelector).toEqual({
      matchExpressions: [
        {
          key: 'kubernetes.io/metadata.name',
          operator: 'NotIn',
          values: ['kube-system', 'kube-public', 'kube-node-lease', ns],
        },
      ],
    });
    expect(vwc.webhooks[2]?.objectSelector).toEqual({
      matchLabels: { 'taskjuice.io/connection-credentials': 'true' },
    });
    expect(vwc.webhooks[3]?.objectSelector).toEqual({
      matchLabels: { 'app.kubernetes.io/managed-by': 'workspace-operator' },
    });
  });

  it('keeps one of the two replicas through voluntary disruptions and opens only the operator’s ports', () => {
    const pdb = one(docs, 'PodDisruptionBudget') as Manifest & {
      spec: { minAvailable: number; selector: { matchLabels: Record<string, string> } };
    };
    expect(pdb.spec.minAvailable).toBe(1);
    expect(pdb.spec.selector.matchLabels).toEqual(podTemplate(one(docs, 'Deployment')).metadata.labels);
    const policy = one(docs, 'NetworkPolicy') as Manifest & {
      spec: { policyTypes: string[]; ingress: { ports: { port: string }[]; from?: unknown }[] };
    };
    expect(policy.spec.policyTypes).toEqual(['Ingress']);
    expect(policy.spec.ingress.map((r) => r.ports.map((p) => p.port))).toEqual([
      ['https'],
      ['accept'],
      ['metrics'],
      ['health'],
    ]);
    expect(policy.spec.ingress[0]?.from, 'the API server may call the webhook from anywhere').toBeUndefined();
    expect(policy.spec.ingress[1]?.from, 'browsers reach /accept from anywhere').toBeUndefined();
  });
});

describe('the Helm chart with non-default values', () => {
  const release = 'agencies';
  const fullname = 'agencies-workspace-operator';
  const values = {
    replicaCount: 3,
    plans: [
      { name: 'solo', workspaces: 1 },
      { name: 'agency', workspaces: 10 },
      { name: 'enterprise', workspaces: 100 },
    ],
    crds: { keep: false },
    rbac: { staffClusterRole: 'agency-staff', clientClusterRole: 'agency-client' },
    // Helm merges these maps into the chart's: an entry overrides one, null drops one.
    workspaces: {
      podSecurityLevel: 'baseline',
      quota: { pods: '20', 'requests.storage': null },
      limitRange: { default: null, defaultRequest: null },
    },
    webhook: {
      certificate: { mode: 'cert-manager' },
      timeoutSeconds: 3,
      excludeNamespaces: ['legacy'],
      clientAuth: { caConfigMap: 'apiserver-webhook-client-ca', names: ['kube-apiserver-webhook-client'] },
    },
    invitations: { acceptPort: 9444, rateLimit: { perSecond: 50, clientBurst: 3 } },
    metrics: { serviceMonitor: { enabled: true, interval: '15s', labels: { release: 'prometheus' } } },
    ingress: {
      enabled: true,
      className: 'nginx',
      host: 'portal.agency.example',
      annotations: { 'nginx.ingress.kubernetes.io/backend-protocol': 'HTTPS' },
      tls: { secretName: 'portal-tls' },
    },
    smtp: {
      host: 'smtp.agency.example',
      from: 'Portal <no-reply@agency.example>',
      existingSecret: 'smtp-auth',
    },
    database: {
      clientHost: 'pgbouncer.db.svc',
      clientPort: 6432,
      clientSslMode: 'verify-full',
      clientCA: { secretName: 'db-cluster-ca' },
      poolSize: 20,
    },
    networkPolicy: {
      webhookFrom: [{ ipBlock: { cidr: '10.0.0.0/28' } }],
      acceptFrom: [
        { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } },
      ],
      metricsFrom: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }],
    },
    logLevel: 'debug',
  };
  let ns: string;
  let docs: Manifest[];
  const foreign = (d: Manifest) =>
    d.apiVersion.startsWith('cert-manager.io/') || d.apiVersion.startsWith('monitoring.coreos.com/');

  beforeAll(async () => {
    ns = await newReleaseNamespace();
    docs = await render(release, ns, values);
  });

  it('passes a server-side dry run for every object whose API the test cluster serves', async () => {
    // cert-manager's Issuer and Certificate and the Prometheus Operator's ServiceMonitor need CRDs this cluster
    // does not have: the tests below check their content instead.
    expect(
      docs
        .filter(foreign)
        .map((d) => d.kind)
        .sort(),
    ).toEqual(['Certificate', 'Issuer', 'ServiceMonitor']);
    await dryRunAll(
      api,
      docs.filter((d) => !foreign(d)),
    );
  });

  it('takes its certificate from cert-manager: a self-signed Issuer, a Certificate for the Service, mounted as files', () => {
    const config = operatorConfig(docs, ns, { SMTP_USERNAME: 'portal', SMTP_PASSWORD: 'secret' });
    expect(config.webhook.certMode).toBe('files');
    expect(one(docs, 'Issuer')).toMatchObject({ spec: { selfSigned: {} } });
    const certificate = one(docs, 'Certificate') as Manifest & {
      spec: { secretName: string; dnsNames: string[]; issuerRef: Record<string, string> };
    };
    expect(certificate.spec.secretName).toBe(config.webhook.secretName);
    expect(certificate.spec.dnsNames).toEqual(config.webhook.dnsNames);
    expect(certificate.spec.issuerRef).toEqual({
      name: one(docs, 'Issuer').metadata.name,
      kind: 'Issuer',
      group: 'cert-manager.io',
    });
    const vwc = one(docs, 'ValidatingWebhookConfiguration') as Manifest & {
      webhooks: { timeoutSeconds: number }[];
    };
    expect(vwc.metadata.annotations).toEqual({
      'cert-manager.io/inject-ca-from': `${ns}/${certificate.metadata.name}`,
    });
    expect(vwc.webhooks.map((w) => w.timeoutSeconds)).toEqual([3, 3, 3, 3]);
    const pod = podTemplate(one(docs, 'Deployment')).spec;
    const mount = operatorContainer(docs).volumeMounts?.find((m) => m.mountPath === config.webhook.certDir);
    expect(mount?.readOnly).toBe(true);
    expect(pod.volumes?.find((v) => v.name === mount?.name)?.secret?.secretName).toBe(
      certificate.spec.secretName,
    );
  });

  it('uses an issuer the platform already has instead of making one', async () => {
    const withIssuer = await render(release, ns, {
      webhook: {
        certificate: {
          mode: 'cert-manager',
          issuerRef: { name: 'cluster-ca', kind: 'ClusterIssuer', group: 'cert-manager.io' },
        },
      },
    });
    expect(only(withIssuer, 'Issuer')).toEqual([]);
    expect(one(withIssuer, 'Certificate')).toMatchObject({
      spec: { issuerRef: { name: 'cluster-ca', kind: 'ClusterIssuer', group: 'cert-manager.io' } },
    });
  });

  it('lets Prometheus scrape /metrics through a ServiceMonitor that selects the Service', () => {
    const monitor = one(docs, 'ServiceMonitor') as Manifest & {
      spec: {
        selector: { matchLabels: Record<string, string> };
        namespaceSelector: { matchNames: string[] };
        endpoints: Record<string, unknown>[];
      };
    };
    const service = one(docs, 'Service');
    expect(monitor.metadata.labels).toMatchObject({ release: 'prometheus' });
    expect(service.metadata.labels).toMatchObject(monitor.spec.selector.matchLabels);
    expect(monitor.spec.namespaceSelector.matchNames).toEqual([ns]);
    expect(monitor.spec.endpoints).toEqual([
      { port: 'metrics', path: '/metrics', scheme: 'http', interval: '15s', scrapeTimeout: '10s' },
    ]);
  });

  it('exposes only /accept through the Ingress, and the invitation links point at it', () => {
    const ingress = one(docs, 'Ingress') as Manifest & {
      spec: { ingressClassName: string; tls: unknown; rules: { host: string; http: { paths: unknown[] } }[] };
    };
    expect(ingress.spec.ingressClassName).toBe('nginx');
    expect(ingress.spec.tls).toEqual([{ hosts: ['portal.agency.example'], secretName: 'portal-tls' }]);
    expect(ingress.spec.rules).toEqual([
      {
        host: 'portal.agency.example',
        http: {
          paths: [
            {
              path: '/accept',
              pathType: 'Exact',
              backend: { service: { name: fullname, port: { name: 'accept' } } },
            },
          ],
        },
      },
    ]);
    const config = operatorConfig(docs, ns, { SMTP_USERNAME: 'portal', SMTP_PASSWORD: 'secret' });
    expect(config.invitations.acceptBaseUrl).toBe('https://portal.agency.example/accept');
  });

  it('passes the plans, replicas, roles, workspace bounds, database, SMTP and log settings to the operator', () => {
    const config = operatorConfig(docs, ns, { SMTP_USERNAME: 'portal', SMTP_PASSWORD: 'secret' });
    const { 'requests.storage': _dropped, ...kept } = DEFAULT_WORKSPACE_QUOTA;
    expect(config.workspaces).toEqual({
      podSecurityLevel: 'baseline',
      quota: { ...kept, pods: '20' },
      limitRange: {},
    });
    expect((one(docs, 'ClusterRole', 'agency-staff') as Manifest & { rules: unknown }).rules).toEqual(
      workspaceStaffRules,
    );
    expect((one(docs, 'Deployment') as Manifest & { spec: { replicas: number } }).spec.replicas).toBe(3);
    expect(config.plans).toEqual({ solo: 1, agency: 10, enterprise: 100 });
    expect(config.rbac).toMatchObject({
      staffClusterRole: 'agency-staff',
      clientClusterRole: 'agency-client',
    });
    expect(bindRule(docs, fullname)?.resourceNames).toEqual([
      `${fullname}-account-manager`,
      `${fullname}-account-member`,
      'agency-staff',
      'agency-client',
    ]);
    expect(config.database).toMatchObject({
      url: DATABASE_URL,
      clientHost: 'pgbouncer.db.svc',
      clientPort: 6432,
      clientSslMode: 'verify-full',
      clientCaFile: '/etc/workspace-operator/database-ca/ca.crt',
      poolSize: 20,
    });
    // Only the certificate of the CA Secret is mounted: a ca.key beside it never reaches the pod.
    const pod = (
      one(docs, 'Deployment') as Manifest & {
        spec: { template: { spec: { volumes: { name: string; secret?: unknown }[] } } };
      }
    ).spec.template.spec;
    expect(pod.volumes.find((v) => v.name === 'database-ca')?.secret).toEqual({
      secretName: 'db-cluster-ca',
      items: [{ key: 'ca.crt', path: 'ca.crt' }],
    });
    expect(config.smtp).toMatchObject({
      host: 'smtp.agency.example',
      port: 587,
      secure: false,
      from: 'Portal <no-reply@agency.example>',
      username: 'portal',
      password: 'secret',
    });
    const smtpSecrets = operatorContainer(docs)
      .env.filter((e) => e.name.startsWith('SMTP_') && e.valueFrom)
      .map((e) => [e.name, e.valueFrom?.secretKeyRef]);
    expect(smtpSecrets).toEqual([
      ['SMTP_USERNAME', { name: 'smtp-auth', key: 'username' }],
      ['SMTP_PASSWORD', { name: 'smtp-auth', key: 'password' }],
    ]);
    expect(config.logLevel).toBe('debug');
    const vwc = one(docs, 'ValidatingWebhookConfiguration') as Manifest & {
      webhooks: { namespaceSelector?: { matchExpressions: { values: string[] }[] } }[];
    };
    expect(vwc.webhooks[1]?.namespaceSelector?.matchExpressions[0]?.values).toEqual([
      'kube-system',
      'kube-public',
      'kube-node-lease',
      ns,
      'legacy',
    ]);
  });

  it('lets go of the CRDs on uninstall when crds.keep is false, and leaves them out when crds.install is false', async () => {
    for (const crd of only(docs, 'CustomResourceDefinition'))
      expect(crd.metadata.annotations).toBeUndefined();
    const without = await render(release, ns, { crds: { install: false } });
    expect(only(without, 'CustomResourceDefinition')).toEqual([]);
  });

  it('admits to the webhook, accept and metrics ports only the peers each value names', () => {
    const policy = one(docs, 'NetworkPolicy') as Manifest & {
      spec: { ingress: { ports: { port: string }[]; from?: unknown }[] };
    };
    const from = (port: string) =>
      policy.spec.ingress.find((r) => r.ports.some((p) => p.port === port))?.from;
    expect(from('https')).toEqual(values.networkPolicy.webhookFrom);
    expect(from('accept')).toEqual(values.networkPolicy.acceptFrom);
    expect(from('metrics')).toEqual(values.networkPolicy.metricsFrom);
  });

  it('requires the API server’s client certificate from the CA ConfigMap given, mounted so a rotation reaches the operator', () => {
    const config = operatorConfig(docs, ns, { SMTP_USERNAME: 'portal', SMTP_PASSWORD: 'secret' });
    const spec = podTemplate(one(docs, 'Deployment')).spec as {
      volumes: { name: string; configMap?: { name: string } }[];
    };
    const volume = spec.volumes.find((v) => v.configMap?.name === 'apiserver-webhook-client-ca');
    expect(volume).toBeDefined();
    const mount = operatorContainer(docs).volumeMounts?.find((m) => m.name === volume?.name);
    // A subPath mount would freeze the file at its first content.
    expect(mount).toMatchObject({ readOnly: true });
    expect(mount).not.toHaveProperty('subPath');
    expect(config.webhook.clientCaFile).toBe(`${mount?.mountPath}/ca.crt`);
    expect(config.webhook.clientNames).toEqual(['kube-apiserver-webhook-client']);
  });

  it('serves /accept on its own port with the rate limits given, and the Service and Ingress point at it', () => {
    const config = operatorConfig(docs, ns, { SMTP_USERNAME: 'portal', SMTP_PASSWORD: 'secret' });
    const service = one(docs, 'Service') as Manifest & {
      spec: { ports: { name: string; port: number; targetPort: string }[] };
    };
    const container = operatorContainer(docs);
    expect(config.invitations.acceptPort).toBe(9444);
    expect(container.ports?.find((p) => p.name === 'accept')?.containerPort).toBe(9444);
    expect(service.spec.ports.find((p) => p.name === 'accept')).toMatchObject({
      port: 9444,
      targetPort: 'accept',
    });
    expect(config.invitations.rate).toEqual({ perSecond: 50, burst: 40, clientPerSecond: 5, clientBurst: 3 });
  });

  it('refuses a plan listed twice, naming it', async () => {
    const result = await helmTemplate(release, ns, {
      plans: [
        { name: 'growth', workspaces: 5 },
        { name: 'growth', workspaces: 10 },
      ],
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/plans: growth is listed twice/);
  });

  it('has no PodDisruptionBudget with a single replica, which would block every node drain', async () => {
    const single = await render(release, ns, { replicaCount: 1, leaderElection: { enabled: false } });
    expect(only(single, 'PodDisruptionBudget')).toEqual([]);
    expect(operatorConfig(single, ns).leaderElection.enabled).toBe(false);
  });
});

describe('helm lint', () => {
  it('passes for the default values', async () => {
    const result = await helm(['lint', '--strict', CHART]);
    expect(result.stdout + result.stderr).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
    expect(result.code).toBe(0);
  });

  it('passes in cert-manager mode with the ServiceMonitor and Ingress on', async () => {
    const result = await helm([
      'lint',
      '--strict',
      CHART,
      '--set',
      'webhook.certificate.mode=cert-manager,metrics.serviceMonitor.enabled=true,ingress.enabled=true,ingress.host=portal.example.com',
    ]);
    expect(result.stdout + result.stderr).toMatch(/0 chart\(s\) failed/);
    expect(result.code).toBe(0);
  });
});

describe('the values schema', () => {
  it.each([
    ['a replicaCount of 0', { replicaCount: 0 }, /at '\/replicaCount': minimum/],
    [
      'a certificate mode other than self-signed or cert-manager',
      { webhook: { certificate: { mode: 'vault' } } },
      /at '\/webhook\/certificate\/mode'/,
    ],
    [
      'a plan name with upper case and a space',
      { plans: [{ name: 'Gold Plan', workspaces: 3 }] },
      /at '\/plans\/0\/name'/,
    ],
    [
      'a negative plan limit',
      { plans: [{ name: 'growth', workspaces: -1 }] },
      /at '\/plans\/0\/workspaces': minimum/,
    ],
    ['an empty plan catalog', { plans: [] }, /at '\/plans': minItems/],
    ['an unknown log level', { logLevel: 'loud' }, /at '\/logLevel': value must be one of/],
    [
      'an empty database Secret name',
      { database: { existingSecret: '' } },
      /at '\/database\/existingSecret'/,
    ],
    [
      'a database name prefix of more than 8 characters',
      { database: { namePrefix: 'workspace_' } },
      /at '\/database\/namePrefix'/,
    ],
    ['an unknown top-level key', { replicas: 3 }, /additional properties 'replicas' not allowed/],
    [
      'a staff ClusterRole name with a space',
      { rbac: { staffClusterRole: 'Edit Role' } },
      /at '\/rbac\/staffClusterRole'/,
    ],
    [
      'an Ingress host written as a URL',
      { ingress: { enabled: true, host: 'https://portal' } },
      /at '\/ingress\/host'/,
    ],
  ])('refuses %s, naming the field', async (_, bad, message) => {
    const result = await helmTemplate('bad', 'default', bad);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/values don't meet the specifications of the schema/);
    expect(result.stderr).toMatch(message);
  });
});
