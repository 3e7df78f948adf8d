import { describe, expect, it } from 'vitest';
import { Account } from './account.js';
import { ClientInvitation } from './client-invitation.js';
import { SYNC_WAVE } from './validation.js';
import { synth } from './testing.js';

describe('ClientInvitation', () => {
  it('is named after the workspace and the client, and comes after its workspace', () => {
    const docs = synth((chart) => {
      const account = new Account(chart, 'acme', {
        name: 'acme',
        displayName: 'Acme',
        teammates: [{ email: 'owner@acme.example', role: 'Owner' }],
      });
      account.addWorkspace('contoso', { displayName: 'Contoso' }).invite('Dana.Scully@contoso.example');
    });
    expect(docs.map((d) => d.kind)).toEqual(['Account', 'Workspace', 'ClientInvitation']);
    expect(docs[2]).toMatchObject({
      metadata: { name: 'contoso-dana-scully', namespace: 'acme', annotations: { [SYNC_WAVE]: '2' } },
      spec: { workspace: 'contoso', email: 'Dana.Scully@contoso.example', revoked: false, resendRevision: 0 },
    });
  });

  it('can invite into a workspace declared elsewhere, revoked or resent', () => {
    const [inv] = synth((chart) => {
      new ClientInvitation(chart, 'inv', {
        workspace: { slug: 'contoso', namespace: 'northwind' },
        email: 'dana@contoso.example',
        name: 'dana',
        revoked: true,
        resendRevision: 3,
      });
    });
    expect(inv).toMatchObject({
      metadata: { name: 'dana', namespace: 'northwind' },
      spec: { revoked: true, resendRevision: 3 },
    });
  });

  it('refuses an address that is not an email', () => {
    expect(() =>
      synth((chart) => {
        new ClientInvitation(chart, 'inv', {
          workspace: { slug: 'contoso', namespace: 'northwind' },
          email: 'not-an-email',
        });
      }),
    ).toThrow(/ClientInvitation contoso-not-an-email: spec.email/);
  });
});
