/**
 * `bulwark incidents` commands for links, the versioned postmortem and the export: link, links,
 * postmortem-versions, postmortem-show, postmortem-save, export, verify-export. All go through the
 * server's API (docs/incidents.md).
 */
import { chmod, readFile, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { malformed } from './exit.ts';
import { client, remote, type RemoteFlags } from './remote.ts';

const print = (s: string) => process.stdout.write(`${s}\n`);

function id(text: string, what: string): number {
  const n = Number(text.replace(/^(INC)-/i, ''));
  if (!Number.isInteger(n) || n < 1) throw malformed(`${what} ${text}: give its number, e.g. 12`);
  return n;
}

interface LinksView {
  window: { from: string; to: string; ongoing: boolean };
  slos: { slo: string; state: string; consumed: number | null; bad: number | null; events: number | null; note: string | null }[];
  techniques: string[];
  experiments: {
    experiment: string;
    techniques: string[];
    lastBefore: { outcome: string; endedAt: string } | null;
    latest: { outcome: string; endedAt: string } | null;
    predicted: boolean | null;
  }[];
}

interface VersionView {
  version: number;
  source: string;
  sha256: string;
  size: number;
  at: string;
  by: string;
  markdown?: string;
}

const collect = (v: string, prev: string[]) => [...prev, v];

function linksText(l: LinksView): string {
  const out = [`impact window ${l.window.from} – ${l.window.to}${l.window.ongoing ? ' (ongoing)' : ''}`];
  if (l.slos.length === 0) out.push('no SLO linked');
  for (const s of l.slos)
    out.push(
      s.state === 'evaluated'
        ? `SLO ${s.slo}: ${(s.consumed! * 100).toFixed(2)}% of its budget spent (${s.bad} bad of ${s.events} events)`
        : `SLO ${s.slo}: not computed (${s.note ?? s.state})`,
    );
  out.push(`techniques: ${l.techniques.join(', ') || 'none'}`);
  for (const e of l.experiments)
    out.push(
      `experiment ${e.experiment} (${e.techniques.join(', ')}): ${e.predicted === null ? 'no run before the impact' : e.predicted ? 'predicted' : 'not predicted'}; last before ${e.lastBefore?.outcome ?? '-'}, latest ${e.latest?.outcome ?? '-'}`,
    );
  return out.join('\n');
}

export function incidentLinkCommands(inc: Command): void {
  remote(
    inc
      .command('link')
      .description('link SLOs the incident affected and ATT&CK techniques seen in it')
      .argument('<id>')
      .option('--slo <name>', 'an SLO it affected (repeat for more)', collect, [])
      .option('--technique <id>', 'an ATT&CK technique, e.g. T1110.004 (repeat for more)', collect, []),
  ).action(async (n: string, o: RemoteFlags & { slo: string[]; technique: string[] }) => {
    if (o.slo.length + o.technique.length === 0) throw malformed('name at least one --slo or --technique to link');
    const l = await client(o)<LinksView>('POST', `/v1/incidents/${id(n, 'incident')}/links`, { slos: o.slo, techniques: o.technique });
    print(o.json ? JSON.stringify(l) : linksText(l));
  });

  remote(
    inc
      .command('links')
      .description('the budget the incident spent of its SLOs, and the experiments covering its techniques')
      .argument('<id>'),
  ).action(async (n: string, o: RemoteFlags) => {
    const l = await client(o)<LinksView>('GET', `/v1/incidents/${id(n, 'incident')}/links`);
    print(o.json ? JSON.stringify(l) : linksText(l));
  });

  remote(inc.command('postmortem-versions').description('the versions of the postmortem document').argument('<id>')).action(
    async (n: string, o: RemoteFlags) => {
      const r = await client(o)<{ versions: VersionView[] }>('GET', `/v1/incidents/${id(n, 'incident')}/postmortem/versions`);
      if (o.json) print(JSON.stringify(r));
      else if (r.versions.length === 0) print('no postmortem saved yet: bulwark incidents postmortem-save ID --base 0');
      else for (const v of r.versions) print(`v${v.version}  ${v.source.padEnd(9)} ${v.at}  ${v.by}  ${v.size} bytes  ${v.sha256}`);
    },
  );

  remote(
    inc
      .command('postmortem-show')
      .description('print a version of the postmortem document (the newest by default)')
      .argument('<id>')
      .option('--version <n>', 'which version'),
    { json: false },
  ).action(async (n: string, o: RemoteFlags & { version?: string }) => {
    const c = client(o);
    const incident = id(n, 'incident');
    let v = o.version !== undefined ? Number(o.version) : undefined;
    if (v === undefined) {
      const r = await c<{ versions: VersionView[] }>('GET', `/v1/incidents/${incident}/postmortem/versions`);
      v = r.versions.at(-1)?.version;
      if (v === undefined) throw malformed(`incident ${incident} has no postmortem saved yet; save one with postmortem-save --base 0`);
    }
    if (!Number.isInteger(v) || v < 1) throw malformed(`--version ${o.version}: give a version number, e.g. 2`);
    process.stdout.write((await c<VersionView>('GET', `/v1/incidents/${incident}/postmortem/versions/${v}`)).markdown ?? '');
  });

  remote(
    inc
      .command('postmortem-save')
      .description('save a postmortem version: your edit (--file) of the newest, or generated from the record (no --file)')
      .argument('<id>')
      .requiredOption('--base <version>', 'the version your edit starts from (0 before the first); a stale one is refused')
      .option('--file <file>', 'the edited Markdown ("-" for standard input)'),
  ).action(async (n: string, o: RemoteFlags & { base: string; file?: string }) => {
    const base = Number(o.base);
    if (!Number.isInteger(base) || base < 0)
      throw malformed(`--base ${o.base}: give the version your edit starts from, e.g. 1 (0 before the first)`);
    let markdown: string | undefined;
    if (o.file === '-') {
      const chunks: Buffer[] = [];
      for await (const ch of process.stdin) chunks.push(ch as Buffer);
      markdown = Buffer.concat(chunks).toString('utf8');
    } else if (o.file) markdown = await readFile(o.file, 'utf8');
    const v = await client(o)<VersionView>('POST', `/v1/incidents/${id(n, 'incident')}/postmortem/versions`, {
      baseVersion: base,
      ...(markdown !== undefined ? { markdown } : {}),
    });
    print(o.json ? JSON.stringify({ ...v, markdown: undefined }) : `saved version ${v.version} (${v.source}, SHA-256 ${v.sha256})`);
  });

  remote(
    inc
      .command('export')
      .description('the incident as one file: timeline with leaf hashes, evidence with custody, roles, reports, postmortem')
      .argument('<id>')
      .option('--format <format>', 'json or markdown', 'json')
      .option('-o, --output <file>', 'write it to a file'),
    { json: false },
  ).action(async (n: string, o: RemoteFlags & { format: string; output?: string }) => {
    if (o.format !== 'json' && o.format !== 'markdown') throw malformed(`--format ${o.format}: use json or markdown`);
    const incident = id(n, 'incident');
    const text = await client(o).text('GET', `/v1/incidents/${incident}/export${o.format === 'markdown' ? '/markdown' : ''}`);
    if (o.output) {
      // The export holds the incident's whole record: readable by its owner only.
      await writeFile(o.output, text, { mode: 0o600 });
      await chmod(o.output, 0o600);
      print(`wrote ${o.output}`);
    } else process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  });

  remote(
    inc
      .command('verify-export')
      .description('check an incident export (JSON) against the ledger: entries, postmortem and report versions, evidence')
      .argument('<file>'),
  ).action(async (file: string, o: RemoteFlags) => {
    let value: unknown;
    try {
      value = JSON.parse(await readFile(file, 'utf8'));
    } catch (e) {
      throw malformed(`${file}: not JSON (${(e as Error).message}); give the file "bulwark incidents export ID" wrote`);
    }
    const r = await client(o)<{ ok: boolean; entries: number; problems: string[]; checked?: string[]; notChecked?: string[] }>(
      'POST',
      '/v1/incidents/exports/verify',
      value,
    );
    if (o.json) print(JSON.stringify(r));
    else {
      print(r.ok ? `ok: ${r.entries} entries match the ledger` : `NOT OK: ${r.problems.length} problem(s)`);
      for (const p of r.problems) print(`  ${p}`);
      for (const c of r.checked ?? []) print(`checked: ${c}`);
      for (const c of r.notChecked ?? []) print(`not checked: ${c}`);
    }
    if (!r.ok) process.exitCode = 1;
  });
}
