import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConfig } from '../../operator/src/config.js';
import type { Api } from '../../operator/src/kube/api.js';
import { Resources } from '../../operator/src/kube/resources.js';
import { adminApi, uniqueName } from '../support/env.js';
import {
  CHART,
  configEnvironmentNames,
  dryRunAll,
  helm,
  helmTemplate,
  KUBE_VERSION,
  one,
  only,
  parseManifests,
  podTemplate,
  rbacRules,
  render,
  resolvedEnvironment,
  resourceType,
  type Container,
  type Manifest,
  releaseNamespace,
} from './support.js';

/** The values teams add beside the operator's own settings: the chart's escape hatches. */

const DATABASE_URL = 'postgres://workspace_operator:secret@postgres.db.svc:5432/workspaces';
const MONITORING = new Set(['ServiceMonitor', 'PodMonitor']);

let api: Api;
const namespaces: string[] = [];
const clusterObjects: Manifest[] = [];

const newReleaseNamespace = () => releaseNamespace(api, namespaces, 'values');

beforeAll(async () => {
  api = await adminApi();
});

afterAll(async () => {
  for (const doc of clusterObjects) await api.delete(resourceType(doc), { name: doc.metadata.name });
  for (const ns of namespaces) await api.delete(Resources.Namespace, { name: ns });
  api.client.close();
});

const operatorContainer = (docs: Manifest[]): Container => {
  const container = podTemplate(one(docs, 'Deployment')).spec.containers.find((c) => c.name === 'operator');
  expect(container).toBeDefined();
  return container as Container;
};

const operatorConfig = (docs: Manifest[], namespace: string) =>
  loadConfig(
    resolvedEnvironment(
      operatorContainer(docs),
      { name: 'workspace-operator-7d9f-abcde', namespace },
      { DATABASE_URL },
    ),
  );

const clusterScoped = (docs: Manifest[]) => docs.filter((d) => !resourceType(d).namespaced);

