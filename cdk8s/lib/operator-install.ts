import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiObject, Chart, Duration, JsonPatch, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import type { Construct } from 'constructs';
import { parseAllDocuments } from 'yaml';
import {
  ACCOUNT_MANAGER_CLUSTER_ROLE,
  ACCOUNT_MEMBER_CLUSTER_ROLE,
  accountClusterRoles,
  CLIENT_CLUSTER_ROLE,
  operatorRules,
  STAFF_CLUSTER_ROLE,
  workspaceClusterRoles,
} from '../../operator/src/rbac.js';
import { EXTERNAL_IPS_POLICY, admissionPolicies } from '../../operator/src/policies.js';
import { DEFAULT_WORKSPACE_LIMIT_RANGE, DEFAULT_WORKSPACE_QUOTA } from '../../operator/src/config.js';
import { webhookConfiguration } from '../../operator/src/webhook/configuration.js';

const CRD_DIR = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'crds');

/** The CRDs of crds/, in file-name order. */
export function crdsFromRepository(dir = CRD_DIR): unknown[] {
  return readdirSync(dir)
    .filter((n) => n.endsWith('.yaml'))
    .sort()
    .flatMap((n) => parseAllDocuments(readFileSync(join(dir, n), 'utf8')).map((d) => d.toJS() as unknown))
    .filter((d) => d !== null && d !== undefined);
}

export interface OperatorInstallProps {
  /**
   * Namespace of the operator (created, with Pod Security "restricted" enforced).
   *
   * @default 'workspace-operator'
   */
  readonly namespace?: string;
  /**
   * Name of the operator's objects: Deployment, Service, ClusterRole, ValidatingWebhookConfiguration, Lease.
   *
   * @default 'workspace-operator'
   */
  readonly name?: string;
  /**
   * The operator image (the Dockerfile at the repository root).
   *
   * @default 'ghcr.io/taskjuice/workspace-operator:0.2.0'
   */
  readonly image?: string;
  /**
   * Replicas: one leader reconciles, every replica serves the webhook.
   *
   * @default 2
   */
  readonly replicas?: number;
  /**
   * Secret (in the operator's namespace) with the PostgreSQL connection string, and its key (DATABASE_URL).
   *
   * @default { name: 'workspace-operator-database', key: 'url' }
   */
  readonly databaseSecret?: { name: string; key: string };
  /**
   * Plan catalog: plan name to workspace limit (PLAN_CATALOG).
   *
   * @default { starter: 1, growth: 5, scale: 25 }
   */
  readonly plans?: Record<string, number>;
  /**
   * Name of the ClusterRole (created here, rules from operator/src/rbac.ts) bound to an account's staff in its
   * workspace namespaces (STAFF_CLUSTER_ROLE).
   *
   * @default 'taskjuice-workspace-staff'
   */
  readonly staffClusterRole?: string;
  /**
   * Name of the read-only ClusterRole (created here) bound to a client in its workspace namespace
   * (CLIENT_CLUSTER_ROLE).
   *
   * @default 'taskjuice-workspace-client'
   */
  readonly clientClusterRole?: string;
  /**
   * Pod Security level of workspace and account home namespaces (POD_SECURITY_LEVEL).
   *
   * @default 'restricted'
   */
  readonly podSecurityLevel?: 'privileged' | 'baseline' | 'restricted';
  /**
   * spec.hard of every workspace namespace's ResourceQuota (WORKSPACE_QUOTA); {} for none.
   *
   * @default - 4 CPUs and 8Gi requested, 8 CPUs and 16Gi limits, 50 pods, 10 claims of 100Gi, no LoadBalancer or NodePort
   */
  readonly workspaceQuota?: Record<string, string>;
  /**
   * Container defaults and bounds of every workspace namespace's LimitRange (WORKSPACE_LIMIT_RANGE); {} for none.
   *
   * @default - requests 100m CPU and 128Mi, limits 500m CPU and 512Mi
   */
  readonly workspaceLimitRange?: {
    default?: Record<string, string>;
    defaultRequest?: Record<string, string>;
    min?: Record<string, string>;
    max?: Record<string, string>;
  };
  /**
   * Where invited clients reach the accept endpoint (ACCEPT_BASE_URL).
   *
   * @default - the in-cluster Service address, reachable only inside the cluster
   */
  readonly acceptBaseUrl?: string;
  /**
   * Log level (LOG_LEVEL).
   *
   * @default 'info'
   */
  readonly logLevel?: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
  /**
   * Create the NetworkPolicy of the chart's default values: each of the webhook, accept, metrics and health ports
   * open to anyone (the API server's address is not known in advance), every other port closed, egress open.
   *
   * @default true
   */
  readonly networkPolicy?: boolean;
  /**
   * The CRDs to install.
   *
   * @default - the CRDs of crds/
   */
  readonly crds?: unknown[];
}

const PORTS = { webhook: 9443, accept: 8443, metrics: 8080, health: 8081 } as const;

/**
 * The spec of the NetworkPolicy the Helm chart renders with its default values (test/ship compares the two): one
 * ingress rule per named container port, from anyone; egress open, since the API server, PostgreSQL and the SMTP
 * relay live at addresses not known in advance.
 */
