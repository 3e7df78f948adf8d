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

  it('declares the account with its Owner and first workspace in one step, as the setup wizard does', () => {
    const manifests = synth((chart) => {
      const agency = new Account(chart, 'tailspin', {
        name: 'tailspin',
        displayName: 'Tailspin Creative',
        owner: 'nora@tailspin.example',
        teammates: [{ email: 'sam@tailspin.example', role: 'Member' }],
        firstWorkspace: { slug: 'wingtip', displayName: 'Wingtip Toys', betaOptIn: false },
      });
      agency.firstWorkspace?.invite('maria@wingtiptoys.example');
    });
    expect(manifests.map((m) => `${m.kind}/${m.metadata.name}`)).toEqual([
      'Account/tailspin',
      'Workspace/wingtip',
      expect.stringMatching(/^ClientInvitation\//),
    ]);
    const [account, workspace, invitation] = manifests;
    expect(account?.spec).toEqual({
      displayName: 'Tailspin Creative',
      plan: 'starter',
      teammates: [
        { email: 'nora@tailspin.example', role: 'Owner' },
        { email: 'sam@tailspin.example', role: 'Member' },
      ],
    });
    // Applied after the account (wave 1, and after it in the file), in its home namespace.
    expect(workspace).toMatchObject({
      metadata: { name: 'wingtip', namespace: 'tailspin', annotations: { [SYNC_WAVE]: '1' } },
      spec: { displayName: 'Wingtip Toys', betaOptIn: false, approvalTimeoutSeconds: 86400 },
    });
    expect(invitation).toMatchObject({
      metadata: { namespace: 'tailspin' },
      spec: { workspace: 'wingtip', email: 'maria@wingtiptoys.example' },
    });
  });

  it('refuses at synthesis a wizard step with a bad first slug or an Owner listed twice', () => {
    expect(() =>
      synth((chart) => {
        new Account(chart, 'acme', {
          name: 'acme',
          displayName: 'Acme',
          owner: 'owner@acme.example',
          firstWorkspace: { slug: 'Acme Inc', displayName: 'Acme Inc' },
        });
      }),
    ).toThrow(/Workspace Acme Inc: the slug must be 2 to 50 lower-case letters/);
    expect(() =>
      synth((chart) => {
        new Account(chart, 'acme', {
          name: 'acme',
          displayName: 'Acme',
          owner: 'owner@acme.example',
          teammates: [{ email: 'Owner@acme.example', role: 'Admin' }],
        });
      }),
    ).toThrow(/teammates\.1\.email: is the same person as teammates\[0\]/);
  });

  it('carries the workspace limit Support set, checked against the operator schema', () => {
    const [account] = synth((chart) => {
      new Account(chart, 'acme', {
        name: 'acme',
        displayName: 'Acme',
        plan: 'growth',
        workspaceLimit: 8,
        owner: 'owner@acme.example',
      });
    });
    expect(account?.spec).toMatchObject({ plan: 'growth', workspaceLimit: 8 });
    expect(() =>
      synth((chart) => {
        new Account(chart, 'acme', {
          name: 'acme',
          displayName: 'Acme',
          workspaceLimit: -1,
          owner: 'owner@acme.example',
        });
      }),
    ).toThrow(/workspaceLimit/);
  });

  it('limits a teammate to chosen workspaces, and refuses at synthesis an account whose Owners are all limited', () => {
    const [account] = synth((chart) => {
      new Account(chart, 'acme', {
        name: 'acme',
        displayName: 'Acme',
        owner: 'owner@acme.example',
        firstWorkspace: { slug: 'web', displayName: 'Web' },
      }).addTeammate('lena@acme.example', 'Admin', ['web']);
    });
    expect(account?.spec?.teammates).toEqual([
      { email: 'owner@acme.example', role: 'Owner' },
      { email: 'lena@acme.example', role: 'Admin', workspaces: ['web'] },
    ]);
    expect(() =>
      synth((chart) => {
        new Account(chart, 'acme', {
          name: 'acme',
          displayName: 'Acme',
          teammates: [{ email: 'owner@acme.example', role: 'Owner', workspaces: ['web'] }],
        });
      }),
    ).toThrow(/at least one Owner must reach every workspace/);
  });
});
