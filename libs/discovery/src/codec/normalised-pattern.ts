const MAX_DEPTH = 5;
const MAX_KEYS = 20;

/**
 * A message or event pattern as Nest routes it, and as it is published and looked up: a string as it
 * is, an object as JSON with its keys sorted (`{ v: 2, cmd: 'sum' }` → `{"cmd":"sum","v":2}`) —
 * Nest's own `transformPatternToRoute`, which both its servers and its ClientProxies apply, as Nest 12 and the
 * 2026 releases of Nest 11 (11.2.6 checked) have it; earlier 11.x releases neither limited depth and keys nor
 * escaped quotes, so there a pattern with quotes or backslashes, over 5 levels or over 20 keys routes differently.
 * A copy, so that apps without `@nestjs/microservices` load the library;
 * normalised-pattern.spec.ts checks it against the installed one.
 */
export function normalisedPattern(pattern: unknown): string {
  return typeof pattern === 'string' ? pattern : String(route(pattern, 0));
}

function route(pattern: unknown, depth: number): unknown {
  if (typeof pattern === 'string' || typeof pattern === 'number') return `${pattern}`;
  if (pattern === null || typeof pattern !== 'object') return pattern;
  if (depth > MAX_DEPTH) return '[MAX_DEPTH_REACHED]';
  const keys = Object.keys(pattern);
  if (keys.length > MAX_KEYS) return '[TOO_MANY_KEYS]';
  const parts = keys
    .sort((a, b) => a.localeCompare(b))
    .map((key) => {
      const value = (pattern as Record<string, unknown>)[key];
      const routed = route(value, depth + 1);
      return `"${escape(key)}":${typeof value === 'string' ? `"${escape(String(routed))}"` : String(routed)}`;
    });
  return `{${parts.join(',')}}`;
}

function escape(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
}
