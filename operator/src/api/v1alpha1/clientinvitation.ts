import { z } from 'zod';
import { AGE_COLUMN, READY_COLUMN, type KindDefinition } from '../crd.js';
import { Conditions, KubeObject, ObservedGeneration, Timestamp } from '../meta.js';
import { EmailAddress } from './account.js';
import { SLUG_PATTERN } from './workspace.js';

const immutable = (what: string) => ({
  'x-kubernetes-validations': [
    { rule: 'self == oldSelf', message: `${what} is immutable; create a new invitation` },
  ],
});

export const ClientInvitationSpec = z
  .object({
    workspace: z
      .string()
      .min(2)
      .max(50)
      .regex(new RegExp(SLUG_PATTERN))
      .meta(immutable('workspace'))
      .describe('Slug of the Workspace, in the same namespace, that the client is invited into.'),
    email: EmailAddress.meta(immutable('email')).describe(
      'Email of the client. The client is read-only in this one workspace; a teammate of the account cannot be invited.',
    ),
    revoked: z
      .boolean()
      .default(false)
      .describe('Set to true to revoke the invitation (and an accepted client).'),
    resendRevision: z
      .number()
      .int()
      .min(0)
      .max(1000000)
      .default(0)
      .describe(
        'Raise this number to send the invitation again: a new link, a new 7-day expiry, the old link stops working.',
      ),
  })
  .describe('Desired state of the client invitation.');
export type ClientInvitationSpec = z.infer<typeof ClientInvitationSpec>;

export const InvitationPhase = z
  .enum(['Pending', 'Accepted', 'Expired', 'Revoked', 'Rejected'])
  .describe('Pending (sent, waiting), Accepted, Expired, Revoked, or Rejected (cannot be sent).');
export type InvitationPhase = z.infer<typeof InvitationPhase>;

export const ClientInvitationStatus = z
  .object({
    observedGeneration: ObservedGeneration.optional(),
    phase: InvitationPhase.optional(),
    email: z
      .string()
      .max(254)
      .optional()
      .describe('The canonical form of spec.email, as RBAC names the client.'),
    sentAt: Timestamp.optional().describe('When the invitation was last sent (RFC 3339).'),
    expiresAt: Timestamp.optional().describe('When the link expires: 7 days after the last send (RFC 3339).'),
    acceptedAt: Timestamp.optional().describe('When the client accepted (RFC 3339).'),
    sentRevision: z
      .number()
      .int()
      .min(0)
      .max(1000000)
      .optional()
      .describe('The spec.resendRevision last sent.'),
    tokenHash: z
      .string()
      .max(128)
      .optional()
      .describe('SHA-256 of the single-use token in the link; the token itself is never stored.'),
    conditions: Conditions.optional(),
  })
  .describe('Observed state of the client invitation.');
export type ClientInvitationStatus = z.infer<typeof ClientInvitationStatus>;

export const ClientInvitation = KubeObject.extend({
  spec: ClientInvitationSpec,
  status: ClientInvitationStatus.optional(),
});
export type ClientInvitation = z.infer<typeof ClientInvitation>;

export const ClientInvitationDefinition: KindDefinition = {
  kind: 'ClientInvitation',
  plural: 'clientinvitations',
  singular: 'clientinvitation',
  shortNames: ['cinv'],
  scope: 'Namespaced',
  description:
    "Invites one client email into one workspace of the account, read-only. Lives in the account's home namespace.",
  spec: ClientInvitationSpec,
  status: ClientInvitationStatus,
  rootValidations: [],
  printerColumns: [
    {
      name: 'Workspace',
      type: 'string',
      jsonPath: '.spec.workspace',
      description: 'Workspace the client joins.',
    },
    { name: 'Email', type: 'string', jsonPath: '.spec.email', description: 'Email of the client.' },
    { name: 'Phase', type: 'string', jsonPath: '.status.phase', description: 'Phase of the invitation.' },
    { name: 'Expires', type: 'string', jsonPath: '.status.expiresAt', description: 'When the link expires.' },
    READY_COLUMN,
    AGE_COLUMN,
  ],
};
