// Parsing request JSON safely: nesting is bounded before anything recursive (zod, JSON.stringify,
// PostgreSQL) sees it, and parameters live in objects without a prototype, so `__proto__` and
// `constructor` are plain keys that are never merged into, or read from, Object.prototype.

/** Deepest nesting of arrays and objects a request body may have (JSON Schema tools use 64 too). */
export const MAX_JSON_DEPTH = 64;

/** True when `text` nests arrays/objects deeper than `max`. One pass, no recursion, strings skipped. */
export function jsonTooDeep(text: string, max: number = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

/** An object with no prototype holding `entries` as own properties, whatever their names. */
export function plainParams(...sources: Iterable<[string, unknown]>[]): Record<string, unknown> {
  const params = Object.create(null) as Record<string, unknown>;
  for (const source of sources) {
    for (const [key, value] of source) Object.defineProperty(params, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return params;
}
