import type { TcpProxy } from '../local/proxy.js';

/**
 * Reads the PostgreSQL frontend protocol a client sends through a TcpProxy and records every statement (simple
 * Query and extended Parse messages), so the chaos tool can say what SQL one process sent after a given moment.
 * The local server has no TLS, so the bytes are plain protocol: an untyped startup message (after an optional
 * SSL or GSS request), then typed messages (one byte of type, four of length that count themselves).
 */
export interface Statement {
  at: number;
  text: string;
}

const SSL_REQUEST = 80877103;
const GSS_REQUEST = 80877104;
const DDL = /^\s*(CREATE|ALTER|DROP|GRANT|REVOKE|COMMENT|REASSIGN)\b/i;

export class StatementCounter {
  readonly statements: Statement[] = [];
  private readonly streams = new Map<number, { buffer: Buffer; started: boolean }>();

  attach(proxy: TcpProxy): this {
    proxy.onClientData = (connection, chunk) => this.feed(connection, chunk);
    return this;
  }

  private feed(connection: number, chunk: Buffer): void {
    let s = this.streams.get(connection);
    if (!s) this.streams.set(connection, (s = { buffer: Buffer.alloc(0), started: false }));
    s.buffer = Buffer.concat([s.buffer, chunk]);
    for (;;) {
      if (!s.started) {
        if (s.buffer.length < 8) return;
        const length = s.buffer.readInt32BE(0);
        if (s.buffer.length < length) return;
        const code = s.buffer.readInt32BE(4);
        s.started = code !== SSL_REQUEST && code !== GSS_REQUEST;
        s.buffer = s.buffer.subarray(length);
        continue;
      }
      if (s.buffer.length < 5) return;
      const type = String.fromCharCode(s.buffer[0] ?? 0);
      const length = s.buffer.readInt32BE(1);
      if (s.buffer.length < 1 + length) return;
      const body = s.buffer.subarray(5, 1 + length);
      s.buffer = s.buffer.subarray(1 + length);
      if (type === 'Q') this.record(cString(body, 0).text);
      else if (type === 'P') this.record(cString(body, cString(body, 0).end + 1).text);
      else if (type === 'X') this.streams.delete(connection);
    }
  }

  private record(text: string): void {
    this.statements.push({ at: performance.now(), text });
  }

  since(at: number): { all: number; ddl: number; examples: string[] } {
    const later = this.statements.filter((s) => s.at >= at);
    const ddl = later.filter((s) => DDL.test(s.text));
    return { all: later.length, ddl: ddl.length, examples: ddl.slice(0, 3).map((s) => s.text.slice(0, 80)) };
  }
}

function cString(buffer: Buffer, start: number): { text: string; end: number } {
  const end = buffer.indexOf(0, start);
  const stop = end < 0 ? buffer.length : end;
  return { text: buffer.subarray(start, stop).toString('utf8'), end: stop };
}
