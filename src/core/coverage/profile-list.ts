/**
 * A threat profile's list file: the techniques of a named group, as a team keeps them. Two forms:
 * a text list (technique ids separated by line breaks, commas or spaces; `#` starts a comment),
 * or an ATT&CK Navigator layer (as ATT&CK's own group pages export: "G0016 … layer"), whose
 * enabled techniques are the list. Pure: the text comes in, the ids or a message come out.
 */
import { parseLayers } from './navigator.ts';

const TECHNIQUE = /^T\d{4}(\.\d{3})?$/;
/** As the settings allow per profile. */
export const MAX_PROFILE_TECHNIQUES = 2000;

export type ProfileList = { ok: true; techniques: string[]; form: 'list' | 'navigator' } | { ok: false; message: string };

/** The techniques of a list file, unique, in the order first given; or what to fix. */
export function parseProfileList(text: string): ProfileList {
  const body = text.replace(/^\uFEFF/, '');
  const first = body.trimStart()[0];
  let ids: string[];
  let form: 'list' | 'navigator';
  if (first === '{' || first === '[') {
    const r = parseLayers(body);
    if (!r.ok) return { ok: false, message: `a JSON list file is a Navigator layer: ${r.message}` };
    ids = r.layers.flatMap((l) => (l.techniques ?? []).filter((t) => t.enabled !== false).map((t) => t.techniqueID));
    form = 'navigator';
  } else {
    ids = [];
    const lines = body.split(/\r?\n/);
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!.replace(/#.*$/, '');
      for (const token of line.split(/[\s,;]+/)) {
        if (token === '') continue;
        const id = token.toUpperCase();
        if (!TECHNIQUE.test(id))
          return { ok: false, message: `line ${i + 1}: '${token.slice(0, 40)}' is not a technique id (T1234 or T1234.001)` };
        ids.push(id);
      }
    }
    form = 'list';
  }
  const unique = [...new Set(ids)];
  if (unique.length === 0) return { ok: false, message: 'the list names no technique' };
  if (unique.length > MAX_PROFILE_TECHNIQUES)
    return { ok: false, message: `the list names ${unique.length} techniques; a profile holds at most ${MAX_PROFILE_TECHNIQUES}` };
  return { ok: true, techniques: unique, form };
}
