/**
 * Experiments against a running server, over its API: `bulwark experiments apply FILE`,
 * `bulwark experiments delete NAME`, `bulwark experiments run NAME`,
 * `bulwark experiments stop-all`, `bulwark runs list`,
 * `bulwark runs show ID` and `bulwark runs stop ID`, through the CLI's client (remote.ts). Exit
 * codes: 0 done, 1 the server failed or could not be reached, 2 bad input (a file that does not
 * parse, an unknown name, a token without the permission).
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { malformed } from './exit.ts';
import { client, remote, type RemoteFlags } from './remote.ts';

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