describe('the chart as a dependency of an umbrella chart', () => {
  let dir: string;
  let ns: string;

  beforeAll(async () => {
    ns = await newReleaseNamespace();
    dir = mkdtempSync(join(tmpdir(), 'umbrella-'));
    writeFileSync(
      join(dir, 'Chart.yaml'),
      stringify({
        apiVersion: 'v2',
        name: 'platform',
        version: '1.0.0',
        dependencies: [{ name: 'workspace-operator', version: '0.2.0', repository: `file://${CHART}` }],
      }),
    );
    // What `helm dependency build` would unpack under charts/, without reaching for a repository.
    cpSync(CHART, join(dir, 'charts', 'workspace-operator'), { recursive: true });
  });

  const umbrella = (values: Record<string, unknown>) => {
    const file = join(dir, `values-${uniqueName('v')}.yaml`);
    writeFileSync(file, stringify(values));
    return helm(['template', 'platform', dir, '--namespace', ns, '--kube-version', KUBE_VERSION, '-f', file]);
  };

  it('renders with the umbrella’s global block and its values for the subchart, and passes a dry run', async () => {
    const result = await umbrella({
      global: { imageRegistry: 'registry.example.com', imagePullSecrets: [{ name: 'regcred' }] },
      'workspace-operator': { replicaCount: 1, leaderElection: { enabled: false }, crds: { install: false } },
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const docs = parseManifests(result.stdout);
    const deployment = one(docs, 'Deployment') as Manifest & { spec: { replicas: number } };
    expect(deployment.metadata.name).toBe('platform-workspace-operator');
    expect(deployment.spec.replicas).toBe(1);
    expect(only(docs, 'PodDisruptionBudget')).toEqual([]);
    expect(operatorConfig(docs, ns).rbac.staffClusterRole).toBe(
      'platform-workspace-operator-workspace-staff',
    );
    await dryRunAll(api, docs);
  });

  it('still refuses a bad value given through the umbrella, naming it', async () => {
    const result = await umbrella({ global: {}, 'workspace-operator': { replicas: 3 } });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/additional properties 'replicas' not allowed/);
  });
});

describe('two releases side by side', () => {
  let first: { ns: string; fullname: string; docs: Manifest[] };
  let second: { ns: string; fullname: string; docs: Manifest[] };

  beforeAll(async () => {
    const release = async (values: Record<string, unknown>) => {
      const ns = await newReleaseNamespace();
      const name = uniqueName('ops');
      return { ns, fullname: `${name}-workspace-operator`, docs: await render(name, ns, values) };
    };
    first = await release({});
    // The CRDs are the cluster's, once: the second release leaves them to the first.
    second = await release({ crds: { install: false } });
  });

  it('share no cluster-wide name: ClusterRoles, the binding, the webhook configuration, the admission policy', () => {
    const names = (docs: Manifest[]) => clusterScoped(docs).map((d) => `${d.kind}/${d.metadata.name}`);
    const firstNames = names(first.docs).filter((n) => !n.startsWith('CustomResourceDefinition/'));
    expect(firstNames).toHaveLength(9);
    expect(names(second.docs).filter((n) => firstNames.includes(n))).toEqual([]);
  });

  it('each tell their operator, and let it bind, the roles they create and no other', () => {
    for (const { ns, fullname, docs } of [first, second]) {
      const roles = operatorConfig(docs, ns).rbac;
      const created = only(docs, 'ClusterRole').map((d) => d.metadata.name);
      expect(created.sort()).toEqual([fullname, ...Object.values(roles)].sort());
      const bind = rbacRules(docs).find((r) => r.role === fullname && r.rule.verbs?.includes('bind'));
      expect(bind?.rule.resourceNames?.sort()).toEqual(Object.values(roles).sort());
      const binding = one(docs, 'ClusterRoleBinding') as Manifest & {
        roleRef: { name: string };
        subjects: { namespace: string }[];
      };
      expect(binding.roleRef.name).toBe(fullname);
      expect(binding.subjects.map((s) => s.namespace)).toEqual([ns]);
    }
  });

  it('apply one after the other without touching each other’s objects', async () => {
    // The first release's RBAC exists for real; the second is applied as a dry run without force, so an object of
    // the same name (whose labels another manager owns) would fail with a conflict.
    const rbac = clusterScoped(first.docs).filter((d) => d.kind.startsWith('ClusterRole'));
    for (const doc of rbac) {
      await api.apply(resourceType(doc), doc, { fieldManager: 'release-first', force: false });
      clusterObjects.push(doc);
    }
    await dryRunAll(
      api,
      first.docs.filter((d) => !rbac.includes(d)),
    );
    for (const doc of second.docs) {
      await expect(
        api.apply(resourceType(doc), doc, { dryRun: true, fieldManager: 'release-second', force: false }),
        `${doc.kind} ${doc.metadata.name}`,
      ).resolves.toBeDefined();
    }
  });
});

describe('the escape hatches', () => {
  const values = {
    commonLabels: { team: 'platform', 'app.kubernetes.io/name': 'not-the-selector' },
    podLabels: { tier: 'control' },
    extraEnv: [
      { name: 'NODE_OPTIONS', value: '--max-old-space-size=320' },
      { name: 'HTTPS_PROXY', valueFrom: { secretKeyRef: { name: 'proxy', key: 'url' } } },
    ],
    extraEnvFrom: [{ configMapRef: { name: 'proxy-settings' } }],
    extraVolumes: [{ name: 'corporate-ca', configMap: { name: 'corporate-ca' } }],
    extraVolumeMounts: [{ name: 'corporate-ca', mountPath: '/etc/ssl/corporate', readOnly: true }],
    extraObjects: [
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name: '{{ include "workspace-operator.fullname" . }}-extra',
          namespace: '{{ .Release.Namespace }}',
        },
        data: { namespace: '{{ .Release.Namespace }}' },
      },
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-as-text\n  namespace: {{ .Release.Namespace }}\n',
    ],
    livenessProbe: { initialDelaySeconds: 5, periodSeconds: 20, timeoutSeconds: 3, failureThreshold: 4 },
    startupProbe: { initialDelaySeconds: 0, periodSeconds: 5, timeoutSeconds: 2, failureThreshold: 120 },
    metrics: {
      serviceMonitor: {
        enabled: true,
        relabelings: [
          { action: 'replace', sourceLabels: ['__meta_kubernetes_pod_node_name'], targetLabel: 'node' },
        ],
        metricRelabelings: [{ action: 'drop', sourceLabels: ['__name__'], regex: 'nodejs_gc_.*' }],
      },
    },
  };
  const release = 'hatch';
  const fullname = 'hatch-workspace-operator';
  let ns: string;
  let docs: Manifest[];
  let defaults: Manifest[];

  beforeAll(async () => {
    ns = await newReleaseNamespace();
    docs = await render(release, ns, values);
    defaults = await render(release, ns);
  });

  it('render objects that pass a server-side dry run', async () => {
    await dryRunAll(
      api,
      docs.filter((d) => !MONITORING.has(d.kind)),
    );
  });

  it('put commonLabels on every object and pod, never on the selector', () => {
    // extraObjects are the platform's own manifests, rendered as given.
    const chartObjects = docs.filter((d) => d.kind !== 'ConfigMap');
    expect(chartObjects.length).toBeGreaterThan(15);
    for (const doc of chartObjects)
      expect(doc.metadata.labels, `${doc.kind} ${doc.metadata.name}`).toHaveProperty('team', 'platform');
    const deployment = one(docs, 'Deployment') as Manifest & {
      spec: { selector: { matchLabels: Record<string, string> } };
    };
    const selector = {
      'app.kubernetes.io/name': 'workspace-operator',
      'app.kubernetes.io/instance': release,
    };
    expect(deployment.spec.selector.matchLabels).toEqual(selector);
    expect(deployment.metadata.labels).toMatchObject(selector);
    expect(podTemplate(deployment).metadata.labels).toEqual({
      ...selector,
      team: 'platform',
      tier: 'control',
    });
    expect((one(docs, 'Service') as Manifest & { spec: { selector: unknown } }).spec.selector).toEqual(
      selector,
    );
  });

  it('add environment, envFrom, volumes and mounts after the chart’s own', () => {
    const container = operatorContainer(docs) as Container & { envFrom?: unknown };
    const names = container.env.map((e) => e.name);
    expect(names.slice(-2)).toEqual(['NODE_OPTIONS', 'HTTPS_PROXY']);
    // A NODE_OPTIONS of extraEnv takes the place of the chart's (a duplicate name fails server-side apply).
    expect(names.slice(0, -2)).toEqual(
      operatorContainer(defaults)
        .env.map((e) => e.name)
        .filter((n) => n !== 'NODE_OPTIONS'),
    );
    expect(names.filter((n) => n === 'NODE_OPTIONS')).toHaveLength(1);
    expect(container.envFrom).toEqual(values.extraEnvFrom);
    expect(container.volumeMounts).toEqual([{ name: 'tmp', mountPath: '/tmp' }, ...values.extraVolumeMounts]);
    const volumes = podTemplate(one(docs, 'Deployment')).spec.volumes;
    expect(volumes?.map((v) => v.name)).toEqual(['tmp', 'corporate-ca']);
  });

  it('render extraObjects, maps and strings, through tpl', () => {
    const extra = only(docs, 'ConfigMap') as (Manifest & { data?: Record<string, string> })[];
    expect(extra.map((d) => d.metadata.name)).toEqual([`${fullname}-extra`, `${release}-as-text`]);
    expect(extra[0]?.data).toEqual({ namespace: ns });
  });

  it('take probe timings from the values and keep the paths', () => {
    const container = operatorContainer(docs) as Container & Record<string, { httpGet: unknown }>;
    expect(container.livenessProbe).toEqual({
      httpGet: { path: '/healthz', port: 'health' },
      ...values.livenessProbe,
    });
    expect(container.startupProbe).toEqual({
      httpGet: { path: '/healthz', port: 'health' },
      ...values.startupProbe,
    });
    expect(container.readinessProbe).toEqual({
      httpGet: { path: '/readyz', port: 'health' },
      initialDelaySeconds: 0,
      periodSeconds: 5,
      timeoutSeconds: 2,
      failureThreshold: 2,
    });
  });

  it('relabel on the ServiceMonitor, or on a PodMonitor that selects the pods, but never both at once', async () => {
    const endpoint = (doc: Manifest, key: string) =>
      (doc as unknown as { spec: Record<string, unknown[]> }).spec[key]?.[0];
    const { relabelings, metricRelabelings } = values.metrics.serviceMonitor;
    expect(endpoint(one(docs, 'ServiceMonitor'), 'endpoints')).toMatchObject({
      relabelings,
      metricRelabelings,
    });
    const podMonitor = await render(release, ns, {
      metrics: {
        podMonitor: { enabled: true, labels: { release: 'prometheus' }, relabelings, metricRelabelings },
      },
    });
    expect(only(podMonitor, 'ServiceMonitor')).toEqual([]);
    const monitor = one(podMonitor, 'PodMonitor') as Manifest & {
      spec: { selector: { matchLabels: Record<string, string> }; namespaceSelector: unknown };
    };
    expect(monitor.metadata.labels).toMatchObject({ release: 'prometheus' });
    expect(podTemplate(one(podMonitor, 'Deployment')).metadata.labels).toMatchObject(
      monitor.spec.selector.matchLabels,
    );
    expect(monitor.spec.namespaceSelector).toEqual({ matchNames: [ns] });
    expect(endpoint(monitor, 'podMetricsEndpoints')).toEqual({
      port: 'metrics',
      path: '/metrics',
      scheme: 'http',
      interval: '30s',
      scrapeTimeout: '10s',
      relabelings,
      metricRelabelings,
    });
    const both = await helmTemplate(release, ns, {
      metrics: { serviceMonitor: { enabled: true }, podMonitor: { enabled: true } },
    });
    expect(both.code).not.toBe(0);
    expect(both.stderr).toMatch(/both enabled/);
  });

  it('run the pods on the node’s network with cluster DNS when hostNetwork is on, and not by default', async () => {
    const spec = (d: Manifest[]) =>
      podTemplate(one(d, 'Deployment')).spec as { hostNetwork?: boolean; dnsPolicy?: string };
    expect(spec(defaults).hostNetwork).toBeUndefined();
    expect(spec(defaults).dnsPolicy).toBeUndefined();
    const host = await render(release, ns, { hostNetwork: true });
    expect(spec(host)).toMatchObject({ hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' });
    await dryRunAll(api, [one(host, 'Deployment')]);
  });

  it('leave egress open by default, and restrict it to the rules networkPolicy.egress gives', async () => {
    type Policy = Manifest & { spec: { policyTypes: string[]; egress?: unknown; ingress: unknown[] } };
    const open = one(defaults, 'NetworkPolicy') as Policy;
    expect(open.spec.policyTypes).toEqual(['Ingress']);
    expect(open.spec.egress).toBeUndefined();
    const egress = [
      {
        to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } } }],
        ports: [
          { port: 53, protocol: 'UDP' },
          { port: 53, protocol: 'TCP' },
        ],
      },
      { to: [{ ipBlock: { cidr: '10.1.0.0/24' } }], ports: [{ port: 5432, protocol: 'TCP' }] },
    ];
    const restricted = one(
      await render(release, ns, { networkPolicy: { egress } }),
      'NetworkPolicy',
    ) as Policy;
    expect(restricted.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(restricted.spec.egress).toEqual(egress);
    expect(restricted.spec.ingress).toEqual(open.spec.ingress);
    await dryRunAll(api, [restricted]);
  });
});

