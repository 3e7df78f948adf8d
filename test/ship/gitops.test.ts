import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
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
