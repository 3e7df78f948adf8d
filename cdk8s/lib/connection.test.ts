import { describe, expect, it } from 'vitest';
import { Account } from './account.js';
import { synth } from './testing.js';

const owner = [{ email: 'owner@acme.example', role: 'Owner' as const }];

describe('Connection', () => {
  it('declares a new workspace with copies of chosen connections of other workspaces, in one app', () => {
    const docs = synth((chart) => {
      const account = new Account(chart, 'acme', { name: 'acme', displayName: 'Acme', teammates: owner });
      const brand = account.addWorkspace('brand', { displayName: 'Brand' });
      const ads = brand.connect('ads', { provider: 'google-ads', secretName: 'ads-creds' });
      const crm = brand.connect('crm', { provider: 'hubspot', secretName: 'crm-creds' });
      // The sub-client gets copies of both, which follow every reconnect of the brand's.
      account.addWorkspace('brand-emea', { displayName: 'Brand EMEA' }).copyConnectionsFrom([ads, crm]);
    });
    const connections = docs
      .filter((d) => d.kind === 'Connection')
      .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    expect(connections.map((d) => [d.metadata.name, d.spec])).toEqual([
      [
        'ads',
        {
          workspace: 'brand',
          displayName: 'ads',
          provider: 'google-ads',
          credentials: { secretRef: { name: 'ads-creds' } },
        },
      ],
      ['ads-brand-emea', { workspace: 'brand-emea', displayName: 'ads-brand-emea', copyOf: { name: 'ads' } }],
      ['crm', expect.objectContaining({ workspace: 'brand', provider: 'hubspot' })],
      ['crm-brand-emea', { workspace: 'brand-emea', displayName: 'crm-brand-emea', copyOf: { name: 'crm' } }],
    ]);
    // No credentials in the output: only the name of the Secret that holds them.
    expect(JSON.stringify(docs)).not.toMatch(/"data"|stringData/);
  });

  it('refuses a connection that is neither or both a source and a copy, at synth', () => {
    expect(() =>
      synth((chart) => {
        const ws = new Account(chart, 'acme', {
          name: 'acme',
          displayName: 'Acme',
          teammates: owner,
        }).addWorkspace('brand', { displayName: 'Brand' });
        ws.connect('Bad_Name', { provider: 'google-ads', secretName: 's' });
      }),
    ).toThrow(/Connection Bad_Name: the name must be 1 to 52 lower-case letters/);
  });
});
