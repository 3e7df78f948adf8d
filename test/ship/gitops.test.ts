import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { describe, expect, inject, it } from 'vitest';
import { REPO_ROOT } from '../../operator/tools/local/install.js';
import { kubectlBinary, parseManifests, type Manifest } from './support.js';

const run = promisify(execFile);
const WAVE = 'argocd.argoproj.io/sync-wave';

async function kustomize(dir: string): Promise<Manifest[]> {
  const { stdout } = await run(await kubectlBinary(), ['kustomize', join(REPO_ROOT, dir)]);
  return parseManifests(stdout);
}

const wave = (d: Manifest) => Number(d.metadata.annotations?.[WAVE]);

describe('the GitOps layout of examples/agency', () => {
  it('builds with kustomize in the order the webhook needs: account, workspaces, invitation', async () => {
    const docs = await kustomize('examples/agency');
    expect(docs.map((d) => d.kind)).toEqual(['Account', 'Workspace', 'Workspace', 'ClientInvitation']);
  });

  it('puts accounts, workspaces and invitations in successive Argo CD sync waves', async () => {
    const docs = await kustomize('examples/agency');
    const waves = (kind: string) => docs.filter((d) => d.kind === kind).map(wave);
    expect(waves('Account')).toEqual([0]);
    expect(waves('Workspace')).toEqual([1, 1]);
    expect(waves('ClientInvitation')).toEqual([2]);
  });

  it('splits into an accounts folder and a workspaces folder, for two Flux Kustomizations', async () => {
    const accounts = await kustomize('examples/agency/accounts');
    const workspaces = await kustomize('examples/agency/workspaces');
    expect(accounts.map((d) => d.kind)).toEqual(['Account']);
    expect(workspaces.map((d) => d.kind)).toEqual(['Workspace', 'Workspace', 'ClientInvitation']);
    const homes = new Set(accounts.map((d) => d.metadata.name));
    for (const d of workspaces) expect(homes.has(d.metadata.namespace ?? '')).toBe(true);
  });

  it('has Flux apply the workspaces only after the accounts are healthy, from folders that exist', () => {
    const [accounts, workspaces] = parseManifests(
      readFileSync(join(REPO_ROOT, 'examples/gitops/flux/kustomizations.yaml'), 'utf8'),
    ) as (Manifest & { spec: { path: string; wait: boolean; dependsOn?: { name: string }[] } })[];
    expect(accounts?.spec.dependsOn).toBeUndefined();
    expect(workspaces?.spec.dependsOn).toEqual([{ name: accounts?.metadata.name }]);
    for (const k of [accounts, workspaces]) {
      expect(k?.spec.wait).toBe(true);
      expect(existsSync(join(REPO_ROOT, k?.spec.path ?? '/missing', 'kustomization.yaml'))).toBe(true);
    }
  });

  it('has the Argo CD Application point at the agency folder', () => {
    const [app] = parseManifests(
      readFileSync(join(REPO_ROOT, 'examples/gitops/argocd/application.yaml'), 'utf8'),
    ) as (Manifest & { spec: { source: { path: string } } })[];
    expect(app?.kind).toBe('Application');
    expect(existsSync(join(REPO_ROOT, app?.spec.source.path ?? '/missing', 'kustomization.yaml'))).toBe(true);
  });

  it('orders the cdk8s example agency the same way, waves included', () => {
    const docs = parseManifests(readFileSync(join(REPO_ROOT, 'examples/cdk8s/agency.yaml'), 'utf8'));
    const rank = { Account: 0, Workspace: 1, ClientInvitation: 2 } as Record<string, number>;
    for (const d of docs) expect(wave(d), `${d.kind} ${d.metadata.name}`).toBe(rank[d.kind]);
    const invitation = docs.findIndex((d) => d.kind === 'ClientInvitation');
    const workspace = (docs[invitation] as unknown as { spec: { workspace: string } } | undefined)?.spec
      .workspace;
    expect(docs.findIndex((d) => d.kind === 'Workspace' && d.metadata.name === workspace)).toBeLessThan(
      invitation,
    );
    expect(docs[0]?.kind).toBe('Account');
  });
});

