import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { binaryDirs } from '../../operator/tools/local/binaries.js';
import { REPO_ROOT } from '../../operator/tools/local/install.js';
import type { Api } from '../../operator/src/kube/api.js';
import { Resources, type ResourceType } from '../../operator/src/kube/resources.js';
import { uniqueName } from '../support/env.js';

const run = promisify(execFile);

export const CHART = join(REPO_ROOT, 'charts', 'workspace-operator');
/** The Kubernetes version the chart is rendered for (the test cluster's; the cached helm build has none of its own). */
export const KUBE_VERSION = '1.36.0';

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [key: string]: unknown;
}

async function binary(set: 'helm' | 'kube' | 'promtool', name: string): Promise<string> {
  const dir = (await binaryDirs(set))[set];
  if (!dir) throw new Error(`test/binaries/build.sh did not report the ${set} folder`);
  return join(dir, name);
}

let helmPath: Promise<string> | undefined;
let kubectlPath: Promise<string> | undefined;

/** helm v3 and kubectl, built once from their Go modules (test/binaries). */
export const helmBinary = (): Promise<string> => (helmPath ??= binary('helm', 'helm'));
export const kubectlBinary = (): Promise<string> => (kubectlPath ??= binary('kube', 'kubectl'));
let promtoolPath: Promise<string> | undefined;
/** Prometheus's promtool, built once from its Go module (test/binaries/promtool), for the alerting rule tests. */
export const promtoolBinary = (): Promise<string> => (promtoolPath ??= binary('promtool', 'promtool'));

export function parseManifests(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Manifest | null)
    .filter((d): d is Manifest => d !== null && typeof d === 'object');
}

