import { X509Certificate, createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';
import { REPO_ROOT } from '../../operator/tools/local/install.js';

/** Where tests leave what a person looks at afterwards (screenshots); gitignored. */
export const TEST_RESULTS = join(REPO_ROOT, 'test-results');

/** Debian's Chromium (`.ci/run` installs it); CHROMIUM_PATH names another. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** The base64 SHA-256 of a certificate's public key, as Chromium's `--ignore-certificate-errors-spki-list` takes it. */
export function spkiHash(certificatePem: string): string {
  const der = new X509Certificate(certificatePem).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('base64');
}

/**
 * A headless Chromium that trusts exactly one server key besides the public roots: the test operator's listener,
 * whose certificate comes from the operator's own CA, which no browser trusts. No sandbox: the tests run as root,
 * where Chromium refuses its sandbox.
 */
export async function launchChromium(trustedKey: string): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `no Chromium at ${CHROMIUM}: apt-get install chromium (what .ci/run does), or set CHROMIUM_PATH`,
    );
  }
  return puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', `--ignore-certificate-errors-spki-list=${trustedKey}`],
  });
}

/** The path a screenshot of this name goes to, with the folder made. */
export function screenshotPath(name: string): `${string}.png` {
  mkdirSync(TEST_RESULTS, { recursive: true });
  return `${join(TEST_RESULTS, name)}.png`;
}
