import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { span, tracingOn } from './tracing.js';

const src = dirname(fileURLToPath(import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'tracing-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Records every module an ESM import resolves under @opentelemetry (the CJS ones show in require.cache). */
const HOOKS = `
import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  if (resolved.url.includes('/@opentelemetry/')) appendFileSync(process.env.RESOLVED_LOG, resolved.url + '\\n');
  return resolved;
}`;

/**
 * In a fresh process: imports the whole operator's module graph, starts tracing from the configuration that
 * `env` gives, runs one span, and reports what was loaded of OpenTelemetry.
 */
function probe(name: string, env: Record<string, string>): { on: boolean; ran: string; loaded: string[] } {
  const log = join(scratch, `${name}.log`);
  const url = (file: string) => JSON.stringify(pathToFileURL(join(src, file)).href);
  const script = `
    import { createRequire, register } from 'node:module';
    register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(HOOKS)}));
    await import(${url('operator.ts')});
    const { loadConfig } = await import(${url('config.ts')});
    const { createLogger } = await import(${url('log.ts')});
    const { span, startTracing, tracingOn } = await import(${url('tracing.ts')});
    const config = loadConfig({ DATABASE_URL: 'postgres://operator@127.0.0.1/operator', ...${JSON.stringify(env)} });
    const tracing = await startTracing(config.tracing, createLogger('silent'));
    const ran = await span('probe', {}, async () => 'ran');
    const on = tracingOn();
    await tracing.shutdown();
    const cjs = Object.keys(createRequire(import.meta.url).cache).filter((p) => p.includes('@opentelemetry'));
    process.stdout.write(JSON.stringify({ on, ran, cjs }));
  `;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: join(src, '..', '..'),
    env: { PATH: process.env.PATH ?? '', RESOLVED_LOG: log },
    encoding: 'utf8',
  });
  const { on, ran, cjs } = JSON.parse(out) as { on: boolean; ran: string; cjs: string[] };
  let esm: string[] = [];
  try {
    esm = readFileSync(log, 'utf8').split('\n').filter(Boolean);
  } catch {
    esm = [];
  }
  // prom-client loads the API package (the no-op API, for exemplars) whether tracing is on or not: only what
  // tracing itself would add counts.
  const loaded = [...esm, ...cjs].filter((p) => !p.includes('/@opentelemetry/api/'));
  return { on, ran, loaded };
}

describe('tracing', () => {
  it('is off without an OTLP endpoint, and then neither the SDK nor an exporter is loaded', () => {
    const off = probe('off', {});
    expect(off).toEqual({ on: false, ran: 'ran', loaded: [] });
  }, 60_000);

  it('loads the SDK and the exporter of the protocol once an endpoint is set', () => {
    const on = probe('on', {
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:9/v1/traces',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      // Nothing sampled, so the shutdown has no span to send to the closed port.
      OTEL_TRACES_SAMPLER: 'always_off',
    });
    expect(on.on).toBe(true);
    expect(on.ran).toBe('ran');
    expect(on.loaded.some((p) => p.includes('/@opentelemetry/sdk-trace-node/'))).toBe(true);
    expect(on.loaded.some((p) => p.includes('/@opentelemetry/exporter-trace-otlp-http/'))).toBe(true);
    expect(on.loaded.some((p) => p.includes('/@opentelemetry/exporter-trace-otlp-proto/'))).toBe(false);
  }, 60_000);

  it('calls the function with a span that records nothing when off', async () => {
    expect(tracingOn()).toBe(false);
    const seen = await span('unit', { a: 1 }, async (s) => {
      s.setAttribute('b', 2);
      s.fail('nothing records this');
      return 'done';
    });
    expect(seen).toBe('done');
    await expect(
      span('unit', {}, async () => {
        throw new Error('passes through');
      }),
    ).rejects.toThrow('passes through');
  });
});
