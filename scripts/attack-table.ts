/**
 * Regenerates Bulwark's ATT&CK table (src/core/coverage/attack/enterprise-v18.1.json, or
 * another path) from a STIX-derived table such as ../shared/attack/enterprise-attack-v18.1.json
 * (mitre/cti's enterprise-attack bundle reduced to tactics and attack-patterns), or from a STIX
 * 2.1 bundle itself (`enterprise-attack.json` of mitre/cti or mitre-attack/attack-stix-data).
 * Keeps the tactics in matrix order and every technique that is neither deprecated nor revoked,
 * with id, name, tactics, platforms and whether it is a sub-technique.
 *
 *   npx tsx scripts/attack-table.ts INPUT.json OUTPUT.json [--version 18.1]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { format, resolveConfig } from 'prettier';
import { attackTableFrom } from '../src/core/coverage/attack-source.ts';

const args = process.argv.slice(2);
const vi = args.indexOf('--version');
const version = vi >= 0 ? args[vi + 1] : undefined;
const [input, output] = args.filter((_, i) => vi < 0 || (i !== vi && i !== vi + 1));
if (!input || !output) {
  process.stderr.write('usage: tsx scripts/attack-table.ts INPUT.json OUTPUT.json [--version X.Y]\n');
  process.exit(2);
}
const table = attackTableFrom(JSON.parse(readFileSync(input, 'utf8')) as unknown, version);
// One tactic or technique a line: small, and a newer release reads well in a diff.
const lines = (xs: unknown[]) => xs.map((x) => `  ${JSON.stringify(x)}`).join(',\n');
const { tactics, techniques, ...head } = table;
const text = `${JSON.stringify(head, null, 1).slice(0, -2)},\n "tactics": [\n${lines(tactics)}\n ],\n "techniques": [\n${lines(techniques)}\n ]\n}\n`;
// In the repository's format, so that a regenerated table checks clean.
writeFileSync(output, await format(text, { ...(await resolveConfig(output)), filepath: output }));
process.stdout.write(`${output}: ATT&CK ${table.version}, ${table.tactics.length} tactics, ${table.techniques.length} techniques\n`);
