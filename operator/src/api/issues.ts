/** zod issues as one sentence naming each field: `spec.teammates[1].role: …; spec.plan: …`. */
export function describeIssues(
  issues: readonly { path: readonly PropertyKey[]; message: string }[],
  root: string,
): string {
  return issues
    .map((i) => {
      const path = i.path.reduce<string>(
        (acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : `${acc}.${String(p)}`),
        root,
      );
      return `${path}: ${i.message}`;
    })
    .join('; ');
}
