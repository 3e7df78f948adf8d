import { Labels, MANAGED_BY } from './api/v1alpha1/group.js';

/**
 * Admission policies the API server enforces by itself (CEL, no webhook call), for what a role cannot express:
 * staff may create Services in their workspace, but a Service with `spec.externalIPs` makes every node's
 * kube-proxy send traffic for those addresses to the staff's pods, whoever it was meant for (the database's
 * address, say): CVE-2020-8554. The chart, the plain manifests and the tests' install all render these.
 */
export const EXTERNAL_IPS_POLICY = 'taskjuice-workspace-services';

export const EXTERNAL_IPS_MESSAGE =
  "a Service in a workspace namespace cannot set spec.externalIPs: every node would send those addresses' traffic to it, other tenants' included (CVE-2020-8554)";

/** The workspace namespaces: the operator's, labelled as a workspace's. */
const workspaceNamespaces = {
  matchLabels: { [Labels.managedBy]: MANAGED_BY, [Labels.component]: 'workspace' },
};

export function admissionPolicies(name: string, labels: Record<string, string>) {
  return [
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicy',
      metadata: { name, labels },
      spec: {
        failurePolicy: 'Fail',
        matchConstraints: {
          resourceRules: [
            {
              apiGroups: [''],
              apiVersions: ['v1'],
              operations: ['CREATE', 'UPDATE'],
              resources: ['services'],
            },
          ],
        },
        validations: [
          {
            expression: '!has(object.spec.externalIPs) || size(object.spec.externalIPs) == 0',
            message: EXTERNAL_IPS_MESSAGE,
            reason: 'Forbidden',
          },
        ],
      },
    },
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata: { name, labels },
      spec: {
        policyName: name,
        validationActions: ['Deny'],
        matchResources: { namespaceSelector: workspaceNamespaces },
      },
    },
  ];
}
