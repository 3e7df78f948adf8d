import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { Labels } from '../api/v1alpha1/group.js';
import { errorMessage, isCode } from '../errors.js';
import type { Api } from '../kube/api.js';
import { sleep } from '../kube/informer.js';
import { managedLabels } from '../kube/ownership.js';
import { Resources } from '../kube/resources.js';
import type { Logger } from '../log.js';
import type { KeyPair } from './pki.js';
import { PolledFile } from './polled-file.js';

/** What the HTTPS server serves with, and the CA bundle the API server must trust. */
export interface ServingMaterial {
  certificate: string;
  privateKey: string;
  caBundle: string;
}

export interface CertificateSource {
  /** The current material; waits for the first one. */
  current(): Promise<ServingMaterial>;
  /** Calls `listener` whenever the material changes (a rotation here, or by another replica, or new files). */
  on(listener: (m: ServingMaterial) => void): void;
  /** Keeps the material fresh until the signal aborts. */
  run(signal: AbortSignal): Promise<void>;
}

const TlsSecret = z.looseObject({
  metadata: z.looseObject({ resourceVersion: z.string().optional() }),
  data: z.object({
    'tls.crt': z.string(),
    'tls.key': z.string(),
    'ca.crt': z.string(),
    'ca.key': z.string(),
  }),
});

const b64 = (s: string) => Buffer.from(s).toString('base64');
const unb64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');
const validTo = (pem: string) => new Date(new X509Certificate(pem).validTo).getTime();
const validFrom = (pem: string) => new Date(new X509Certificate(pem).validFrom).getTime();

/** When the first certificate of a PEM chain (the leaf) expires, in seconds since the epoch (NaN: unreadable). */
export function expiresAtSeconds(pem: string): number {
  try {
    return Math.floor(validTo(pem) / 1000);
  } catch {
    return Number.NaN;
  }
}

/** Every certificate in a PEM bundle. */
function splitBundle(bundle: string): string[] {
  return bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
}

export interface SelfSignedOptions {
  api: Api;
  namespace: string;
  secretName: string;
  configurationName: string;
  dnsNames: string[];
  ipAddresses: string[];
  validityDays: number;
  /** How often to check whether rotation is due (default hourly). */
  checkIntervalMs?: number;
  log: Logger;
  now?: () => number;
}

/**
 * Self-managed certificates, the cert-manager way without cert-manager: a CA and a serving certificate kept in a
 * Secret, renewed when a third of their life is left. Any replica may create the Secret (the create is atomic: the
 * loser reads the winner's); rotations replace it with the version they read, so two replicas never both win. The
 * CA bundle keeps the previous CA until it expires, so the API server trusts both sides of a CA rotation. Every
 * replica reloads from the Secret when it changes, and patches the bundle into the ValidatingWebhookConfiguration.
 */
export class SelfSignedCertificates implements CertificateSource {
  private material: ServingMaterial | undefined;
  private resourceVersion: string | undefined;
  private readonly listeners: ((m: ServingMaterial) => void)[] = [];

  constructor(private readonly opts: SelfSignedOptions) {}

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  async current(): Promise<ServingMaterial> {
    if (!this.material) await this.sync();
    return this.material as ServingMaterial;
  }

