import type { z } from 'zod';

/** The issues of a zod parse as `path: message` lines, for a construct's validation errors. */
export function issuesOf(prefix: string, result: z.ZodSafeParseResult<unknown>): string[] {
  if (result.success) return [];
  return result.error.issues.map(
    (i) => `${prefix}${i.path.length ? '.' + i.path.join('.') : ''}: ${i.message}`,
  );
}

/** The Argo CD annotation that orders the objects of one sync. */
export const SYNC_WAVE = 'argocd.argoproj.io/sync-wave';

export function syncWaveAnnotation(wave: number | null | undefined): Record<string, string> {
  return wave === null || wave === undefined ? {} : { [SYNC_WAVE]: String(wave) };
}