export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs helm; never throws for a non-zero exit, so a test can assert on the failure. */
export async function helm(args: string[]): Promise<HelmResult> {
  try {
    const { stdout, stderr } = await run(await helmBinary(), args, { maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** `helm template` of the chart with the values given (as a values file, as users pass them). */
export async function helmTemplate(
  release: string,
  namespace: string,
  values: Record<string, unknown> = {},
): Promise<HelmResult> {
  const dir = mkdtempSync(join(tmpdir(), 'helm-values-'));
  const file = join(dir, 'values.yaml');
  writeFileSync(file, stringify(values));
  return helm([
    'template',
    release,
    CHART,
    '--namespace',
    namespace,
    '--kube-version',
    KUBE_VERSION,
    '-f',
    file,
  ]);
}

export async function render(
  release: string,
  namespace: string,
  values: Record<string, unknown> = {},
): Promise<Manifest[]> {
  const result = await helmTemplate(release, namespace, values);
  expect(result.stderr, 'helm template stderr').toBe('');
  expect(result.code, result.stderr).toBe(0);
  return parseManifests(result.stdout);
}

const t = (
  group: string,
  version: string,
  kind: string,
  plural: string,
  namespaced: boolean,
): ResourceType => ({
  group,
  version,
  kind,
  plural,
  namespaced,
});

/** Where every kind the chart and the cdk8s app render lives in the REST API. */
const TYPES: ResourceType[] = [
  t('', 'v1', 'Namespace', 'namespaces', false),
  t('', 'v1', 'ServiceAccount', 'serviceaccounts', true),
  t('', 'v1', 'ConfigMap', 'configmaps', true),
  t('', 'v1', 'Service', 'services', true),
  t('', 'v1', 'Pod', 'pods', true),
  t('apps', 'v1', 'Deployment', 'deployments', true),
  t('policy', 'v1', 'PodDisruptionBudget', 'poddisruptionbudgets', true),
  t('networking.k8s.io', 'v1', 'NetworkPolicy', 'networkpolicies', true),
  t('networking.k8s.io', 'v1', 'Ingress', 'ingresses', true),
  t('rbac.authorization.k8s.io', 'v1', 'ClusterRole', 'clusterroles', false),
  t('rbac.authorization.k8s.io', 'v1', 'ClusterRoleBinding', 'clusterrolebindings', false),
  t('admissionregistration.k8s.io', 'v1', 'ValidatingAdmissionPolicy', 'validatingadmissionpolicies', false),
  t(
    'admissionregistration.k8s.io',
    'v1',
    'ValidatingAdmissionPolicyBinding',
    'validatingadmissionpolicybindings',
    false,
  ),
  t(
    'admissionregistration.k8s.io',
    'v1',
    'ValidatingWebhookConfiguration',
    'validatingwebhookconfigurations',
    false,
  ),
  t('apiextensions.k8s.io', 'v1', 'CustomResourceDefinition', 'customresourcedefinitions', false),
];

export function resourceType(doc: { apiVersion: string; kind: string }): ResourceType {
  const found = TYPES.find(
    (r) => (r.group === '' ? r.version : `${r.group}/${r.version}`) === doc.apiVersion && r.kind === doc.kind,
  );
  if (!found)
    throw new Error(`no resource type for ${doc.apiVersion} ${doc.kind}: add it to test/ship/support.ts`);
  return found;
}

/**
 * Server-side applies every manifest as a dry run: the API server validates, defaults and admits each one and
 * stores nothing. Apply rather than create, since the cluster already holds the CRDs and account ClusterRoles.
 */
export async function dryRunAll(api: Api, docs: Manifest[]): Promise<void> {
  for (const doc of docs) {
    try {
      await api.apply(resourceType(doc), doc, { dryRun: true, fieldManager: 'ship-test', force: true });
    } catch (err) {
      throw new Error(`${doc.kind} ${doc.metadata.name} failed the server-side dry run: ${String(err)}`);
    }
  }
}

export const only = (docs: Manifest[], kind: string): Manifest[] => docs.filter((d) => d.kind === kind);

export function one(docs: Manifest[], kind: string, name?: string): Manifest {
  const found = docs.filter((d) => d.kind === kind && (name === undefined || d.metadata.name === name));
  expect(found, `${kind}${name ? ' ' + name : ''}`).toHaveLength(1);
  return found[0] as Manifest;
}

export interface PodSpec {
  serviceAccountName?: string;
  securityContext?: Record<string, unknown>;
  containers: Container[];
  volumes?: { name: string; secret?: { secretName: string }; emptyDir?: unknown }[];
}

export interface Container {
  name: string;
  image: string;
  env: EnvVar[];
  securityContext?: Record<string, unknown>;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  ports?: { name: string; containerPort: number }[];
  livenessProbe?: { httpGet?: { path: string } };
  readinessProbe?: { httpGet?: { path: string } };
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    fieldRef?: { fieldPath: string };
    secretKeyRef?: { name: string; key: string };
  };
}

export function podTemplate(deployment: Manifest): { metadata: Manifest['metadata']; spec: PodSpec } {
  return (deployment as unknown as { spec: { template: { metadata: Manifest['metadata']; spec: PodSpec } } })
    .spec.template;
}

/**
 * The environment the operator would see in this pod, with made-up values for what comes from Secrets and the
 * downward API, ready for loadConfig().
 */
export function resolvedEnvironment(
  container: Container,
  pod: { name: string; namespace: string },
  secrets: Record<string, string>,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of container.env) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.name') env[e.name] = pod.name;
    else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') env[e.name] = pod.namespace;
    else if (e.valueFrom?.secretKeyRef) {
      const value = secrets[e.name];
      if (value === undefined) throw new Error(`no test value for ${e.name} (from a Secret)`);
      env[e.name] = value;
    } else throw new Error(`environment variable ${e.name} has a source the test does not know`);
  }
  return env;
}

/** The names of the environment variables operator/src/config.ts reads: the keys of its Environment schema. */
export function configEnvironmentNames(): string[] {
  const source = readFileSync(join(REPO_ROOT, 'operator', 'src', 'config.ts'), 'utf8');
  const start = source.indexOf('const Environment = z.object({');
  const end = source.indexOf('\n});', start);
  if (start < 0 || end < 0) throw new Error('operator/src/config.ts: the Environment schema was not found');
  const names = [...source.slice(start, end).matchAll(/^ {2}([A-Z][A-Z0-9_]*):/gm)].map(
    (m) => m[1] as string,
  );
  if (names.length < 10) throw new Error('operator/src/config.ts: too few variables found in Environment');
  // Read by Node itself: the chart sizes the heap from the memory limit (heapPercentOfMemoryLimit).
  return [...names, 'NODE_OPTIONS'];
}

/** Every rule of every (Cluster)Role in the manifests. */
export function rbacRules(docs: Manifest[]): { role: string; rule: Record<string, string[]> }[] {
  return docs
    .filter((d) => d.kind === 'ClusterRole' || d.kind === 'Role')
    .flatMap((d) =>
      ((d as unknown as { rules?: Record<string, string[]>[] }).rules ?? []).map((rule) => ({
        role: d.metadata.name,
        rule,
      })),
    );
}

/**
 * A namespace of the test's own, enforcing Pod Security "restricted" as a careful platform team would; its name is
 * pushed on `created`, for the test to delete after.
 */
export async function releaseNamespace(api: Api, created: string[], prefix: string): Promise<string> {
  const ns = uniqueName(prefix);
  await api.create(Resources.Namespace, {
    metadata: { name: ns, labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } },
  });
  created.push(ns);
  return ns;
}
