import { X509Certificate } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Api } from '../../operator/src/kube/api.js';
import { Resources } from '../../operator/src/kube/resources.js';
import { silentLogger } from '../../operator/src/log.js';
import { createAuthority, issueCertificate } from '../../operator/src/tls/pki.js';
import {
  FileCertificates,
  SelfSignedCertificates,
  type ServingMaterial,
} from '../../operator/src/tls/certs.js';
import { webhookConfiguration } from '../../operator/src/webhook/configuration.js';
import { adminApi, eventually, uniqueName } from '../support/env.js';

let api: Api;
const namespace = uniqueName('certs');
const vwcName = uniqueName('certs-vwc');

beforeAll(async () => {
  api = await adminApi();
  await api.create(Resources.Namespace, { metadata: { name: namespace } });
  await api.create(
    Resources.ValidatingWebhookConfiguration,
    // Selects nothing: only its caBundle matters here.
    webhookConfiguration({
      name: vwcName,
      clientConfig: { url: 'https://127.0.0.1:1/validate' },
      objectSelector: { matchLabels: { never: 'matches' } },
    }),
  );
});

afterAll(async () => {
  await api.delete(Resources.ValidatingWebhookConfiguration, { name: vwcName });
  await api.delete(Resources.Namespace, { name: namespace });
  api.client.close();
});

const DAY = 86_400_000;
const serial = (pem: string) => new X509Certificate(pem).serialNumber;
const cas = (bundle: string) => bundle.match(/BEGIN CERTIFICATE/g)?.length ?? 0;

describe('self-managed webhook certificates', () => {
  it('renew the serving certificate when a third of its life is left, then the CA, keeping the old CA trusted', async () => {
    let now = Date.now();
    const certs = new SelfSignedCertificates({
      api,
      namespace,
      secretName: 'webhook-tls',
      configurationName: vwcName,
      dnsNames: ['webhook.example.svc'],
      ipAddresses: ['127.0.0.1'],
      validityDays: 90,
      log: silentLogger,
      now: () => now,
    });
    const seen: ServingMaterial[] = [];
    certs.on((m) => seen.push(m));
    const first = await certs.current();
    expect(new X509Certificate(first.certificate).checkHost('webhook.example.svc')).toBe(
      'webhook.example.svc',
    );
    expect(new X509Certificate(first.certificate).verify(new X509Certificate(first.caBundle).publicKey)).toBe(
      true,
    );

    // Written into every webhook of the configuration.
    const bundle = await eventually('the caBundle', async () => {
      const vwc = (await api.get(Resources.ValidatingWebhookConfiguration, { name: vwcName })) as {
        webhooks: { clientConfig: { caBundle?: string } }[];
      };
      return vwc.webhooks.every((w) => w.clientConfig.caBundle)
        ? vwc.webhooks[0]?.clientConfig.caBundle
        : undefined;
    });
    expect(Buffer.from(bundle, 'base64').toString('utf8')).toBe(first.caBundle);

    now += 50 * DAY; // not due yet: more than a third of 90 days left
    await certs.sync();
    expect(serial((await certs.current()).certificate)).toBe(serial(first.certificate));

    now += 11 * DAY; // 61 days in: due
    await certs.sync();
    const renewed = await certs.current();
    expect(serial(renewed.certificate)).not.toBe(serial(first.certificate));
    expect(renewed.caBundle).toBe(first.caBundle);
    expect(seen.length).toBeGreaterThanOrEqual(2);

    now += 610 * DAY; // the CA (900 days) is due: a new CA signs, the old one stays in the bundle while valid
    await certs.sync();
    const newCa = await certs.current();
    expect(cas(newCa.caBundle)).toBe(2);
    expect(new X509Certificate(newCa.certificate).verify(new X509Certificate(newCa.caBundle).publicKey)).toBe(
      true,
    );
  });

  it('are created once when two replicas start together', async () => {
    const make = () =>
      new SelfSignedCertificates({
        api,
        namespace,
        secretName: 'race-tls',
        configurationName: vwcName,
        dnsNames: ['x.svc'],
        ipAddresses: [],
        validityDays: 30,
        log: silentLogger,
      });
    const [a, b] = await Promise.all([make().current(), make().current()]);
    expect(a.certificate).toBe(b.certificate);
  });
});

describe('certificates from files (cert-manager)', () => {
  it('are reloaded when the mounted files change', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'certs-'));
    const ca = await createAuthority('ca', { days: 10 });
    const write = async () => {
      const pair = await issueCertificate(ca, {
        commonName: 'w',
        dnsNames: ['w.svc'],
        usage: 'server',
        validFor: { days: 5 },
      });
      writeFileSync(join(dir, 'tls.crt'), pair.certificate);
      writeFileSync(join(dir, 'tls.key'), pair.privateKey);
      writeFileSync(join(dir, 'ca.crt'), ca.certificate);
      return pair;
    };
    const first = await write();
    const files = new FileCertificates(dir, 50);
    expect((await files.current()).certificate).toBe(first.certificate);
    const changes: ServingMaterial[] = [];
    files.on((m) => changes.push(m));
    const stop = new AbortController();
    const running = files.run(stop.signal);
    const second = await write();
    await eventually('the reload', async () =>
      changes.at(-1)?.certificate === second.certificate ? true : undefined,
    );
    stop.abort();
    await running;
  });
});
