import http from 'node:http';
import https from 'node:https';
import type tls from 'node:tls';
import { OperatorError, type ErrorCode } from '../errors.js';
import { span, tracingOn, type ActiveSpan } from '../tracing.js';
import { defaultCredentials, fileCredentials, type Credentials } from './credentials.js';

/**
 * A small Kubernetes REST client. Credentials come from credentials.ts (in-cluster service account, kubeconfig
 * files, and @kubernetes/client-node only for what those do not read); requests go through one keep-alive
 * agent, bodies stay plain JSON (each caller parses what it reads with zod) and every request is counted, so
 * the benchmark and the metrics know exactly what the operator asks of the API server.
 */

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'apply' | 'delete';

export interface RequestOptions {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  /** The verb the request is counted under; by default derived from the method. */
  verb?: Verb;
  timeoutMs?: number;
}

export interface Impersonation {
  user: string;
  groups?: string[];
}

/**
 * Sees every request: its verb, HTTP status (0 when none came), duration and path, then its HTTP method and the
 * API server's host:port (client-go's labels).
 */
export type RequestObserver = (
  verb: Verb,
  status: number,
  seconds: number,
  path: string,
  method: RequestOptions['method'],
  host: string,
) => void;

export interface KubeClientOptions {
  /** Requests are made as this user (the `Impersonate-User` header); the caller needs `impersonate` rights. */
  impersonate?: Impersonation;
  /** Per-request timeout for everything but watches (default 30 s). */
  timeoutMs?: number;
  maxSockets?: number;
}

const AUTH_REFRESH_MS = 60_000;

function codeForStatus(status: number, reason: string | undefined): ErrorCode {
  if (status === 404) return 'NotFound';
  if (status === 409) return reason === 'AlreadyExists' ? 'AlreadyExists' : 'Conflict';
  if (status === 410) return 'Gone';
  if (status === 422) return 'Invalid';
  if (status === 403) return 'Forbidden';
  if (status === 401) return 'Unauthorized';
  if (status === 429) return 'TooManyRequests';
  if (status === 400) return 'BadRequest';
  if (status === 504) return 'Timeout';
  return status >= 500 ? 'Unavailable' : 'Internal';
}

/** The error for a non-2xx answer: the API server's own Status message, which names the object and field. */
export function apiError(status: number, body: unknown, what: string): OperatorError {
  let message = `${what}: HTTP ${status}`;
  let reason: string | undefined;
  if (body && typeof body === 'object') {
    const s = body as { message?: unknown; reason?: unknown };
    if (typeof s.message === 'string') message = s.message;
    if (typeof s.reason === 'string') reason = s.reason;
  }
  return new OperatorError(codeForStatus(status, reason), message, { status });
}

export class KubeClient {
  readonly server: URL;
  private readonly agent: http.Agent;
  private tls: https.AgentOptions = {};
  private headers: Record<string, string> = {};
  private headersAt = 0;
  private readonly observers: RequestObserver[] = [];
  private readonly warningObservers: ((warning: string) => void)[] = [];
  private fence: (() => string | undefined) | undefined;

