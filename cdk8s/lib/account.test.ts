import { describe, expect, it } from 'vitest';
import { Account } from './account.js';
import { SYNC_WAVE } from './validation.js';
import { synth } from './testing.js';

describe('Account', () => {
  it('synthesizes the account with teammates added later and the starter plan by default', () => {
    const [account] = synth((chart) => {
      new Account(chart, 'acme', {
        name: 'acme',
        displayName: 'Acme Agency',
        teammates: [{ email: 'owner@acme.example', role: 'Owner' }],
      }).addTeammate('dev@acme.example', 'Member');
    });
    expect(account).toMatchObject({
      apiVersion: 'taskjuice.io/v1alpha1',
      kind: 'Account',
      metadata: { name: 'acme', annotations: { [SYNC_WAVE]: '0' } },
      spec: {
        displayName: 'Acme Agency',
        plan: 'starter',
        teammates: [
          { email: 'owner@acme.example', role: 'Owner' },
          { email: 'dev@acme.example', role: 'Member' },
        ],
      },
    });
    expect(account?.metadata.namespace).toBeUndefined();
  });

  it('leaves the sync wave out when asked to', () => {
    const [account] = synth((chart) => {
      new Account(chart, 'acme', {
        name: 'acme',
        displayName: 'Acme',
        syncWave: null,
        teammates: [{ email: 'owner@acme.example', role: 'Owner' }],
      });
    });
    expect(account?.metadata.annotations).toBeUndefined();
  });

  it('refuses at synthesis an account without an Owner, with the operator schema’s message', () => {
    expect(() =>
      synth((chart) => {
        new Account(chart, 'acme', {
          name: 'acme',
          displayName: 'Acme',
          teammates: [{ email: 'a@acme.example', role: 'Admin' }],
        });
      }),
    ).toThrow(/at least one teammate must have the Owner role/);
  });

  it('refuses two teammates who are the same person after normalisation', () => {
    expect(() =>
      synth((chart) => {
        new Account(chart, 'acme', {
          name: 'acme',
          displayName: 'Acme',
          teammates: [
            { email: 'Owner@Acme.example', role: 'Owner' },
            { email: ' owner@acme.EXAMPLE', role: 'Member' },
          ],
        });
      }),
    ).toThrow(/teammates\.1\.email: is the same person as teammates\[0\]/);
  });

  it('refuses a name that cannot name a namespace', () => {
    expect(() =>
      synth((chart) => {
        new Account(chart, 'acme', {
          name: 'Acme_Agency',
          displayName: 'Acme',
          teammates: [{ email: 'owner@acme.example', role: 'Owner' }],
        });
      }),
    ).toThrow(/name must be a DNS label/);
  });
});