  /** Calls `listener` with every new material, whoever wrote it. */
  on(listener: (m: ServingMaterial) => void): void {
    this.listeners.push(listener);
  }

  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await sleep(this.opts.checkIntervalMs ?? 3_600_000, signal);
      if (signal.aborted) return;
      try {
        await this.sync();
      } catch (err) {
        this.opts.log.warn({ err: errorMessage(err) }, 'webhook certificate check failed');
      }
    }
  }

  /** Reads the Secret, rotating what is due; reports new material to the listeners and the webhook configuration. */
  async sync(forceRotation = false): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const raw = await this.opts.api.get(Resources.Secret, {
        namespace: this.opts.namespace,
        name: this.opts.secretName,
      });
      const parsed = raw === undefined ? undefined : TlsSecret.safeParse(raw);
      try {
        if (!parsed?.success) {
          const fresh = await this.issue(undefined);
          await this.opts.api.create(Resources.Secret, this.secret(fresh));
          this.opts.log.info({ secret: this.opts.secretName }, 'created the webhook certificate');
          continue;
        }
        const data = parsed.data.data;
        const stored = {
          ca: { certificate: unb64(data['ca.crt']), privateKey: unb64(data['ca.key']) },
          serving: { certificate: unb64(data['tls.crt']), privateKey: unb64(data['tls.key']) },
        };
        if (
          forceRotation ||
          this.due(stored.serving.certificate) ||
          this.due(currentCa(stored.ca.certificate))
        ) {
          const next = await this.issue(stored.ca);
          await this.opts.api.replace(Resources.Secret, {
            ...this.secret(next),
            metadata: {
              ...this.secret(next).metadata,
              resourceVersion: parsed.data.metadata.resourceVersion,
            },
          });
          this.opts.log.info({ secret: this.opts.secretName }, 'rotated the webhook certificate');
          forceRotation = false;
          continue;
        }
        this.adopt(stored, parsed.data.metadata.resourceVersion);
        return;
      } catch (err) {
        // Another replica created or rotated it first: read theirs.
        if (isCode(err, 'AlreadyExists', 'Conflict')) continue;
        throw err;
      }
    }
    throw new Error('could not settle the webhook certificate Secret after 5 attempts');
  }

  /** Rotates the serving certificate now (an operator command, and how the tests rotate under load). */
  rotateNow(): Promise<void> {
    return this.sync(true);
  }

  private due(certificatePem: string): boolean {
    const from = validFrom(certificatePem);
    const to = validTo(certificatePem);
    return this.now() > to - (to - from) / 3;
  }

  /** A new serving certificate, from the stored CA unless that is due too (then from a new CA, keeping the old in the bundle). */
  private async issue(stored: { certificate: string; privateKey: string } | undefined) {
    // Loaded only when a certificate is made: @peculiar/x509 and its polyfills cost about 10 MB of RSS, and a
    // replica that finds valid certificates in the Secret never needs them.
    const { createAuthority, issueCertificate } = await import('./pki.js');
    let ca = stored;
    let bundle = stored?.certificate ?? '';
    if (!ca || this.due(currentCa(ca.certificate))) {
      const fresh = await createAuthority(
        'workspace-operator-webhook-ca',
        { days: this.opts.validityDays * 10 },
        this.now(),
      );
      const kept = splitBundle(bundle).filter((c) => validTo(c) > this.now());
      bundle = [fresh.certificate, ...kept].join('');
      ca = fresh;
    }
    const serving = await issueCertificate(ca, {
      commonName: this.opts.dnsNames[0] ?? 'workspace-operator-webhook',
      dnsNames: this.opts.dnsNames,
      ipAddresses: this.opts.ipAddresses,
      usage: 'server',
      validFor: { days: this.opts.validityDays },
      now: this.now(),
    });
    return { ca: { certificate: bundle, privateKey: ca.privateKey }, serving };
  }

  private secret(m: { ca: KeyPair; serving: KeyPair }) {
    return {
      metadata: {
        name: this.opts.secretName,
        namespace: this.opts.namespace,
        labels: managedLabels({ [Labels.component]: 'webhook-tls' }),
      },
      type: 'kubernetes.io/tls',
      data: {
        'tls.crt': b64(m.serving.certificate),
        'tls.key': b64(m.serving.privateKey),
        'ca.crt': b64(m.ca.certificate),
        'ca.key': b64(m.ca.privateKey),
      },
    };
  }

  private adopt(stored: { ca: KeyPair; serving: KeyPair }, resourceVersion: string | undefined): void {
    if (this.resourceVersion === resourceVersion && this.material) return;
    this.resourceVersion = resourceVersion;
    this.material = {
      certificate: stored.serving.certificate,
      privateKey: stored.serving.privateKey,
      caBundle: stored.ca.certificate,
    };
    for (const l of this.listeners) l(this.material);
    void this.patchCaBundle(this.material.caBundle);
  }

  /** Writes the CA bundle into every webhook of the configuration that does not carry it yet. */
  async patchCaBundle(caBundle: string): Promise<void> {
    try {
      const vwc = (await this.opts.api.get(Resources.ValidatingWebhookConfiguration, {
        name: this.opts.configurationName,
      })) as { webhooks?: { clientConfig?: { caBundle?: string } }[] } | undefined;
      if (!vwc) {
        this.opts.log.warn(
          { configuration: this.opts.configurationName },
          'ValidatingWebhookConfiguration not found; cannot set its caBundle yet',
        );
        return;
      }
      const encoded = b64(caBundle);
      const ops = (vwc.webhooks ?? []).flatMap((w, i) =>
        w.clientConfig?.caBundle === encoded
          ? []
          : [{ op: 'add', path: `/webhooks/${i}/clientConfig/caBundle`, value: encoded }],
      );
      if (ops.length > 0)
        await this.opts.api.jsonPatch(
          Resources.ValidatingWebhookConfiguration,
          { name: this.opts.configurationName },
          ops,
        );
    } catch (err) {
      this.opts.log.warn(
        { err: errorMessage(err) },
        'could not write the caBundle of the ValidatingWebhookConfiguration',
      );
    }
  }
}

/** The newest CA of a bundle: the one that signs new certificates. */
function currentCa(bundle: string): string {
  return splitBundle(bundle)[0] ?? bundle;
}

/**
 * Certificates from files, for cert-manager: the Secret its Certificate writes is mounted at `dir`; the kubelet
 * swaps the files on renewal and this source notices within `pollMs`. cert-manager's CA injector keeps the
 * ValidatingWebhookConfiguration's caBundle.
 */
export class FileCertificates extends PolledFile<ServingMaterial> implements CertificateSource {
  constructor(
    private readonly dir: string,
    pollMs = 10_000,
  ) {
    super(pollMs);
  }

  protected async read(): Promise<ServingMaterial> {
    const [certificate, privateKey, ca] = await Promise.all([
      readFile(join(this.dir, 'tls.crt'), 'utf8'),
      readFile(join(this.dir, 'tls.key'), 'utf8'),
      readFile(join(this.dir, 'ca.crt'), 'utf8').catch(() => ''),
    ]);
    return { certificate, privateKey, caBundle: ca };
  }

  protected replaces(next: ServingMaterial, last: ServingMaterial | undefined): boolean {
    return next.certificate !== last?.certificate || next.privateKey !== last?.privateKey;
  }
}
