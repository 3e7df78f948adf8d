import { GROUP, VERSION } from '../api/v1alpha1/group.js';

/** Where a kind lives in the REST API. */
export interface ResourceType {
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
}

const core = (kind: string, plural: string, namespaced: boolean): ResourceType => ({
  group: '',
  version: 'v1',
  kind,
  plural,
  namespaced,
});

export const Resources = {
  Account: { group: GROUP, version: VERSION, kind: 'Account', plural: 'accounts', namespaced: false },
  Workspace: { group: GROUP, version: VERSION, kind: 'Workspace', plural: 'workspaces', namespaced: true },
  ClientInvitation: {
    group: GROUP,
    version: VERSION,
    kind: 'ClientInvitation',
    plural: 'clientinvitations',
    namespaced: true,
  },
  Connection: { group: GROUP, version: VERSION, kind: 'Connection', plural: 'connections', namespaced: true },
  DatabaseServer: {
    group: GROUP,
    version: VERSION,
    kind: 'DatabaseServer',
    plural: 'databaseservers',
    namespaced: false,
  },
  Namespace: core('Namespace', 'namespaces', false),
  Secret: core('Secret', 'secrets', true),
  ConfigMap: core('ConfigMap', 'configmaps', true),
  ResourceQuota: core('ResourceQuota', 'resourcequotas', true),
  LimitRange: core('LimitRange', 'limitranges', true),
  Pod: core('Pod', 'pods', true),
  Service: core('Service', 'services', true),
  ServiceAccount: core('ServiceAccount', 'serviceaccounts', true),
  Event: { group: 'events.k8s.io', version: 'v1', kind: 'Event', plural: 'events', namespaced: true },
  RoleBinding: {
    group: 'rbac.authorization.k8s.io',
    version: 'v1',
    kind: 'RoleBinding',
    plural: 'rolebindings',
    namespaced: true,
  },
  Role: {
    group: 'rbac.authorization.k8s.io',
    version: 'v1',
    kind: 'Role',
    plural: 'roles',
    namespaced: true,
  },
  ClusterRole: {
    group: 'rbac.authorization.k8s.io',
    version: 'v1',
    kind: 'ClusterRole',
    plural: 'clusterroles',
    namespaced: false,
  },
  ClusterRoleBinding: {
    group: 'rbac.authorization.k8s.io',
    version: 'v1',
    kind: 'ClusterRoleBinding',
    plural: 'clusterrolebindings',
    namespaced: false,
  },
  NetworkPolicy: {
    group: 'networking.k8s.io',
    version: 'v1',
    kind: 'NetworkPolicy',
    plural: 'networkpolicies',
    namespaced: true,
  },
  Lease: { group: 'coordination.k8s.io', version: 'v1', kind: 'Lease', plural: 'leases', namespaced: true },
  CustomResourceDefinition: {
    group: 'apiextensions.k8s.io',
    version: 'v1',
    kind: 'CustomResourceDefinition',
    plural: 'customresourcedefinitions',
    namespaced: false,
  },
  ValidatingAdmissionPolicy: {
    group: 'admissionregistration.k8s.io',
    version: 'v1',
    kind: 'ValidatingAdmissionPolicy',
    plural: 'validatingadmissionpolicies',
    namespaced: false,
  },
  ValidatingAdmissionPolicyBinding: {
    group: 'admissionregistration.k8s.io',
    version: 'v1',
    kind: 'ValidatingAdmissionPolicyBinding',
    plural: 'validatingadmissionpolicybindings',
    namespaced: false,
  },
  ValidatingWebhookConfiguration: {
    group: 'admissionregistration.k8s.io',
    version: 'v1',
    kind: 'ValidatingWebhookConfiguration',
    plural: 'validatingwebhookconfigurations',
    namespaced: false,
  },
  SubjectAccessReview: {
    group: 'authorization.k8s.io',
    version: 'v1',
    kind: 'SubjectAccessReview',
    plural: 'subjectaccessreviews',
    namespaced: false,
  },
} as const satisfies Record<string, ResourceType>;

export const apiVersionOf = (r: ResourceType): string =>
  r.group === '' ? r.version : `${r.group}/${r.version}`;

/** The REST path of a collection or, with a name, of one object (and optionally a subresource). */
export function resourcePath(
  r: ResourceType,
  where: { namespace?: string | undefined; name?: string | undefined; subresource?: string } = {},
): string {
  const base = r.group === '' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`;
  const ns =
    r.namespaced && where.namespace !== undefined ? `/namespaces/${encodeURIComponent(where.namespace)}` : '';
  const name = where.name !== undefined ? `/${encodeURIComponent(where.name)}` : '';
  const sub = where.subresource !== undefined ? `/${where.subresource}` : '';
  return `${base}${ns}/${r.plural}${name}${sub}`;
}
