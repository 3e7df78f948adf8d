import { readFile } from 'node:fs/promises';
import type { PeerCertificate } from 'node:tls';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { PolledFile } from './polled-file.js';

/** The DNS names a certificate carries in its subjectAltName (`DNS:a, IP Address:…, DNS:b`). */
function dnsNames(peer: PeerCertificate): string[] {
  return (peer.subjectaltname ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.startsWith('DNS:'))
    .map((s) => s.slice(4));
}

/**
 * Whether a verified client certificate names one of `allowed` as its common name or a DNS SAN. With nothing
 * allowed, any certificate the CA signed will do (the CA is then the whole decision, so it should be one that
 * signs nothing but the API server's webhook client).
 */
export function isAllowedClient(peer: PeerCertificate | undefined, allowed: readonly string[]): boolean {
  if (!peer || Object.keys(peer).length === 0) return false;
  if (allowed.length === 0) return true;
  const cn = peer.subject?.CN;
  const names = [...(typeof cn === 'string' ? [cn] : (cn ?? [])), ...dnsNames(peer)];
  return names.some((n) => allowed.includes(n));
}

/**
 * The client CA bundle from a file, re-read every `pollMs`: a mounted Secret or ConfigMap changes in place when
 * the CA rotates, and the listener is told so the server trusts the new bundle without a restart.
 */
export class ClientCaFile extends PolledFile<string> {
  constructor(
    private readonly path: string,
    private readonly log: Logger,
    pollMs = 10_000,
  ) {
    super(pollMs);
  }

  override async current(): Promise<string> {
    const ca = await super.current();
    if (!isPem(ca)) throw new Error(`the webhook client CA file ${this.path} holds no PEM certificate`);
    return ca;
  }

  protected read(): Promise<string> {
    return readFile(this.path, 'utf8');
  }

  /** A half-written or emptied file is not a new CA: keep trusting the last good one. */
  protected replaces(next: string, last: string | undefined): boolean {
    return next !== last && isPem(next);
  }

  protected override failed(err: unknown): void {
    this.log.warn({ err: errorMessage(err) }, 'webhook client CA file unreadable; keeping the last one');
  }

  protected override reloaded(): void {
    this.log.info({ file: this.path }, 'reloaded the webhook client CA');
  }
}

const isPem = (text: string) => text.includes('-----BEGIN CERTIFICATE-----');