  private constructor(
    private readonly credentials: Credentials,
    private readonly options: KubeClientOptions,
  ) {
    this.server = credentials.server;
    const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 64, keepAliveMsecs: 10_000 };
    this.agent =
      this.server.protocol === 'https:' ? new https.Agent({ ...agentOptions }) : new http.Agent(agentOptions);
  }

  static async fromCredentials(
    credentials: Credentials,
    options: KubeClientOptions = {},
  ): Promise<KubeClient> {
    const client = new KubeClient(credentials, options);
    await client.refreshCredentials();
    return client;
  }

  /** Loads `KUBECONFIG`, `~/.kube/config` or the in-cluster service account, in client-node's usual order. */
  static async fromDefault(options: KubeClientOptions = {}): Promise<KubeClient> {
    return KubeClient.fromCredentials(await defaultCredentials(), options);
  }

  /** The current context of a kubeconfig file. */
  static async fromFile(path: string, options: KubeClientOptions = {}): Promise<KubeClient> {
    return KubeClient.fromCredentials(await fileCredentials(path), options);
  }

  /** A client with the same credentials acting as another user, for tests of what that user may do. */
  async as(impersonate: Impersonation): Promise<KubeClient> {
    return KubeClient.fromCredentials(this.credentials, { ...this.options, impersonate });
  }

  onRequest(observer: RequestObserver): void {
    this.observers.push(observer);
  }

  /** Sees every `Warning` header the API server sends (admission webhook warnings among them). */
  onWarning(observer: (warning: string) => void): void {
    this.warningObservers.push(observer);
  }

  close(): void {
    this.agent.destroy();
  }

  private async refreshCredentials(): Promise<void> {
    const { tls, headers } = await this.credentials.refresh();
    this.tls = tls;
    const imp = this.options.impersonate;
    this.headers = imp ? { ...headers, 'Impersonate-User': imp.user } : headers;
    this.headersAt = Date.now();
  }

  private async requestHeaders(): Promise<Record<string, string>> {
    if (Date.now() - this.headersAt > AUTH_REFRESH_MS) await this.refreshCredentials();
    return this.headers;
  }

  private url(path: string, query: RequestOptions['query']): URL {
    const url = new URL(path, this.server);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    return url;
  }

  private async open(
    opts: RequestOptions & { recheck?: (() => string | undefined) | undefined },
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<{ res: http.IncomingMessage; req: http.ClientRequest }> {
    const url = this.url(opts.path, opts.query);
    const headers: Record<string, string> = { ...(await this.requestHeaders()), Accept: 'application/json' };
    let payload: Buffer | undefined;
    if (opts.body !== undefined) {
      payload = Buffer.from(JSON.stringify(opts.body));
      headers['Content-Type'] = opts.contentType ?? 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    const groups = this.options.impersonate?.groups ?? [];
    const lib = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = lib.request(
        url,
        {
          method: opts.method,
          agent: this.agent,
          headers: groups.length > 0 ? { ...headers, 'Impersonate-Group': groups } : headers,
          ...this.tls,
          timeout: timeoutMs,
          signal,
        },
        (res) => resolve({ res, req }),
      );
      req.on('timeout', () =>
        req.destroy(
          new OperatorError('Timeout', `${opts.method} ${opts.path}: no answer within ${timeoutMs} ms`),
        ),
      );
      req.on('error', (err) =>
        reject(
          err instanceof OperatorError || signal?.aborted
            ? err
            : new OperatorError('Unavailable', `${opts.method} ${opts.path}: ${err.message}`, { cause: err }),
        ),
      );
      const recheck = opts.recheck;
      if (!recheck) {
        req.end(payload);
        return;
      }
      // Nothing leaves the process before a socket is ready (no headers are flushed before end()): the fence is
      // checked again then, so a process paused while it connected (TLS handshakes take round trips) does not
      // send a write it allowed before the pause.
      req.once('socket', (socket) => {
        const send = () => {
          const reason = recheck();
          if (reason)
            req.destroy(new OperatorError('Unavailable', `${opts.method} ${opts.path} not sent: ${reason}`));
          else req.end(payload);
        };
        const tlsSocket = socket as Partial<tls.TLSSocket>;
        const handshaking =
          typeof tlsSocket.getProtocol === 'function' && [null, 'unknown'].includes(tlsSocket.getProtocol());
        if (handshaking) socket.once('secureConnect', send);
        else if (socket.connecting) socket.once('connect', send);
        else send();
      });
    });
  }

  private verbOf(opts: RequestOptions): Verb {
    if (opts.verb) return opts.verb;
    switch (opts.method) {
      case 'GET':
        return 'get';
      case 'POST':
        return 'create';
      case 'PUT':
        return 'update';
      case 'PATCH':
        return opts.contentType === 'application/apply-patch+yaml' ? 'apply' : 'patch';
      case 'DELETE':
        return 'delete';
    }
  }

  /**
   * A check before every write but the Lease's: when it returns a reason, the write is refused with it before it
   * leaves the process (a leader that cannot be sure of its Lease any more).
   */
  fenceWrites(fence: () => string | undefined): void {
    this.fence = fence;
  }

  /** One request; the parsed JSON body of a 2xx answer, or an OperatorError. */
  request(opts: RequestOptions): Promise<unknown> {
    if (!tracingOn()) return this.send(opts, undefined);
    // The method and the path, which names the object: never the query (selectors), a header or the body.
    return span(
      `kube ${this.verbOf(opts)}`,
      {
        'http.request.method': opts.method,
        'url.path': opts.path,
        'server.address': this.server.hostname,
        'k8s.verb': this.verbOf(opts),
      },
      (s) => this.send(opts, s),
      'client',
    );
  }

  private async send(opts: RequestOptions, traced: ActiveSpan | undefined): Promise<unknown> {
    const started = performance.now();
    const verb = this.verbOf(opts);
    let status = 0;
    // Every write but the Lease's is fenced: checked now, and again once its connection is ready.
    const write = verb !== 'get' && verb !== 'list' && verb !== 'watch' && !opts.path.includes('/leases');
    const fence = write ? this.fence : undefined;
    const reason = fence?.();
    if (reason) throw new OperatorError('Unavailable', `${opts.method} ${opts.path} not sent: ${reason}`);
    try {
      const { res } = await this.open(
        { ...opts, recheck: fence },
        opts.timeoutMs ?? this.options.timeoutMs ?? 30_000,
      );
      status = res.statusCode ?? 0;
      if (this.warningObservers.length > 0) {
        const header = res.headers.warning;
        // RFC 7234 warnings as the API server writes them: 299 - "text", comma-separated.
        for (const match of String(header ?? '').matchAll(/299 - "((?:[^"\\]|\\.)*)"/g)) {
          for (const o of this.warningObservers) o((match[1] ?? '').replace(/\\(.)/g, '$1'));
        }
      }
      const chunks: Buffer[] = [];
      for await (const chunk of res) chunks.push(chunk as Buffer);
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = undefined;
      if (text.length > 0) {
        try {
          body = JSON.parse(text);
        } catch {
          body = undefined;
        }
      }
      if (status < 200 || status >= 300) throw apiError(status, body, `${opts.method} ${opts.path}`);
      return body;
    } finally {
      if (status !== 0) traced?.setAttribute('http.response.status_code', status);
      const seconds = (performance.now() - started) / 1000;
      for (const o of this.observers) o(verb, status, seconds, opts.path, opts.method, this.server.host);
    }
  }

  /**
   * A streaming GET (a watch): calls `onLine` with each newline-delimited JSON document until the server ends
   * the stream, the signal aborts, or nothing (not even a bookmark) arrives for `idleTimeoutMs`.
   */
  async stream(
    opts: RequestOptions,
    onLine: (doc: unknown) => void,
    signal: AbortSignal,
    idleTimeoutMs: number,
    onOpen?: () => void,
  ): Promise<void> {
    const started = performance.now();
    const { res } = await this.open({ ...opts, verb: 'watch' }, idleTimeoutMs, signal);
    const status = res.statusCode ?? 0;
    const seconds = (performance.now() - started) / 1000;
    for (const o of this.observers) o('watch', status, seconds, opts.path, opts.method, this.server.host);
    if (status >= 200 && status < 300) onOpen?.();
    if (status < 200 || status >= 300) {
      const chunks: Buffer[] = [];
      for await (const chunk of res) chunks.push(chunk as Buffer);
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        body = undefined;
      }
      throw apiError(status, body, `watch ${opts.path}`);
    }
    res.setEncoding('utf8');
    let buffered = '';
    try {
      for await (const chunk of res) {
        buffered += chunk as string;
        let newline = buffered.indexOf('\n');
        while (newline >= 0) {
          const line = buffered.slice(0, newline).trim();
          buffered = buffered.slice(newline + 1);
          if (line.length > 0) onLine(JSON.parse(line));
          newline = buffered.indexOf('\n');
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      throw err instanceof OperatorError
        ? err
        : new OperatorError('Unavailable', `watch ${opts.path} broke: ${(err as Error).message}`, {
            cause: err,
          });
    }
  }
}
