import { describe, expect, it } from 'vitest';
import { gitopsOwner } from './gitops.js';

describe('the GitOps controller of an object', () => {
  it('is read from the marks Argo CD and Flux leave, and is none without them', () => {
    expect(
      gitopsOwner({
        annotations: {
          'argocd.argoproj.io/tracking-id': 'agency-northwind:taskjuice.io/Workspace:northwind/contoso',
        },
      }),
    ).toBe('Argo CD application agency-northwind');
    expect(
      gitopsOwner({
        labels: {
          'kustomize.toolkit.fluxcd.io/name': 'agency-workspaces',
          'kustomize.toolkit.fluxcd.io/namespace': 'flux-system',
        },
      }),
    ).toBe('Flux Kustomization flux-system/agency-workspaces');
    expect(gitopsOwner({ labels: { 'helm.toolkit.fluxcd.io/name': 'agencies' } })).toBe(
      'Flux HelmRelease agencies',
    );
    expect(gitopsOwner({ labels: { 'app.kubernetes.io/name': 'x' } })).toBeUndefined();
  });
});