/**
 * A CRD that accepts any object of the kind, standing in for Argo CD's and Flux's own: this cluster runs neither, and
 * what is tested is that each folder of examples/gitops applies in one command, not what those controllers do.
 */
function standInCrd(group: string, kind: string, plural: string, version: string) {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${group}` },
    spec: {
      group,
      scope: 'Namespaced',
      names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
      versions: [
        {
          name: version,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
        },
      ],
    },
  };
}

describe('examples/gitops', () => {
  const kubectl = async (args: string[], input?: string) => {
    const child = run(await kubectlBinary(), ['--kubeconfig', inject('kubeconfig'), ...args]);
    if (input !== undefined) child.child.stdin?.end(input);
    return (await child).stdout;
  };
  const get = async (kind: string, namespace: string, name: string) =>
    JSON.parse(await kubectl(['get', kind, '-n', namespace, name, '-o', 'json'])) as Manifest & {
      data?: Record<string, string>;
      spec?: { source?: { path: string }; sourceRef?: { name: string }; path?: string; url?: string };
    };

  it('applies to Argo CD in one command, adding the health check to argocd-cm and taking nothing of it away', async () => {
    const crd = standInCrd('argoproj.io', 'Application', 'applications', 'v1alpha1');
    await kubectl(['apply', '-f', '-'], stringify(crd));
    await kubectl(['wait', '--for=condition=Established', `crd/${crd.metadata.name}`, '--timeout=60s']);
    await kubectl(['create', 'namespace', 'argocd']).catch(() => '');
    // argocd-cm as Argo CD's install (server-side, as its docs say, or Helm) leaves it: its labels (Argo CD reads only
    // a labelled argocd-cm) and a key.
    const installed = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'argocd-cm',
        namespace: 'argocd',
        labels: { 'app.kubernetes.io/name': 'argocd-cm', 'app.kubernetes.io/part-of': 'argocd' },
      },
      data: { url: 'https://argocd.example' },
    };
    await kubectl(['apply', '--server-side', '-f', '-'], stringify(installed));

    // A field manager of its own: it owns the keys it adds and nothing the installation set.
    await kubectl([
      'apply',
      '--server-side',
      '--field-manager=agencies',
      '-k',
      join(REPO_ROOT, 'examples/gitops/argocd'),
    ]);

    const cm = await get('configmap', 'argocd', 'argocd-cm');
    expect(cm.metadata.labels).toMatchObject(installed.metadata.labels);
    expect(cm.data?.url).toBe('https://argocd.example');
    for (const kind of ['Account', 'Workspace', 'ClientInvitation'])
      expect(cm.data?.[`resource.customizations.health.taskjuice.io_${kind}`]).toContain(
        'Argo CD health check',
      );
    const app = await get('applications.argoproj.io', 'argocd', 'agency-northwind');
    expect(app.spec?.source?.path).toBe('examples/agency');
  });

  it('applies to Flux in one command: the repository and both Kustomizations, reading from it', async () => {
    for (const crd of [
      standInCrd('source.toolkit.fluxcd.io', 'GitRepository', 'gitrepositories', 'v1'),
      standInCrd('kustomize.toolkit.fluxcd.io', 'Kustomization', 'kustomizations', 'v1'),
    ]) {
      await kubectl(['apply', '-f', '-'], stringify(crd));
      await kubectl(['wait', '--for=condition=Established', `crd/${crd.metadata.name}`, '--timeout=60s']);
    }
    await kubectl(['create', 'namespace', 'flux-system']).catch(() => '');

    await kubectl(['apply', '-k', join(REPO_ROOT, 'examples/gitops/flux')]);

    const source = await get('gitrepositories.source.toolkit.fluxcd.io', 'flux-system', 'agencies');
    expect(source.spec?.url).toMatch(/^https:/);
    for (const [name, path] of [
      ['agency-accounts', './examples/agency/accounts'],
      ['agency-workspaces', './examples/agency/workspaces'],
    ] as const) {
      const k = await get('kustomizations.kustomize.toolkit.fluxcd.io', 'flux-system', name);
      expect(k.spec?.sourceRef?.name).toBe(source.metadata.name);
      expect(k.spec?.path).toBe(path);
    }
  });
});
