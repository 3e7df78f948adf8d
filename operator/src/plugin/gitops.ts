/**
 * Which GitOps controller applied an object, from the marks Argo CD and Flux leave on what they apply: a change
 * the plugin makes to such an object should be made in Git too, and a deletion, or the next sync brings it back.
 */

const ARGO_TRACKING_ID = 'argocd.argoproj.io/tracking-id';
const FLUX_KUSTOMIZATION = 'kustomize.toolkit.fluxcd.io/name';
const FLUX_KUSTOMIZATION_NAMESPACE = 'kustomize.toolkit.fluxcd.io/namespace';
const FLUX_HELMRELEASE = 'helm.toolkit.fluxcd.io/name';
const FLUX_HELMRELEASE_NAMESPACE = 'helm.toolkit.fluxcd.io/namespace';

export function gitopsOwner(metadata: {
  labels?: Record<string, string> | undefined;
  annotations?: Record<string, string> | undefined;
}): string | undefined {
  const tracking = metadata.annotations?.[ARGO_TRACKING_ID];
  if (tracking) return `Argo CD application ${tracking.split(':')[0] ?? tracking}`;
  const labels = metadata.labels ?? {};
  const qualified = (name: string, namespace: string | undefined) =>
    namespace ? `${namespace}/${name}` : name;
  const kustomization = labels[FLUX_KUSTOMIZATION];
  if (kustomization)
    return `Flux Kustomization ${qualified(kustomization, labels[FLUX_KUSTOMIZATION_NAMESPACE])}`;
  const release = labels[FLUX_HELMRELEASE];
  if (release) return `Flux HelmRelease ${qualified(release, labels[FLUX_HELMRELEASE_NAMESPACE])}`;
  return undefined;
}
