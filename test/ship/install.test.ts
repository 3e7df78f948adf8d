import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { synthInstall } from '../../cdk8s/synth.js';
import { loadConfig } from '../../operator/src/config.js';
import type { Api } from '../../operator/src/kube/api.js';
import { Resources } from '../../operator/src/kube/resources.js';
import { adminApi, uniqueName } from '../support/env.js';
import {
  configEnvironmentNames,
  dryRunAll,
  one,
  parseManifests,
  podTemplate,
  render,
  resolvedEnvironment,
  resourceType,
  type Manifest,
} from './support.js';

let api: Api;
let ns: string;
let docs: Manifest[];

beforeAll(async () => {
  api = await adminApi();
  ns = uniqueName('install');
  docs = parseManifests(synthInstall({ namespace: ns }));
  // The namespace is created for real, as the manifests declare it (with Pod Security "restricted" enforced);
  // everything in it is then a dry run.
  await api.create(Resources.Namespace, one(docs, 'Namespace'));
});

afterAll(async () => {
  await api.delete(Resources.Namespace, { name: ns });
  api.client.close();
});

describe('the install manifests the cdk8s app synthesizes (deploy/install.yaml)', () => {
  it('pass a server-side dry run, every one of them', async () => {
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
      'Namespace',
      'NetworkPolicy',
      'PodDisruptionBudget',
      'Service',
      'ServiceAccount',
      'ValidatingAdmissionPolicy',
      'ValidatingAdmissionPolicyBinding',
      'ValidatingWebhookConfiguration',
    ]);
    await dryRunAll(
      api,
      docs.filter((d) => d.kind !== 'Namespace'),
    );
  });

  it('hold the NetworkPolicy that the Helm chart renders by default, selecting the operator’s pods', async () => {
    // Release "workspace-operator" gives the chart the names and selector labels the manifests use.
    const chart = one(await render('workspace-operator', ns), 'NetworkPolicy') as Manifest & {
      spec: unknown;
    };
    const policy = one(docs, 'NetworkPolicy') as Manifest & {
      spec: { podSelector: { matchLabels: Record<string, string> } };
    };
    expect(policy.spec).toEqual(chart.spec);
    expect(podTemplate(one(docs, 'Deployment')).metadata.labels).toMatchObject(
      policy.spec.podSelector.matchLabels,
    );
  });

  it('run a pod that the namespace’s Pod Security "restricted" admits', async () => {
    await api.create(Resources.ServiceAccount, one(docs, 'ServiceAccount'));
    const template = podTemplate(one(docs, 'Deployment'));
    await api.create(
      resourceType({ apiVersion: 'v1', kind: 'Pod' }),
      {
        metadata: { name: 'operator-probe', namespace: ns, labels: template.metadata.labels },
        spec: template.spec,
      },
      { dryRun: true },
    );
  });

  it('configure the operator with variables it reads, naming the objects they install', () => {
    const container = podTemplate(one(docs, 'Deployment')).spec.containers[0];
    expect(container).toBeDefined();
    if (!container) return;
    const known = configEnvironmentNames();
    expect(container.env.map((e) => e.name).filter((n) => !known.includes(n))).toEqual([]);
    const config = loadConfig(
      resolvedEnvironment(
        container,
        { name: 'workspace-operator-0', namespace: ns },
        { DATABASE_URL: 'postgres://operator:secret@postgres:5432/workspaces' },
      ),
    );
    expect(config.namespace).toBe(ns);
    expect(config.webhook.configurationName).toBe(one(docs, 'ValidatingWebhookConfiguration').metadata.name);
    expect(config.webhook.serviceName).toBe(one(docs, 'Service').metadata.name);
    expect(config.webhook.certMode).toBe('self-signed');
    expect(config.leaderElection).toMatchObject({ enabled: true, namespace: ns });
    const service = one(docs, 'Service') as Manifest & {
      spec: { ports: { name: string; targetPort: number }[] };
    };
    expect(service.spec.ports.find((p) => p.name === 'https')?.targetPort).toBe(config.webhook.port);
    expect(service.spec.ports.find((p) => p.name === 'accept')?.targetPort).toBe(
      config.invitations.acceptPort,
    );
  });
});
