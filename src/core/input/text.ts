/**
 * What text Bulwark accepts from outside and keeps in its ledger. A string must survive being
 * written to either database and read back unchanged, or an entry hashed at append would no
 * longer match what verification re-reads. Three kinds of code points do not:
 *
 * - a lone UTF-16 surrogate (U+D800–U+DFFF unpaired): UTF-8 cannot encode it, so the database
 *   stores U+FFFD instead, while JSON's escape of it was what was hashed;
 * - U+0000 (NUL): PostgreSQL's text type refuses it and C strings end at it;
 * - the 66 Unicode noncharacters (U+FDD0–U+FDEF and the last two code points of every plane),
 *   which Unicode reserves for a process's internal use and tells interchange to avoid.
 *
 * Text is otherwise kept exactly as sent: neither database normalises Unicode, so NFC and NFD
 * forms of the same word are different values and both round-trip.
 */

const SUSPECT = /[\u0000\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]/;

/** Why `s` cannot be kept unchanged, or undefined when it can. */
export function textProblem(s: string): string | undefined {
  // The common case (plain text) costs one regex scan.
  if (!SUSPECT.test(s)) return undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0) return `holds a NUL character (U+0000) at offset ${i}; remove it`;
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return `holds a lone surrogate (U+${hex(c)}) at offset ${i}; send well-formed Unicode text`;
      const cp = ((c - 0xd800) << 10) + (next - 0xdc00) + 0x10000;
      if ((cp & 0xfffe) === 0xfffe) return `holds the noncharacter U+${hex(cp)} at offset ${i}; remove it`;
      i++;
      continue;
    }
    if (c >= 0xdc00 && c <= 0xdfff) return `holds a lone surrogate (U+${hex(c)}) at offset ${i}; send well-formed Unicode text`;
    if ((c >= 0xfdd0 && c <= 0xfdef) || c === 0xfffe || c === 0xffff) return `holds the noncharacter U+${hex(c)} at offset ${i}; remove it`;
  }
  return undefined;
}

const hex = (n: number) => n.toString(16).toUpperCase().padStart(4, '0');
