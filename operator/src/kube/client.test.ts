import { AsyncLocalStorage } from 'node:async_hooks';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { KubeClient } from './client.js';

let server: http.Server;
const received: string[] = [];
/** Answers to /slow, held until the test lets them go. */
const held: (() => void)[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    received.push(`${req.method} ${req.url}`);
    if (req.url === '/slow') {
      held.push(() => res.end('{}'));
      return;
    }
    res.setHeader('Content-Type', 'application/json');
    res.end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
});

async function client(maxSockets?: number): Promise<KubeClient> {
  const { port } = server.address() as AddressInfo;
  return KubeClient.fromCredentials(
    { server: new URL(`http://127.0.0.1:${port}`), refresh: async () => ({ tls: {}, headers: {} }) },
    { maxSockets },
  );
}

describe('the write fence', () => {
  it('is checked again once the socket is ready: a lapse while connecting sends nothing', async () => {
    const kube = await client();
    // Allowed when the write starts, refused by the time the connection is up (a pause in between).
    let checks = 0;
    kube.fenceWrites(() => (++checks === 1 ? undefined : 'the leader Lease lapsed'));
    received.length = 0;
    await expect(kube.request({ method: 'POST', path: '/api/v1/namespaces', body: {} })).rejects.toThrow(
      /POST \/api\/v1\/namespaces not sent: the leader Lease lapsed/,
    );
    expect(checks).toBe(2);
    // Reads are never fenced; the server saw the read and not the write.
    await kube.request({ method: 'GET', path: '/api/v1/namespaces' });
    expect(received).toEqual(['GET /api/v1/namespaces']);
    kube.close();
  });

  it('sends a write that both checks allow, on a new socket and on a kept-alive one', async () => {
    const kube = await client();
    kube.fenceWrites(() => undefined);
    received.length = 0;
    await kube.request({ method: 'POST', path: '/a', body: {} });
    await kube.request({ method: 'PUT', path: '/b', body: {} });
    expect(received).toEqual(['POST /a', 'PUT /b']);
    kube.close();
  });

  it('is checked again in the context the write started in, even when another request hands it its socket', async () => {
    // The operator's fence holds only for writes made inside a reconcile (an AsyncLocalStorage). A write that waits
    // for a free socket gets it when another request ends, and the socket's event runs in that request's context.
    const kube = await client(1);
    const reconcile = new AsyncLocalStorage<true>();
    let lapsed = false;
    kube.fenceWrites(() => (lapsed && reconcile.getStore() ? 'the leader Lease lapsed' : undefined));
    received.length = 0;
    const slow = kube.request({ method: 'GET', path: '/slow' });
    await vi.waitFor(() => expect(held).toHaveLength(1));
    const write = reconcile.run(true, () => kube.request({ method: 'POST', path: '/w', body: {} }));
    // Allowed when it started; the Lease lapses while it waits for the socket (a pause, say).
    lapsed = true;
    held.shift()?.();
    await slow;
    await expect(write).rejects.toThrow(/POST \/w not sent: the leader Lease lapsed/);
    expect(received).toEqual(['GET /slow']);
    kube.close();
  });
});
