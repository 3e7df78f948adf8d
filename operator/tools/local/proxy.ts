import net from 'node:net';
import { freePort } from './processes.js';

/**
 * A TCP proxy on loopback in front of a real server, for faults a server cannot make by itself:
 *
 * - `cut()`: connections are refused and the open ones reset, what a client sees when the server goes away;
 * - `slow(ms)`: every chunk in either direction waits `ms` before it is forwarded (order kept), a slow network;
 * - `freeze()`: nothing is forwarded any more and nothing is closed, a peer that vanished without a FIN; the
 *   connections frozen then stay frozen for good (their bytes are lost), new ones go through after `restore()`.
 *
 * `onClientData` sees every chunk a client sends, per connection (to count what a client asks of the server).
 */
export class TcpProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private delayMs = 0;
  private frozen = false;
  private connections = 0;
  port = 0;
  onClientData: ((connection: number, chunk: Buffer) => void) | undefined;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(): Promise<void> {
    if (this.port === 0) this.port = await freePort();
    const server = net.createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  private accept(client: net.Socket): void {
    const id = ++this.connections;
    const upstream = net.connect(this.targetPort, this.targetHost);
    let dead = false;
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    const forward = (from: net.Socket, to: net.Socket, observe?: (chunk: Buffer) => void) => {
      let last = 0;
      from.on('data', (chunk: Buffer) => {
        if (this.frozen) dead = true;
        if (dead) return;
        observe?.(chunk);
        if (this.delayMs === 0 && last <= Date.now()) {
          to.write(chunk);
          return;
        }
        last = Math.max(Date.now() + this.delayMs, last);
        setTimeout(() => {
          if (!dead) to.write(chunk);
        }, last - Date.now()).unref();
      });
      from.on('end', () => {
        if (!dead) to.end();
      });
    };
    forward(client, upstream, (chunk) => this.onClientData?.(id, chunk));
    forward(upstream, client);
  }

  /** Every later chunk waits this long in each direction (0: forwarded at once again). */
  slow(ms: number): void {
    this.delayMs = ms;
  }

  /** Stops forwarding without closing anything. */
  freeze(): void {
    this.frozen = true;
  }

  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Undoes slow and freeze (frozen connections stay dead), and listens again after a cut. */
  async restore(): Promise<void> {
    this.delayMs = 0;
    this.frozen = false;
    if (!this.server) await this.start();
  }

  /** Closes the listener and every connection, frozen ones included. */
  stop(): Promise<void> {
    return this.cut();
  }
}
