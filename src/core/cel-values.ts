/**
 * JSON values as the CEL engine (@marcbachmann/cel-js) reads them, for every capability that
 * evaluates CEL over data it received: whole numbers become CEL ints (cel-js uses BigInt, so
 * `body.count + 1` works), and objects become Maps, so that a key every JavaScript object has
 * (`constructor`, `toString`) is a key like any other: on a plain object cel-js reads
 * `constructor` as the object's type and fails. Nesting past 64 levels reads as null.
 */
export function toCel(v: unknown, depth = 0): unknown {
  if (depth > 64) return null;
  if (typeof v === 'number') return Number.isSafeInteger(v) ? BigInt(v) : v;
  if (Array.isArray(v)) return v.map((x) => toCel(x, depth + 1));
  if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype)
    return new Map(Object.entries(v).map(([k, x]) => [k, toCel(x, depth + 1)]));
  return v;
}
