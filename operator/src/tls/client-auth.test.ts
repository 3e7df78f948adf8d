import type { PeerCertificate } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { isAllowedClient } from './client-auth.js';

const peer = (cn: string, san?: string) =>
  ({ subject: { CN: cn }, subjectaltname: san }) as unknown as PeerCertificate;

describe('isAllowedClient', () => {
  it('takes a certificate whose common name is allowed', () => {
    expect(isAllowedClient(peer('kube-apiserver-webhook-client'), ['kube-apiserver-webhook-client'])).toBe(
      true,
    );
  });

  it('takes a certificate whose DNS SAN is allowed, and not one whose IP SAN merely looks like it', () => {
    expect(
      isAllowedClient(peer('x', 'DNS:apiserver.example, IP Address:10.0.0.1'), ['apiserver.example']),
    ).toBe(true);
    expect(isAllowedClient(peer('x', 'IP Address:10.0.0.1'), ['10.0.0.1'])).toBe(false);
  });

  it('refuses a certificate that names none of the allowed clients', () => {
    expect(isAllowedClient(peer('local-admin', 'DNS:localhost'), ['kube-apiserver-webhook-client'])).toBe(
      false,
    );
  });

  it('takes any verified certificate when no names are configured, and never a missing one', () => {
    expect(isAllowedClient(peer('anyone'), [])).toBe(true);
    expect(isAllowedClient({} as PeerCertificate, [])).toBe(false);
    expect(isAllowedClient(undefined, [])).toBe(false);
  });
});
