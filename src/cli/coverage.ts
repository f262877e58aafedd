/**
 * Coverage on the command line, over a server's API: `bulwark coverage show [--control C]
 * [--stale] [--tactic T] [--platform P]`, `bulwark coverage export --format
 * navigator|json|vectr-csv|dettect [--control C] [--out FILE]`, `bulwark coverage settings [--set FILE]`
 * `bulwark coverage profile NAME FILE [--in-scope]` and `bulwark coverage import-attire FILE [--window S] [--match host|any] [--deadline S]`. The server is `--url` (env
 * BULWARK_URL, default http://127.0.0.1:7600), the token `--token` (env BULWARK_TOKEN). Exit
 * codes: 0 done, 1 the server failed or could not be reached, 2 bad input.
 */
import { readFile, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { EXPORT_FORMATS, type ExportFormat } from '../core/coverage/exports.ts';
import type { CoverageCell, CoverageKris } from '../core/coverage/map.ts';
import { ATTIRE_MATCHES, DEFAULT_ATTIRE_WINDOW_SECONDS, MAX_ATTIRE_WINDOW_SECONDS, parseAttire } from '../core/coverage/attire.ts';
import { parseProfileList } from '../core/coverage/profile-list.ts';
import type { CoverageSettingsInput } from '../core/coverage/settings.ts';
import { malformed } from './exit.ts';
import { client, remote, type RemoteFlags } from './remote.ts';

/** The server flags; `show` has its own --json, the exports and settings print what the server sends. */
const server = (cmd: Command): Command => remote(cmd, { json: false });

const print = (s: string): void => void process.stdout.write(`${s}\n`);
const ms = (v: number | null) => (v === null ? '-' : v < 1000 ? `${v} ms` : `${(v / 1000).toFixed(1)} s`);

interface CoverageView {
  attackVersion: string;
  at: string;
  kris: CoverageKris;
  techniques: CoverageCell[];
}

export function coverageCommands(program: Command): void {
  const coverage = program.command('coverage').description('the ATT&CK coverage map of a server, from its runs');

  server(
    coverage
      .command('show')
      .description('techniques in scope (or with evidence): status, last run, time to detect, when verified; and the KRIs')
      .option('--control <name>', "only this control's results (an experiment's expect control, e.g. waf)")
      .option('--stale', 'only techniques whose evidence has gone stale')
      .option('--tactic <shortname>', 'only techniques under this tactic, e.g. initial-access')
      .option('--platform <name>', 'only techniques on this platform, e.g. Linux')
      .option('--all', 'also techniques in scope never exercised (hidden by default)')
      .option('--json', 'print the API answer as JSON'),
  ).action(async (o: RemoteFlags & { control?: string; stale?: boolean; tactic?: string; platform?: string; all?: boolean }) => {
    const q = new URLSearchParams();
    if (o.control) q.set('control', o.control);
    if (o.stale) q.set('status', 'stale');
    if (o.tactic) q.set('tactic', o.tactic);
    if (o.platform) q.set('platform', o.platform);
    const text = await client(o, { timeoutMs: 60_000 }).text('GET', `/v1/coverage${q.size ? `?${q.toString()}` : ''}`);
    if (o.json) return print(text);
    const v = JSON.parse(text) as CoverageView;
    const k = v.kris;
    print(`ATT&CK v${v.attackVersion} at ${v.at}`);
    print(
      `in scope ${k.inScope}: blocked ${k.blocked}, alerted ${k.alerted}, logged ${k.logged}, none ${k.none}, stale ${k.stale}, never exercised ${k.neverExercised}`,
    );
    const shown = v.techniques.filter((c) => o.all || o.stale || c.runs > 0);
    if (shown.length === 0) print(o.stale ? 'no stale technique' : 'no technique has evidence yet: run an experiment');
    for (const c of shown) {
      const last = c.lastRun ? `${c.lastRun.id} ${c.lastRun.outcome}` : '-';
      print(
        `${c.technique.padEnd(10)} ${c.status.padEnd(12)} ttd ${ms(c.ttd.lastMs).padEnd(8)} p50 ${ms(c.ttd.p50Ms).padEnd(8)} p90 ${ms(c.ttd.p90Ms).padEnd(8)} verified ${(c.verifiedAt ?? 'never').padEnd(24)} ${last}  ${c.name}`,
      );
      for (const x of c.controls ?? [])
        print(
          `           control ${x.control}: ${x.results.join(', ')}${x.status === 'stale' ? ' (stale)' : ''}, run ${x.lastRun} at ${x.verifiedAt}, ttd ${ms(x.ttd.lastMs)} p50 ${ms(x.ttd.p50Ms)} p90 ${ms(x.ttd.p90Ms)} n ${x.ttd.samples}`,
        );
      if (c.rollup && c.rollup.exercised > 0)
        print(
          `           with sub-techniques: ${c.rollup.status}${c.rollup.weakest ? ` (weakest ${c.rollup.weakest})` : ''}, ${c.rollup.exercised} of ${c.rollup.subtechniques} exercised, oldest verified ${c.rollup.verifiedAt ?? 'never'}`,
        );
    }
  });

  server(
    coverage
      .command('export')
      .description('the coverage as a Navigator layer (4.5), JSON, VECTR import CSV or a DeTT&CT techniques administration file')
      .requiredOption('--format <format>', EXPORT_FORMATS.join('|'))
      .option('--control <name>', "one control's results (a layer per control); all controls combined by default")
      .option('--out <file>', 'write to this file instead of standard output'),
  ).action(async (o: RemoteFlags & { format: string; control?: string; out?: string }) => {
    if (!(EXPORT_FORMATS as readonly string[]).includes(o.format))
      throw malformed(`--format ${o.format}: use one of ${EXPORT_FORMATS.join(', ')}`);
    const q = o.control ? `?control=${encodeURIComponent(o.control)}` : '';
    const text = await client(o, { timeoutMs: 60_000 }).text('GET', `/v1/coverage/export/${o.format as ExportFormat}${q}`);
    if (o.out) await writeFile(o.out, text);
    else process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  });

  server(
    coverage
      .command('settings')
      .description('show the coverage settings (scope, threat profiles, ages), or store new ones from a YAML or JSON file')
      .option('--set <file>', 'store the settings in this file as their next version'),
  ).action(async (o: RemoteFlags & { set?: string }) => {
    if (!o.set) return print(await client(o, { timeoutMs: 60_000 }).text('GET', '/v1/coverage/settings'));
    let doc: unknown;
    try {
      doc = parseYaml(await readFile(o.set, 'utf8'));
    } catch (e) {
      throw malformed(`${o.set}: ${e instanceof Error ? e.message : String(e)}`);
    }
    const r = JSON.parse(await client(o, { timeoutMs: 60_000 }).text('PUT', '/v1/coverage/settings', doc)) as { version: number };
    print(`coverage settings stored as version ${r.version}`);
  });

  server(
    coverage
      .command('import-attire')
      .description(
        "import an ATTiRe log (Atomic Red Team's Invoke-AtomicTest -LoggingModule Attire-ExecutionLogger): each procedure a run of its technique, matched to the signals received",
      )
      .argument('<file>', 'the ATTiRe log (JSON)')
      .option(
        '--window <seconds>',
        'how long after a procedure started a signal counts as its detection',
        String(DEFAULT_ATTIRE_WINDOW_SECONDS),
      )
      .option('--match <how>', 'host: signals with a label equal to the target host or ip; any: every signal in the window', 'host')
      .option('--deadline <seconds>', 'a detection after this many seconds is detected-late (less than the window); none by default'),
  ).action(async (file: string, o: RemoteFlags & { window: string; match: string; deadline?: string }) => {
    const windowSeconds = Number(o.window);
    if (!Number.isInteger(windowSeconds) || windowSeconds < 1 || windowSeconds > MAX_ATTIRE_WINDOW_SECONDS)
      throw malformed(`--window ${o.window}: a whole number of seconds from 1 to ${MAX_ATTIRE_WINDOW_SECONDS}`);
    const deadlineSeconds = o.deadline === undefined ? undefined : Number(o.deadline);
    if (deadlineSeconds !== undefined && !(Number.isInteger(deadlineSeconds) && deadlineSeconds >= 0 && deadlineSeconds < windowSeconds))
      throw malformed(`--deadline ${o.deadline}: a whole number of seconds from 0 to less than the window (${windowSeconds})`);
    if (!(ATTIRE_MATCHES as readonly string[]).includes(o.match)) throw malformed(`--match ${o.match}: use ${ATTIRE_MATCHES.join(' or ')}`);
    let log: string;
    try {
      log = await readFile(file, 'utf8');
    } catch (e) {
      throw malformed(`${file}: ${e instanceof Error ? e.message : String(e)}`);
    }
    // Checked here too, so a broken file is named before anything is sent.
    const parsed = parseAttire(log);
    if (!parsed.ok) throw malformed(`${file}: ${parsed.message}`);
    const r = JSON.parse(
      await client(o, { timeoutMs: 60_000 }).text('POST', '/v1/coverage/imports/attire', {
        log,
        windowSeconds,
        match: o.match,
        ...(deadlineSeconds !== undefined ? { deadlineSeconds } : {}),
      }),
    ) as {
      source: string;
      runs: { id: string; technique: string; procedure: string; outcome: string; ttdMs: number | null; imported: boolean }[];
    };
    const fresh = r.runs.filter((x) => x.imported).length;
    print(`${r.source}: ${r.runs.length} procedure(s), ${fresh} imported, ${r.runs.length - fresh} imported before`);
    for (const x of r.runs)
      print(
        `${x.id} ${x.technique.padEnd(10)} ${x.outcome.padEnd(9)} ttd ${ms(x.ttdMs).padEnd(8)} ${x.imported ? '' : '(before) '}${x.procedure}`,
      );
  });

  server(
    coverage
      .command('profile')
      .description(
        "store a threat profile from a list file (technique ids, one a line or comma-separated, # comments; or a Navigator layer such as ATT&CK's group layers) into the settings",
      )
      .argument('<name>', 'the profile name, e.g. APT29')
      .argument('<file>', 'the list file')
      .option('--in-scope', 'also put the profile in scope (scope.profiles)'),
  ).action(async (name: string, file: string, o: RemoteFlags & { inScope?: boolean }) => {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      throw malformed(`${file}: ${e instanceof Error ? e.message : String(e)}`);
    }
    const list = parseProfileList(text);
    if (!list.ok) throw malformed(`${file}: ${list.message}`);
    const api = client(o, { timeoutMs: 60_000 });
    const current = JSON.parse(await api.text('GET', '/v1/coverage/settings')) as { settings: CoverageSettingsInput };
    const s = current.settings;
    const scope = s.scope ?? {};
    const inScope = scope.profiles ?? [];
    const doc: CoverageSettingsInput = {
      ...s,
      profiles: { ...s.profiles, [name]: list.techniques },
      scope: o.inScope && !inScope.includes(name) ? { ...scope, profiles: [...inScope, name] } : scope,
    };
    // The server checks the name and every id against the ATT&CK table and refuses the whole document on a typo.
    const r = JSON.parse(await api.text('PUT', '/v1/coverage/settings', doc)) as { version: number };
    print(
      `threat profile ${name}: ${list.techniques.length} techniques from ${list.form === 'navigator' ? 'a Navigator layer' : 'a list'}${o.inScope ? ', in scope' : ''}; coverage settings stored as version ${r.version}`,
    );
  });
}