describe('helm lint, for the escape hatches', () => {
  it('passes with every escape hatch on', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'helm-values-')), 'values.yaml');
    writeFileSync(
      file,
      stringify({
        global: { imageRegistry: 'registry.example.com' },
        commonLabels: { team: 'platform' },
        hostNetwork: true,
        extraEnv: [{ name: 'NODE_OPTIONS', value: '--max-old-space-size=320' }],
        extraVolumes: [{ name: 'ca', configMap: { name: 'corporate-ca' } }],
        extraVolumeMounts: [{ name: 'ca', mountPath: '/etc/ssl/corporate', readOnly: true }],
        extraObjects: ['apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-extra\n'],
        metrics: { podMonitor: { enabled: true } },
        networkPolicy: { egress: [{ ports: [{ port: 53, protocol: 'UDP' }] }] },
      }),
    );
    const result = await helm(['lint', '--strict', CHART, '-f', file]);
    expect(result.stdout + result.stderr).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
    expect(result.code).toBe(0);
  });
});

describe('the heap size', () => {
  const heap = (docs: Manifest[]) =>
    operatorContainer(docs).env.find((e) => e.name === 'NODE_OPTIONS')?.value;

  it('follows the memory limit, so V8 collects before the container reaches it', async () => {
    expect(await heap(await render('heap-default', 'default'))).toBe('--max-old-space-size=288');
    const bigger = { resources: { limits: { memory: '2Gi' } }, heapPercentOfMemoryLimit: 50 };
    expect(heap(await render('heap-2gi', 'default', bigger))).toBe('--max-old-space-size=1024');
    expect(heap(await render('heap-bytes', 'default', { resources: { limits: { memory: '1000M' } } }))).toBe(
      '--max-old-space-size=714',
    );
  });

  it('is left to Node without a limit, with a quantity it does not read, or when turned off', async () => {
    for (const values of [
      { resources: { limits: null } },
      { resources: { limits: { memory: '1.5Gi' } } },
      { heapPercentOfMemoryLimit: 0 },
    ]) {
      expect(heap(await render('heap-none', 'default', values)), JSON.stringify(values)).toBeUndefined();
    }
  });
});

