/**
 * Sealed secrets in playbook steps (`{secret: NAME}` as a header of an `http` or `notify` step, or
 * a variable of a `process` step): opened through Access's resolver when the step is executed,
 * handed to the request or the process, and never kept: not in the expression context (no `set`
 * step can copy one into outputs), not in the step's row, its outputs, its error, a log line or
 * the ledger. What comes back (a response body, a process's output, an error) is masked: an
 * opened value in it is replaced by `[sealed secret NAME]`.
 */

export interface SecretResolver {
  resolve(name: string): Promise<string>;
}

export type OpenedSecrets =
  | {
      ok: true;
      /** The value for each header or variable. */
      byKey: Record<string, string>;
      /** Each secret's value by its name (for masking). */
      values: Record<string, string>;
    }
  | { ok: false; message: string };

/** Open the secrets `refs` names (header or variable → secret name); the first that cannot be opened is the failure, named. */
export async function openSecrets(resolver: SecretResolver | undefined, refs: Readonly<Record<string, string>>): Promise<OpenedSecrets> {
  const byKey: Record<string, string> = {};
  const values: Record<string, string> = {};
  for (const [key, name] of Object.entries(refs)) {
    if (!resolver)
      return {
        ok: false,
        message: `${key} names the sealed secret ${name}, but this engine opens no secrets (they are opened in bulwark serve)`,
      };
    if (!Object.hasOwn(values, name)) {
      try {
        values[name] = await resolver.resolve(name);
      } catch (e) {
        // Access's message names the secret and how to set it; it never holds a value.
        return { ok: false, message: `${key} names the sealed secret ${name}, which cannot be opened: ${(e as Error).message}` };
      }
    }
    byKey[key] = values[name]!;
  }
  return { ok: true, byKey, values };
}

/** The shortest start of a value, left at the end of a text, that is masked as the value cut short. */
const PARTIAL_MIN = 4;

/** Replace every opened value in a string, or in the strings of a JSON value, by `[sealed secret NAME]`. */
export function redactor(values: Readonly<Record<string, string>>): <T>(v: T) => T {
  const pairs = Object.entries(values)
    .filter(([, v]) => v.length > 0)
    .sort((a, b) => b[1].length - a[1].length);
  if (pairs.length === 0) return (v) => v;
  const text = (s: string) => {
    const out = pairs.reduce((acc, [name, v]) => acc.split(v).join(`[sealed secret ${name}]`), s);
    // Output cut short by a size limit may end in the first characters of a value: those go too.
    for (const [name, v] of pairs)
      for (let k = Math.min(v.length - 1, out.length); k >= PARTIAL_MIN; k--)
        if (out.endsWith(v.slice(0, k))) return `${out.slice(0, out.length - k)}[sealed secret ${name}, cut]`;
    return out;
  };
  const walk = (v: unknown, depth: number): unknown => {
    if (typeof v === 'string') return text(v);
    if (depth > 64 || v === null || typeof v !== 'object') return v;
    if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1));
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [text(k), walk(x, depth + 1)]));
  };
  return <T>(v: T) => walk(v, 0) as T;
}
