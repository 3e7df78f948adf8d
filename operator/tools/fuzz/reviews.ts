import fc from 'fast-check';
import { AccountSpec } from '../../src/api/v1alpha1/account.js';
import { ClientInvitationSpec } from '../../src/api/v1alpha1/clientinvitation.js';
import { WorkspaceSpec } from '../../src/api/v1alpha1/workspace.js';

/**
 * Generated AdmissionReview bodies for fuzzing the webhook: garbage, JSON of the wrong shape, reviews of other
 * kinds and versions, reviews with fields missing, and reviews of our kinds whose specs mix valid and invalid
 * values, including look-alikes of a teammate's email. `invalid` says whether the object must be refused.
 */
export interface FuzzCase {
  body: Buffer;
  uid: string | undefined;
  /** The object under review breaks a rule, so an allow would be wrong. */
  invalid: boolean;
}

export interface FuzzTarget {
  account: string;
  workspace: string;
  teammateEmail: string;
}

const look = (email: string) =>
  fc.constantFrom(
    email.toUpperCase(),
    email.replace(/[a-z]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 97 + 0xff41)),
    email.replace('@', '\u200B@'),
    `  ${email} `,
    email.replace(/i/g, 'ı'),
    email.normalize('NFD'),
  );

const text = fc.oneof(
  fc.string({ maxLength: 120 }),
  fc.string({ unit: 'grapheme', maxLength: 60 }),
  fc.constant(''),
);
const anyValue = fc.oneof(
  text,
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 3 }),
);

const workspaceSpec = fc.record(
  {
    displayName: fc.oneof(text, anyValue),
    description: fc.oneof(text, fc.string({ minLength: 990, maxLength: 1010 })),
    betaOptIn: fc.oneof(fc.boolean(), anyValue),
    approvalTimeoutSeconds: fc.oneof(fc.integer({ min: -10, max: 700_000 }), anyValue),
  },
  { requiredKeys: [] },
);

const emailish = (t: FuzzTarget) => fc.oneof(look(t.teammateEmail), fc.emailAddress(), text);

const accountSpec = (t: FuzzTarget) =>
  fc.record(
    {
      displayName: fc.oneof(text, anyValue),
      plan: fc.oneof(fc.constantFrom('starter', 'growth', 'scale', 'nope'), anyValue),
      teammates: fc.oneof(
        fc.array(
          fc.record({
            email: emailish(t),
            role: fc.oneof(fc.constantFrom('Owner', 'Admin', 'Member'), text),
          }),
          { maxLength: 4 },
        ),
        anyValue,
      ),
    },
    { requiredKeys: [] },
  );

const invitationSpec = (t: FuzzTarget) =>
  fc.record(
    {
      workspace: fc.oneof(fc.constant(t.workspace), text),
      email: emailish(t),
      revoked: fc.oneof(fc.boolean(), anyValue),
      resendRevision: fc.oneof(fc.nat(10), anyValue),
    },
    { requiredKeys: [] },
  );

/** An AdmissionReview of one object as the API server sends it (dry run unless `extra` says otherwise). */
export function admissionReview(
  uid: string,
  kind: string,
  operation: string,
  namespace: string | undefined,
  object: unknown,
  extra: Record<string, unknown> = {},
) {
  const group = kind === 'Namespace' ? '' : 'taskjuice.io';
  const version = kind === 'Namespace' ? 'v1' : 'v1alpha1';
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: { group, version, kind },
      resource: { group, version, resource: `${kind.toLowerCase()}s` },
      operation,
      namespace,
      userInfo: { username: 'fuzzer', groups: ['system:authenticated'] },
      object,
      dryRun: true,
      ...extra,
    },
  };
}

