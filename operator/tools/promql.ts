/** PromQL's words that are not metric names: aggregation modifiers, set and comparison keywords. */
const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
  'inf',
  'nan',
]);

/**
 * The metric names a PromQL expression reads: identifiers that are neither functions (followed by a parenthesis),
 * nor keywords, nor inside label matchers, grouping clauses, ranges or strings. Enough for the expressions this
 * project writes; it is a check of names, not a parser.
 */
export function metricNames(expr: string): Set<string> {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const m of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const word = m[0];
    const at = m.index ?? 0;
    const before = stripped[at - 1];
    if (before !== undefined && /[0-9.$]/.test(before)) continue;
    if (/^\s*\(/.test(stripped.slice(at + word.length))) continue;
    if (!KEYWORDS.has(word.toLowerCase())) names.add(word);
  }
  return names;
}
