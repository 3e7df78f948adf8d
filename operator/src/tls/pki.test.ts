import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createAuthority, issueCertificate, notAfter } from './pki.js';

describe('pki', () => {
  it('issues a server certificate that verifies against its authority and carries the requested names', async () => {
    const ca = await createAuthority('test-ca', { days: 10 });
    const leaf = await issueCertificate(ca, {
      commonName: 'webhook',
      dnsNames: ['webhook.ns.svc'],
      ipAddresses: ['127.0.0.1'],
      usage: 'server',
      validFor: { days: 2 },
    });
    const cert = new X509Certificate(leaf.certificate);
    expect(cert.verify(new X509Certificate(ca.certificate).publicKey)).toBe(true);
    expect(cert.checkHost('webhook.ns.svc')).toBe('webhook.ns.svc');
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(cert.ca).toBe(false);
    expect(notAfter(leaf.certificate).getTime()).toBeGreaterThan(Date.now() + 86_400_000);
    expect(notAfter(leaf.certificate).getTime()).toBeLessThan(Date.now() + 3 * 86_400_000);
  });

  it('puts organizations into the subject for client certificates', async () => {
    const ca = await createAuthority('test-ca', { days: 1 });
    const leaf = await issueCertificate(ca, {
      commonName: 'admin',
      organizations: ['system:masters'],
      usage: 'client',
      validFor: { days: 1 },
    });
    expect(new X509Certificate(leaf.certificate).subject).toContain('O=system:masters');
  });
});
