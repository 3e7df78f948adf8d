import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { Api } from '../../operator/src/kube/api.js';
import { KubeClient } from '../../operator/src/kube/client.js';

/** An administrator client of the test cluster. */
export async function adminApi(): Promise<Api> {
  return new Api(await KubeClient.fromFile(inject('kubeconfig')));
}

/** A name no other test uses: `prefix-` and six random characters. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex').slice(0, 6)}`;
}

/** Polls until `probe` returns a value that is not undefined, or fails saying what it waited for. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 30_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** The error an async call throws, so a test can assert on its code and message. */
export async function rejection(
  promise: Promise<unknown>,
): Promise<Error & { code?: string; status?: number }> {
  try {
    await promise;
  } catch (err) {
    return err as Error & { code?: string; status?: number };
  }
  throw new Error('expected the call to be rejected, but it succeeded');
}
