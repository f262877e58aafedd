/**
 * Experiments against a running server, over its API: `bulwark experiments apply FILE`,
 * `bulwark experiments delete NAME`, `bulwark experiments run NAME`,
 * `bulwark experiments stop-all`, `bulwark runs list`,
 * `bulwark runs show ID` and `bulwark runs stop ID`. The server is `--url` (env BULWARK_URL,
 * default http://127.0.0.1:7600) and the token `--token` (env BULWARK_TOKEN; prefer the
 * environment, a flag is visible to other users of the machine). Exit codes: 0 done, 1 the
 * server failed or could not be reached, 2 bad input (a file that does not parse, an unknown
 * name, a token without the permission).
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { CliExit, malformed } from './exit.ts';

export const DEFAULT_URL = 'http://127.0.0.1:7600';

interface RemoteFlags {
  url?: string;
  token?: string;
  json?: boolean;
}

interface RunSummary {
  id: string;
  experiment: string;
  state: string;
  outcome: string | null;
  reason: string | null;
  startedAt: string;
  endedAt: string | null;
  ttdMs: number | null;
  dryRun: boolean;
}

interface TimelineEvent {
  at: string;
  kind: string;
  label: string;
  ok?: boolean;
}

interface ErrorBody {
  error?: string;
  message?: string;
  details?: unknown;
}

function remote(cmd: Command): Command {
  return cmd
    .option('--url <url>', `the Bulwark server (env BULWARK_URL; default ${DEFAULT_URL})`)
    .option('--token <token>', 'an API token (env BULWARK_TOKEN, preferred: a flag shows in the process list)')
    .option('--json', 'print the API answer as JSON');
}

/** The client for one command: base URL and token from flags, then the environment. */
function client(flags: RemoteFlags) {
  const raw = flags.url ?? process.env.BULWARK_URL ?? DEFAULT_URL;
  let base: URL;
  try {
    base = new URL(raw);
  } catch {
    throw malformed(`--url ${raw}: not a URL; write e.g. ${DEFAULT_URL}`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw malformed(`--url ${raw}: use an http:// or https:// URL`);
  const token = flags.token ?? process.env.BULWARK_TOKEN;
  if (!token) throw malformed('a token is needed: set BULWARK_TOKEN (or pass --token); mint one with "bulwark tokens create"');
  const root = base.href.replace(/\/+$/, '');

  return async function call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${root}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (e) {
      const cause = e instanceof Error && e.cause instanceof Error ? e.cause.message : e instanceof Error ? e.message : String(e);
      throw new CliExit(1, `error: cannot reach Bulwark at ${root}: ${cause}; is "bulwark serve" running there? (--url or BULWARK_URL)`);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text === '' ? {} : JSON.parse(text);
    } catch {
      throw new CliExit(1, `error: ${root}${path} answered ${res.status} with something that is not JSON; is this a Bulwark server?`);
    }
    if (res.ok) return json as T;
    const err = json as ErrorBody;
    const lines = [`error: ${err.message ?? `${res.status} ${res.statusText}`}`];
    for (const d of Array.isArray(err.details) ? (err.details as Record<string, unknown>[]) : []) {
      if (typeof d?.line === 'number')
        lines.push(
          `  ${String(d.line)}:${String(d.column)}  ${String(d.message)}${typeof d.path === 'string' && d.path ? `  (${d.path})` : ''}`,
        );
    }
    throw new CliExit(res.status >= 500 || res.status === 429 ? 1 : 2, lines.join('\n'));
  };
}

const print = (s: string): void => void process.stdout.write(`${s}\n`);
const ttd = (ms: number | null) => (ms === null ? '-' : ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`);
const outcomeOf = (r: RunSummary) => r.outcome ?? (r.state === 'done' ? (r.dryRun ? 'dry run' : '-') : r.state);

function runLine(r: RunSummary): string {
  return `${r.id}  ${r.experiment.padEnd(28)} ${outcomeOf(r).padEnd(16)} ${ttd(r.ttdMs).padEnd(9)} ${r.startedAt}`;
}

const experimentsGroup = (program: Command): Command =>
  // The standalone commands (validate, import-atomic) share this group; whoever comes first makes it.
  program.commands.find((c) => c.name() === 'experiments') ?? program.command('experiments').description('experiment files');

export function experimentRemoteCommands(program: Command): void {
  const experiments = experimentsGroup(program);

  remote(
    experiments
      .command('apply')
      .description('apply an experiment file to a server: stored as a new version, nothing runs')
      .argument('<file>', 'the experiment file, YAML or JSON')
      .option('--name <name>', 'the name to apply it under (default: a slug of its title)'),
  ).action(async (file: string, o: RemoteFlags & { name?: string }) => {
    const call = client(o);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      throw malformed(`cannot read ${file}: ${(e as Error).message}`);
    }
    const r = await call<{ name: string; title: string; schedule: { cron: string; jitter: string } | null; updatedAt: string }>(
      'POST',
      '/v1/experiments',
      { file: text, ...(o.name !== undefined ? { name: o.name } : {}) },
    );
    if (o.json) return print(JSON.stringify(r));
    print(`applied ${r.name}: ${r.title}`);
    print(
      r.schedule
        ? `  runs on '${r.schedule.cron}' (UTC) with up to ${r.schedule.jitter} of jitter`
        : '  no schedule: run it with bulwark experiments run ' + r.name,
    );
  });

  remote(
    experiments
      .command('delete')
      .description('delete an applied experiment from the server: no longer run or scheduled; its runs stay readable')
      .argument('<name>', 'the experiment name'),
  ).action(async (name: string, o: RemoteFlags) => {
    const r = await client(o)<{
      name: string;
      title: string;
      version: number;
      schedule: { cron: string; jitter: string } | null;
      unfinished: RunSummary[];
    }>('DELETE', `/v1/experiments/${encodeURIComponent(name)}`);
    if (o.json) return print(JSON.stringify(r));
    print(`deleted ${r.name} (version ${r.version}): ${r.title}`);
    if (r.schedule) print(`  its schedule '${r.schedule.cron}' no longer runs`);
    for (const run of r.unfinished) print(`  run ${run.id} is still ${run.state}; stop it with: bulwark runs stop ${run.id}`);
    print(`  its runs stay readable: bulwark runs list --experiment ${r.name}`);
  });

  remote(
    experiments
      .command('run')
      .description('start a run of an applied experiment on the server (it runs in the background there)')
      .argument('<name>', 'the experiment name')
      .option('--dry-run', 'check and record the plan; send nothing')
      .option('--var <k=v>', 'configuration override (repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[]),
  ).action(async (name: string, o: RemoteFlags & { dryRun?: boolean; var: string[] }) => {
    const call = client(o);
    const vars: Record<string, string> = {};
    for (const pair of o.var) {
      const at = pair.indexOf('=');
      if (at <= 0) throw malformed(`--var ${pair}: write name=value`);
      vars[pair.slice(0, at)] = pair.slice(at + 1);
    }
    const { run } = await call<{ run: RunSummary }>('POST', `/v1/experiments/${encodeURIComponent(name)}/runs`, {
      dryRun: !!o.dryRun,
      vars,
    });
    if (o.json) return print(JSON.stringify({ run }));
    print(`run ${run.id} of ${run.experiment}: ${run.dryRun ? 'dry run, nothing sent' : run.state}`);
    print(`  follow it: bulwark runs show ${run.id}`);
  });

  remote(experiments.command('stop-all').description('the global stop switch: abort every run on the server; rollbacks run')).action(
    async (o: RemoteFlags) => {
      const r = await client(o)<{ stopped: number }>('POST', '/v1/experiments/stop-all', {});
      print(
        o.json
          ? JSON.stringify(r)
          : r.stopped === 0
            ? 'no experiment was running'
            : `stopped ${r.stopped} run${r.stopped === 1 ? '' : 's'}; their rollbacks are running`,
      );
    },
  );

  const runs = program.command('runs').description('experiment runs on a server');

  remote(
    runs
      .command('list')
      .description('runs, newest first')
      .option('--experiment <name>', 'only the runs of this experiment')
      .option('--limit <n>', 'how many (1-500)', '20'),
  ).action(async (o: RemoteFlags & { experiment?: string; limit: string }) => {
    const q = new URLSearchParams({ limit: o.limit, ...(o.experiment !== undefined ? { experiment: o.experiment } : {}) });
    const r = await client(o)<{ runs: RunSummary[] }>('GET', `/v1/runs?${q}`);
    if (o.json) return print(JSON.stringify(r));
    if (r.runs.length === 0) return print('no runs yet');
    print(`${'ID'.padEnd(16)}  ${'EXPERIMENT'.padEnd(28)} ${'OUTCOME'.padEnd(16)} ${'TTD'.padEnd(9)} STARTED`);
    for (const run of r.runs) print(runLine(run));
  });

  remote(runs.command('show').description('one run: its outcome and its timeline').argument('<id>', 'the run id')).action(
    async (id: string, o: RemoteFlags) => {
      const r = await client(o)<{ run: RunSummary; timeline: TimelineEvent[]; journal: unknown }>(
        'GET',
        `/v1/runs/${encodeURIComponent(id)}`,
      );
      if (o.json) return print(JSON.stringify(r));
      const { run } = r;
      print(`run ${run.id} of ${run.experiment}${run.dryRun ? ' (dry run)' : ''}`);
      print(`  state    ${run.state}`);
      print(`  outcome  ${run.outcome ?? '-'}${run.reason ? `: ${run.reason}` : ''}`);
      print(`  ttd      ${ttd(run.ttdMs)}`);
      print(`  started  ${run.startedAt}${run.endedAt ? `, ended ${run.endedAt}` : ''}`);
      print('');
      for (const e of r.timeline) {
        const mark = e.ok === undefined ? ' ' : e.ok ? '✓' : '✗';
        print(`  ${e.at.slice(11, 23)}  ${mark} ${e.kind.padEnd(9)} ${e.label}`);
      }
    },
  );

  remote(runs.command('stop').description('abort one run on the server; its rollbacks run').argument('<id>', 'the run id')).action(
    async (id: string, o: RemoteFlags) => {
      const r = await client(o)<{ run: RunSummary }>('POST', `/v1/runs/${encodeURIComponent(id)}/stop`, {});
      print(o.json ? JSON.stringify(r) : `stopping run ${r.run.id}; its rollbacks run`);
    },
  );
}
