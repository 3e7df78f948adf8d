import { Duration } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { Account } from './account.js';
import { Workspace } from './workspace.js';
import { SYNC_WAVE } from './validation.js';
import { synth } from './testing.js';

const owner = [{ email: 'owner@acme.example', role: 'Owner' as const }];

describe('Workspace', () => {
  it('lives in its account’s namespace, after the account, with the CRD’s defaults written out', () => {
    const docs = synth((chart) => {
      // Declared before the account on purpose: the output still puts the account first.
      const account = new Account(chart, 'acme', { name: 'acme', displayName: 'Acme', teammates: owner });
      new Workspace(chart, 'ws', { account, slug: 'contoso', displayName: 'Contoso' });
    });
    expect(docs.map((d) => d.kind)).toEqual(['Account', 'Workspace']);
    expect(docs[1]).toMatchObject({
      metadata: { name: 'contoso', namespace: 'acme', annotations: { [SYNC_WAVE]: '1' } },
      spec: { displayName: 'Contoso', betaOptIn: true, approvalTimeoutSeconds: 86400 },
    });
  });

  it('converts the approval timeout to seconds and follows the account’s sync wave', () => {
    const docs = synth((chart) => {
      new Account(chart, 'acme', {
        name: 'acme',
        displayName: 'Acme',
        teammates: owner,
        syncWave: 5,
      }).addWorkspace('fabrikam', {
        displayName: 'Fabrikam',
        betaOptIn: false,
        approvalTimeout: Duration.hours(2),
      });
    });
    expect(docs[1]).toMatchObject({
      metadata: { annotations: { [SYNC_WAVE]: '6' } },
      spec: { betaOptIn: false, approvalTimeoutSeconds: 7200 },
    });
  });

  it('can name an account declared elsewhere', () => {
    const [ws] = synth((chart) => {
      new Workspace(chart, 'ws', { account: 'northwind', slug: 'contoso', displayName: 'Contoso' });
    });
    expect(ws?.metadata.namespace).toBe('northwind');
  });

  it('refuses a slug outside the product’s rule, saying the rule', () => {
    expect(() =>
      synth((chart) => {
        new Workspace(chart, 'ws', { account: 'acme', slug: 'Contoso-', displayName: 'Contoso' });
      }),
    ).toThrow(/2 to 50 lower-case letters, digits and hyphens, with no leading or trailing hyphen/);
  });

  it('refuses an approval timeout under a minute', () => {
    expect(() =>
      synth((chart) => {
        new Workspace(chart, 'ws', {
          account: 'acme',
          slug: 'contoso',
          displayName: 'Contoso',
          approvalTimeout: Duration.seconds(30),
        });
      }),
    ).toThrow(/approvalTimeoutSeconds/);
  });
});
