import { GROUP, Labels, MANAGED_BY, VERSION } from '../api/v1alpha1/group.js';

/** Namespaces the webhook never sees, so an outage of it can never block the cluster itself. */
export const EXCLUDED_NAMESPACES = ['kube-system', 'kube-public', 'kube-node-lease'];

type Selector = {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
};

export interface WebhookConfigurationOptions {
  name: string;
  /** A Service reference (in a cluster) or a URL (a webhook outside the cluster, as in tests). */
  clientConfig:
    { service: { name: string; namespace: string; port?: number; path: string } } | { url: string };
  caBundle?: string;
  /** Further namespaces to leave out of namespaced kinds (the operator's own, say). */
  excludeNamespaces?: string[];
  /** Extra object selector terms for the taskjuice.io kinds (tests scope a webhook to their own objects). */
  objectSelector?: Selector;
  /** Extra selector terms for the namespace-deletion guard. */
  namespaceObjectSelector?: Selector;
  timeoutSeconds?: number;
}

const common = (o: WebhookConfigurationOptions) => ({
  clientConfig: { ...o.clientConfig, ...(o.caBundle ? { caBundle: o.caBundle } : {}) },
  admissionReviewVersions: ['v1'],
  sideEffects: 'NoneOnDryRun',
  failurePolicy: 'Fail',
  matchPolicy: 'Equivalent',
  timeoutSeconds: o.timeoutSeconds ?? 5,
});

/**
 * The ValidatingWebhookConfiguration of the operator: Accounts; Workspaces, ClientInvitations and Connections (never
 * in kube-system and its kin); writes to the Secrets connections take credentials from; and DELETE of the
 * namespaces the operator manages. `failurePolicy: Fail` scoped that
 * narrowly keeps the product's rules enforced without letting a webhook outage touch anything else.
 */
export function webhookConfiguration(o: WebhookConfigurationOptions) {
  const rule = (resources: string[], scope: string, operations = ['CREATE', 'UPDATE', 'DELETE']) => ({
    apiGroups: [GROUP],
    apiVersions: [VERSION],
    resources,
    operations,
    scope,
  });
  const namespaceSelector = {
    matchExpressions: [
      {
        key: 'kubernetes.io/metadata.name',
        operator: 'NotIn',
        values: [...EXCLUDED_NAMESPACES, ...(o.excludeNamespaces ?? [])],
      },
    ],
  };
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name: o.name, labels: { [Labels.managedBy]: MANAGED_BY } },
    webhooks: [
      {
        name: `accounts.${GROUP}`,
        ...common(o),
        rules: [rule(['accounts'], 'Cluster')],
        ...(o.objectSelector ? { objectSelector: o.objectSelector } : {}),
      },
      {
        name: `workspaces.${GROUP}`,
        ...common(o),
        rules: [rule(['workspaces', 'clientinvitations', 'connections'], 'Namespaced')],
        namespaceSelector,
        ...(o.objectSelector ? { objectSelector: o.objectSelector } : {}),
      },
      {
        // Only Secrets labelled as a connection's credentials: a reconnect by someone other than an Owner or Admin.
        name: `connection-credentials.${GROUP}`,
        ...common(o),
        rules: [
          {
            apiGroups: [''],
            apiVersions: ['v1'],
            resources: ['secrets'],
            operations: ['UPDATE', 'DELETE'],
            scope: 'Namespaced',
          },
        ],
        namespaceSelector,
        objectSelector: {
          matchLabels: { [Labels.connectionCredentials]: 'true', ...(o.objectSelector?.matchLabels ?? {}) },
        },
      },
      {
        name: `namespaces.${GROUP}`,
        ...common(o),
        rules: [
          {
            apiGroups: [''],
            apiVersions: ['v1'],
            resources: ['namespaces'],
            operations: ['DELETE'],
            scope: 'Cluster',
          },
        ],
        objectSelector: {
          matchLabels: { [Labels.managedBy]: MANAGED_BY, ...(o.namespaceObjectSelector?.matchLabels ?? {}) },
          ...(o.namespaceObjectSelector?.matchExpressions
            ? { matchExpressions: o.namespaceObjectSelector.matchExpressions }
            : {}),
        },
      },
    ],
  };
}