export function operatorNetworkPolicySpec(selector: Record<string, string>) {
  return {
    podSelector: { matchLabels: selector },
    policyTypes: ['Ingress'],
    ingress: ['https', 'accept', 'metrics', 'health'].map((port) => ({ ports: [{ port, protocol: 'TCP' }] })),
  };
}

/**
 * The operator's installation without Helm: namespace, CRDs, RBAC (from operator/src/rbac.ts, the source the Helm
 * chart renders too), Deployment, Service, ValidatingWebhookConfiguration (from the operator's own
 * webhookConfiguration()), PodDisruptionBudget and NetworkPolicy (the chart's default). The webhook certificate is self-signed by the operator, which
 * writes the caBundle into the webhook configuration itself.
 */
export class OperatorInstall extends Chart {
  readonly namespaceName: string;
  readonly deployment: kplus.Deployment;
  readonly service: kplus.Service;

  constructor(scope: Construct, id: string, props: OperatorInstallProps = {}) {
    const namespace = props.namespace ?? 'workspace-operator';
    super(scope, id);
    this.namespaceName = namespace;
    const name = props.name ?? 'workspace-operator';
    const selector = { 'app.kubernetes.io/name': 'workspace-operator', 'app.kubernetes.io/instance': name };
    const labels = { ...selector, 'app.kubernetes.io/part-of': 'workspace-operator' };
    const staff = props.staffClusterRole ?? STAFF_CLUSTER_ROLE;
    const client = props.clientClusterRole ?? CLIENT_CLUSTER_ROLE;
    const secret = props.databaseSecret ?? { name: 'workspace-operator-database', key: 'url' };

    new kplus.Namespace(this, 'namespace', {
      metadata: {
        name: namespace,
        labels: { ...labels, 'pod-security.kubernetes.io/enforce': 'restricted' },
      },
    });

    for (const crd of props.crds ?? crdsFromRepository()) {
      const body = crd as { metadata: { name: string } };
      new ApiObject(this, `crd-${body.metadata.name}`, {
        ...(crd as object),
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
      });
    }

    const serviceAccount = new kplus.ServiceAccount(this, 'service-account', {
      metadata: { name, namespace, labels },
      automountToken: true,
    });

    new ApiObject(this, 'cluster-role', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name, labels },
      rules: operatorRules([ACCOUNT_MANAGER_CLUSTER_ROLE, ACCOUNT_MEMBER_CLUSTER_ROLE, staff, client]),
    });
    new ApiObject(this, 'cluster-role-binding', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace }],
    });
    for (const role of [
      ...accountClusterRoles(labels),
      ...workspaceClusterRoles(labels, { staff, client }),
    ]) {
      new ApiObject(this, role.metadata.name, role);
    }
    for (const policy of admissionPolicies(EXTERNAL_IPS_POLICY, labels)) {
      new ApiObject(this, `${policy.kind.toLowerCase()}-${policy.metadata.name}`, policy);
    }

    const databaseSecret = kplus.Secret.fromSecretName(this, 'database-secret', secret.name);
    const env: Record<string, kplus.EnvValue> = {
      POD_NAME: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_NAME),
      POD_NAMESPACE: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_NAMESPACE),
      LOG_LEVEL: kplus.EnvValue.fromValue(props.logLevel ?? 'info'),
      PLAN_CATALOG: kplus.EnvValue.fromValue(
        JSON.stringify(props.plans ?? { starter: 1, growth: 5, scale: 25 }),
      ),
      HEALTH_PORT: kplus.EnvValue.fromValue(String(PORTS.health)),
      METRICS_PORT: kplus.EnvValue.fromValue(String(PORTS.metrics)),
      LEADER_ELECTION: kplus.EnvValue.fromValue('true'),
      LEADER_ELECTION_ID: kplus.EnvValue.fromValue(name),
      DATABASE_URL: kplus.EnvValue.fromSecretValue({ secret: databaseSecret, key: secret.key }),
      STAFF_CLUSTER_ROLE: kplus.EnvValue.fromValue(staff),
      CLIENT_CLUSTER_ROLE: kplus.EnvValue.fromValue(client),
      ACCOUNT_MANAGER_CLUSTER_ROLE: kplus.EnvValue.fromValue(ACCOUNT_MANAGER_CLUSTER_ROLE),
      ACCOUNT_MEMBER_CLUSTER_ROLE: kplus.EnvValue.fromValue(ACCOUNT_MEMBER_CLUSTER_ROLE),
      POD_SECURITY_LEVEL: kplus.EnvValue.fromValue(props.podSecurityLevel ?? 'restricted'),
      WORKSPACE_QUOTA: kplus.EnvValue.fromValue(
        JSON.stringify(props.workspaceQuota ?? DEFAULT_WORKSPACE_QUOTA),
      ),
      WORKSPACE_LIMIT_RANGE: kplus.EnvValue.fromValue(
        JSON.stringify(props.workspaceLimitRange ?? DEFAULT_WORKSPACE_LIMIT_RANGE),
      ),
      WEBHOOK_PORT: kplus.EnvValue.fromValue(String(PORTS.webhook)),
      WEBHOOK_CERT_MODE: kplus.EnvValue.fromValue('self-signed'),
      WEBHOOK_SECRET_NAME: kplus.EnvValue.fromValue(`${name}-webhook-tls`),
      WEBHOOK_CONFIGURATION_NAME: kplus.EnvValue.fromValue(name),
      WEBHOOK_SERVICE_NAME: kplus.EnvValue.fromValue(name),
      ACCEPT_PORT: kplus.EnvValue.fromValue(String(PORTS.accept)),
      ...(props.acceptBaseUrl ? { ACCEPT_BASE_URL: kplus.EnvValue.fromValue(props.acceptBaseUrl) } : {}),
    };

    this.deployment = new kplus.Deployment(this, 'deployment', {
      metadata: { name, namespace, labels },
      replicas: props.replicas ?? 2,
      // Select pods by the standard labels rather than cdk8s's construct address, so the (immutable) selector
      // does not depend on how the app that synthesizes this chart names it.
      select: false,
      serviceAccount,
      automountServiceAccountToken: true,
      terminationGracePeriod: Duration.seconds(30),
      // The webhook fails closed: keep every replica serving until its replacement is ready.
      strategy: kplus.DeploymentStrategy.rollingUpdate({
        maxSurge: kplus.PercentOrAbsolute.absolute(1),
        maxUnavailable: kplus.PercentOrAbsolute.absolute(0),
      }),
      podMetadata: { labels },
      securityContext: { ensureNonRoot: true, user: 65532, group: 65532 },
      containers: [
        {
          name: 'operator',
          image: props.image ?? 'ghcr.io/taskjuice/workspace-operator:0.2.0',
          imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
          ports: [
            { name: 'https', number: PORTS.webhook },
            { name: 'accept', number: PORTS.accept },
            { name: 'metrics', number: PORTS.metrics },
            { name: 'health', number: PORTS.health },
          ],
          envVariables: env,
          liveness: kplus.Probe.fromHttpGet('/healthz', {
            port: PORTS.health,
            periodSeconds: Duration.seconds(10),
          }),
          readiness: kplus.Probe.fromHttpGet('/readyz', {
            port: PORTS.health,
            periodSeconds: Duration.seconds(5),
          }),
          startup: kplus.Probe.fromHttpGet('/healthz', {
            port: PORTS.health,
            periodSeconds: Duration.seconds(2),
            failureThreshold: 30,
          }),
          resources: {
            cpu: { request: kplus.Cpu.millis(100) },
            memory: { request: Size.mebibytes(128), limit: Size.mebibytes(384) },
          },
          securityContext: {
            ensureNonRoot: true,
            user: 65532,
            group: 65532,
            readOnlyRootFilesystem: true,
            allowPrivilegeEscalation: false,
            privileged: false,
          },
          volumeMounts: [
            {
              path: '/tmp',
              volume: kplus.Volume.fromEmptyDir(this, 'tmp', 'tmp', { sizeLimit: Size.mebibytes(64) }),
            },
          ],
        },
      ],
    });
    this.deployment.select(kplus.LabelSelector.of({ labels: selector }));
    // Pod Security "restricted" also wants a seccomp profile and every capability dropped. cdk8s-plus-27 can
    // express neither (no seccompProfile; its Capability enum has no ALL), so they go in through the escape hatch.
    ApiObject.of(this.deployment).addJsonPatch(
      JsonPatch.add('/spec/template/spec/securityContext/seccompProfile', { type: 'RuntimeDefault' }),
      JsonPatch.add('/spec/template/spec/containers/0/securityContext/capabilities', { drop: ['ALL'] }),
    );

    this.service = new kplus.Service(this, 'service', {
      metadata: { name, namespace, labels },
      selector: kplus.Pods.select(this, 'operator-pods', { labels: selector }),
      ports: [
        // The webhook, for the API server alone; invitation links (/accept) have a port of their own.
        { name: 'https', port: 443, targetPort: PORTS.webhook },
        { name: 'accept', port: PORTS.accept, targetPort: PORTS.accept },
        { name: 'metrics', port: PORTS.metrics, targetPort: PORTS.metrics },
      ],
    });

    new ApiObject(this, 'webhook-configuration', {
      ...webhookConfiguration({
        name,
        clientConfig: { service: { name, namespace, path: '/validate', port: 443 } },
        excludeNamespaces: [namespace],
      }),
    });

    new ApiObject(this, 'pod-disruption-budget', {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name, namespace, labels },
      spec: { minAvailable: 1, selector: { matchLabels: this.deployment.matchLabels } },
    });

    if (props.networkPolicy ?? true) {
      // A plain object rather than kplus.NetworkPolicy, which writes numeric ports and a rule per peer: this is the
      // chart's policy exactly, named ports included.
      new ApiObject(this, 'network-policy', {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name, namespace, labels },
        spec: operatorNetworkPolicySpec(selector),
      });
    }
  }
}
