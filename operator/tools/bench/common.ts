/**
 * Small pieces the benchmarks share: progress lines, figures, bounded concurrency, and a clean exit on Ctrl-C.
 */

/** A progress line on stderr, so that stdout holds only the report. */
export function progress(line: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

/** Runs `fn` over `items` with at most `limit` in flight; the first failure stops taking new items. */
export async function eachLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  const lane = async () => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        await fn(items[index] as T, index);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
}

/** The q-quantile (0..1) of the values, nearest rank. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] as number;
}

export const ms = (value: number): string => (Number.isFinite(value) ? `${value.toFixed(0)} ms` : 'n/a');
export const seconds = (valueMs: number): string =>
  Number.isFinite(valueMs) ? `${(valueMs / 1000).toFixed(2)} s` : 'n/a';
export const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
export const fixed = (value: number, digits = 2): string =>
  Number.isFinite(value) ? value.toFixed(digits) : 'n/a';

/** A report line: a label, the figure, and the target it is held against. */
export function row(label: string, figure: string, target = ''): string {
  const left = `  ${label.padEnd(52)} ${figure.padStart(14)}`;
  return target ? `${left}   ${target}` : left;
}

/** PASS or MISS after a target, so the report reads at a glance. */
export const verdict = (ok: boolean): string => (ok ? 'ok' : 'MISSED');

/**
 * Runs `cleanup` once, whether the benchmark ends, fails or is interrupted (Ctrl-C, SIGTERM), so that no child
 * process outlives it.
 */
export function onShutdown(cleanup: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  const once = () => (done ??= cleanup());
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      progress(`${signal}: stopping`);
      // Work in flight now loses its connections (servers are stopping); that is expected and not worth a crash.
      process.on('uncaughtException', (err) => progress(`while stopping: ${err.message}`));
      process.on('unhandledRejection', () => {});
      void once().finally(() => process.exit(130));
    });
  }
  return once;
}

export const delay = (millis: number): Promise<void> => new Promise((r) => setTimeout(r, millis));

/** A command-line number that must be whole and at least `min`, or an error naming the option. */
export function wholeNumber(name: string, value: string, min = 1): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be a whole number of at least ${min}`);
  return n;
}

/** Runs a benchmark's main: a failure is printed and sets the exit code, and what it started is stopped either way. */
export function runBenchmark(main: () => Promise<void>, cleanup: () => Promise<void>): void {
  main()
    .catch((err: unknown) => {
      progress(`failed: ${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = 1;
    })
    .finally(() => void cleanup());
}