/** Whether our schemas (and the staff/client rule) refuse the spec: then the webhook must not allow it. */
function invalidSpec(kind: string, operation: string, spec: unknown, t: FuzzTarget): boolean {
  if (kind === 'Workspace') return !WorkspaceSpec.safeParse(spec).success;
  if (kind === 'Account') return !AccountSpec.safeParse(spec).success;
  const parsed = ClientInvitationSpec.safeParse(spec);
  if (!parsed.success) return true;
  // An update may carry an existing invitation's email (immutable anyway): revoking one must stay possible.
  if (operation !== 'CREATE') return false;
  // Any email that normalises to the teammate's is the teammate, whatever it looks like.
  const norm = (e: string) =>
    e
      .normalize('NFKC')
      .replace(/\p{Cf}/gu, '')
      .trim()
      .replace(/[ıİ]/g, 'i')
      .toLowerCase()
      .normalize('NFKC');
  return norm(parsed.data.email) === t.teammateEmail;
}

export function fuzzCases(t: FuzzTarget): fc.Arbitrary<FuzzCase> {
  const uid = fc.uuid();
  const garbage = fc.oneof(
    fc.string({ maxLength: 200 }).map((s) => ({ body: Buffer.from(s), uid: undefined, invalid: true })),
    fc.uint8Array({ maxLength: 200 }).map((b) => ({ body: Buffer.from(b), uid: undefined, invalid: true })),
    fc.json({ maxDepth: 3 }).map((j) => ({ body: Buffer.from(j), uid: undefined, invalid: true })),
  );
  const wrongEnvelope = fc
    .record({
      uid,
      apiVersion: fc.constantFrom('admission.k8s.io/v1beta1', 'v1', 'admission.k8s.io/v1'),
      kind: fc.constantFrom('AdmissionReview', 'Status', 'Pod'),
      drop: fc.constantFrom('kind', 'operation', 'userInfo', 'resource', 'none'),
    })
    .filter(
      (r) => !(r.apiVersion === 'admission.k8s.io/v1' && r.kind === 'AdmissionReview' && r.drop === 'none'),
    )
    .map((r) => {
      const body = admissionReview(r.uid, 'Workspace', 'CREATE', t.account, {
        metadata: { name: 'x' },
        spec: {},
      }) as Record<string, unknown> & {
        request: Record<string, unknown>;
      };
      body.apiVersion = r.apiVersion;
      body.kind = r.kind;
      if (r.drop !== 'none') delete body.request[r.drop];
      return { body: Buffer.from(JSON.stringify(body)), uid: r.uid, invalid: true };
    });
  const otherKinds = fc
    .record({
      uid,
      group: fc.constantFrom('apps', 'taskjuice.io', ''),
      version: fc.constantFrom('v1', 'v2', 'v1alpha2'),
      kind: fc.constantFrom('Deployment', 'Workspace', 'Secret'),
    })
    .map((r) => {
      const body = admissionReview(r.uid, 'Workspace', 'CREATE', t.account, {
        metadata: { name: 'x' },
        spec: { displayName: 'x' },
      });
      body.request.kind = { group: r.group, version: r.version, kind: r.kind };
      return { body: Buffer.from(JSON.stringify(body)), uid: r.uid, invalid: true };
    });
  const ourKinds = fc
    .record({
      uid,
      kind: fc.constantFrom('Workspace', 'Account', 'ClientInvitation'),
      operation: fc.constantFrom('CREATE', 'UPDATE'),
      name: fc.oneof(fc.constantFrom('web', 'fuzz-ws', t.account), text),
      ws: workspaceSpec,
      acct: accountSpec(t),
      inv: invitationSpec(t),
    })
    .map((r) => {
      const spec = r.kind === 'Workspace' ? r.ws : r.kind === 'Account' ? r.acct : r.inv;
      const namespace = r.kind === 'Account' ? undefined : t.account;
      const body = admissionReview(r.uid, r.kind, r.operation, namespace, {
        apiVersion: 'taskjuice.io/v1alpha1',
        kind: r.kind,
        metadata: { name: r.name, namespace },
        spec,
      });
      return {
        body: Buffer.from(JSON.stringify(body)),
        uid: r.uid,
        invalid: invalidSpec(r.kind, r.operation, spec, t),
      };
    });
  return fc.oneof(
    { arbitrary: garbage, weight: 2 },
    { arbitrary: wrongEnvelope, weight: 2 },
    { arbitrary: otherKinds, weight: 1 },
    { arbitrary: ourKinds, weight: 6 },
  );
}