describe('tracing values', () => {
  it('set no OTEL_ variable by default, so the operator traces nothing', async () => {
    const docs = await render('untraced', 'default');
    expect(operatorContainer(docs).env.filter((e) => e.name.startsWith('OTEL_'))).toEqual([]);
    expect(operatorConfig(docs, 'default').tracing).toBeUndefined();
  });

  it('give the operator the endpoint, protocol, sampler and service name, and the Secret of credentials', async () => {
    const docs = await render('traced', 'default', {
      tracing: {
        endpoint: 'http://otel-collector.observability:4318',
        protocol: 'http/json',
        sampler: 'traceidratio',
        sampleRatio: 0.1,
        serviceName: 'operator-eu',
        existingSecret: 'otel-credentials',
      },
    });
    expect(operatorConfig(docs, 'default').tracing).toEqual({
      url: 'http://otel-collector.observability:4318/v1/traces',
      protocol: 'http/json',
      serviceName: 'operator-eu',
      sampler: 'traceidratio',
      samplerRatio: 0.1,
    });
    const container = operatorContainer(docs) as Container & { envFrom?: unknown };
    const known = configEnvironmentNames();
    expect(container.env.map((e) => e.name).filter((n) => !known.includes(n))).toEqual([]);
    expect(container.envFrom).toEqual([{ secretRef: { name: 'otel-credentials' } }]);
  });

  it.each([
    ['gRPC', { tracing: { protocol: 'grpc' } }, /at '\/tracing\/protocol'/],
    ['an unknown sampler', { tracing: { sampler: 'sometimes' } }, /at '\/tracing\/sampler'/],
    ['a ratio above one', { tracing: { sampleRatio: 2 } }, /at '\/tracing\/sampleRatio'/],
    [
      'an endpoint that is not a URL',
      { tracing: { endpoint: 'collector:4318' } },
      /at '\/tracing\/endpoint'/,
    ],
  ])('refuse %s, naming the field', async (_, bad, message) => {
    const result = await helmTemplate('bad', 'default', bad);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(message);
  });
});

describe('the values schema, for the escape hatches', () => {
  it.each([
    ['a probe that sets its own path', { livenessProbe: { httpGet: { path: '/' } } }, /at '\/livenessProbe'/],
    ['a probe period of 0', { readinessProbe: { periodSeconds: 0 } }, /at '\/readinessProbe\/periodSeconds'/],
    ['an extra variable without a name', { extraEnv: [{ value: 'x' }] }, /at '\/extraEnv\/0'/],
    ['a volume mount without a path', { extraVolumeMounts: [{ name: 'ca' }] }, /at '\/extraVolumeMounts\/0'/],
    ['a common label that is not a string', { commonLabels: { tier: 1 } }, /at '\/commonLabels\/tier'/],
    [
      'egress rules given as a map',
      { networkPolicy: { egress: { to: [] } } },
      /at '\/networkPolicy\/egress'/,
    ],
    ['an extra object that is a number', { extraObjects: [3] }, /at '\/extraObjects\/0'/],
  ])('refuses %s, naming the field', async (_, bad, message) => {
    const result = await helmTemplate('bad', 'default', bad);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(message);
  });
});
