import { readFile } from 'node:fs/promises';
import type { PeerCertificate } from 'node:tls';
import { errorMessage } from '../errors.js';
import { sleep } from '../kube/informer.js';
import type { Logger } from '../log.js';

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
export class ClientCaFile {
  private ca = '';
  private readonly listeners: ((ca: string) => void)[] = [];

  constructor(
    private readonly path: string,
    private readonly log: Logger,
    private readonly pollMs = 10_000,
  ) {}

  async current(): Promise<string> {
    if (!this.ca) {
      const ca = await readFile(this.path, 'utf8');
      if (!ca.includes('-----BEGIN CERTIFICATE-----'))
        throw new Error(`the webhook client CA file ${this.path} holds no PEM certificate`);
      this.ca = ca;
    }
    return this.ca;
  }

  on(listener: (ca: string) => void): void {
    this.listeners.push(listener);
  }

  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await sleep(this.pollMs, signal);
      if (signal.aborted) return;
      try {
        const next = await readFile(this.path, 'utf8');
        // A half-written or emptied file is not a new CA: keep trusting the last good one.
        if (next !== this.ca && next.includes('-----BEGIN CERTIFICATE-----')) {
          this.ca = next;
          for (const l of this.listeners) l(next);
          this.log.info({ file: this.path }, 'reloaded the webhook client CA');
        }
      } catch (err) {
        this.log.warn({ err: errorMessage(err) }, 'webhook client CA file unreadable; keeping the last one');
      }
    }
  }
}
