/**
 * `bulwark experiments validate FILE` and `bulwark run FILE`: an experiment run standalone, on
 * this machine, against the configured database (by default `<state dir>/bulwark.db`).
 *
 * A run starts by recovering runs a crash left unfinished in the same database, so that their
 * rollbacks run now. Progress goes to stderr, the summary to stdout (`--json` for JSON), and the
 * exit code is the outcome's (core/experiments/outcome.ts). SIGINT or SIGTERM stops the run: its
 * rollbacks run, then the process exits with the `aborted` code.
 *
 * Detection in a standalone run: signals reach the runner only through the database. A
 * `bulwark serve` on the same database ingests them (webhooks, log tailer); this process polls
 * the signals table for them every `--poll` ms.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { busDetections } from '../app/experiments/runner/detections.ts';
import { createExperimentRunner, type RunProgress, type RunResult } from '../app/experiments/run-experiment.ts';
import { createSignalIngest } from '../app/signals/ingest.ts';
import { nodeProviders } from '../adapters/providers/index.ts';
import { EXIT_CODES } from '../core/experiments/outcome.ts';
import { parseExperiment, unsupportedActivities } from '../core/experiments/experiment-file.ts';
import type { Experiment, ExperimentIssue } from '../core/experiments/types.ts';
import { cliActor, configFrom, openContext, type StoreFlags } from './context.ts';
import { CliExit, malformed } from './exit.ts';
import { storeOptions } from './options.ts';

const collect = (value: string, previous: string[]) => [...previous, value];

function readExperiment(file: string): { experiment: Experiment; warnings: ExperimentIssue[] } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw malformed(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const r = parseExperiment(text);
  if (!r.ok) throw malformed(r.errors.map((e) => issueLine(file, e)).join('\n'));
  return { experiment: r.experiment, warnings: r.warnings };
}

const issueLine = (file: string, e: ExperimentIssue, prefix = '') =>
  `${file}:${e.line}:${e.column}: ${prefix}${e.path ? `${e.path}: ` : ''}${e.message}`;

function parseVars(pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw malformed(`--var ${pair}: write name=value (or name:int=value)`);
    out[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return out;
}

const time = () => new Date().toISOString().slice(11, 23);

export function experimentCommands(program: Command): void {
  const experiments =
    program.commands.find((c) => c.name() === 'experiments') ?? program.command('experiments').description('experiment files');

  experiments
    .command('validate')
    .description('check an experiment file; errors name the line and column (exit 2 when invalid)')
    .argument('<file>', 'YAML or JSON experiment file')
    .option('--json', 'print {ok, title, errors, warnings} as JSON')
    .action((file: string, o: { json?: boolean }) => {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (e) {
        throw malformed(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      const r = parseExperiment(text);
      if (o.json) {
        process.stdout.write(
          JSON.stringify(
            r.ok
              ? { ok: true, title: r.experiment.title, errors: [], warnings: r.warnings }
              : { ok: false, errors: r.errors, warnings: [] },
          ) + '\n',
        );
        if (!r.ok) throw new CliExit(2, '');
        return;
      }
      if (!r.ok) throw malformed(r.errors.map((e) => issueLine(file, e)).join('\n'));
      for (const w of r.warnings) process.stderr.write(`${issueLine(file, w, 'warning: ')}\n`);
      const e = r.experiment;
      const python = unsupportedActivities(e).length;
      process.stdout.write(
        `${file}: valid: "${e.title}": ${e.method.length} method step(s), ${e.rollbacks.length} rollback(s), ` +
          `${e.expect?.detected.length ?? 0} detection(s)${e.expect?.blocked ? ', blocking expected' : ''}` +
          `${python ? `; ${python} python activit${python === 1 ? 'y' : 'ies'} cannot run` : ''}\n`,
      );
    });

  storeOptions(
    program
      .command('run')
      .description('run an experiment file here and now; the exit code is the outcome')
      .argument('<file>', 'YAML or JSON experiment file')
      .option('--dry-run', 'print the plan; send nothing')
      .option('--var <name=value>', 'set a configuration value (name:int=value for a number); repeatable', collect, [])
      .option('--allow <host>', 'add a host to the blast radius; repeatable', collect, [])
      .option('--state-dir <dir>', 'where runs keep their state: the database (unless --db) and file backups (default: the data directory)')
      .option('--poll <ms>', 'how often to look for detections in the database', '250')
      .option('--json', 'print the summary as JSON on stdout'),
  ).action(
    async (
      file: string,
      o: StoreFlags & { dryRun?: boolean; var: string[]; allow: string[]; stateDir?: string; poll: string; json?: boolean },
    ) => {
      const { experiment, warnings } = readExperiment(file);
      const vars = parseVars(o.var);
      const poll = Number(o.poll);
      if (!Number.isInteger(poll) || poll < 10) throw malformed(`--poll ${o.poll}: give milliseconds, at least 10`);
      for (const w of warnings) process.stderr.write(`${issueLine(file, w, 'warning: ')}\n`);
      const config = configFrom({ db: o.db, dataDir: o.stateDir ?? o.dataDir, config: o.config });
      const { deps, close } = await openContext(config);
      const ingest = createSignalIngest(deps);
      const say = (p: RunProgress) => process.stderr.write(`${time()} ${p.phase.padEnd(8)} ${p.message}\n`);
      const runner = createExperimentRunner(
        { ...deps, providers: nodeProviders(), stateDir: config.dataDir, detections: busDetections(ingest.bus), ingest },
        { pollSignalsMs: poll, onProgress: say },
      );
      let stops = 0;
      const onSignal = (sig: NodeJS.Signals) => {
        stops += 1;
        if (stops === 1) {
          process.stderr.write(`${time()} stop     ${sig}: stopping; the rollbacks run before exit\n`);
          runner.stopAll(`${sig} received`);
        } else {
          process.stderr.write(
            `${time()} stop     ${sig} again: the rollbacks are running and will finish (kill -9 leaves them to the next bulwark run)\n`,
          );
        }
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      let code: number;
      try {
        if (!o.dryRun) {
          const recovered = await runner.recover();
          if (recovered.length)
            say({ runId: '-', phase: 'recover', message: `${recovered.length} unfinished run(s) from before were rolled back` });
        }
        if (runner.stopped !== undefined && !o.dryRun) {
          say({ runId: '-', phase: 'stop', message: `not started: ${runner.stopped}` });
          code = EXIT_CODES.aborted;
        } else {
          const result = await runner.run({
            experiment,
            actor: cliActor(),
            env: process.env,
            vars,
            allowHosts: o.allow,
            ...(o.dryRun ? { dryRun: true } : {}),
          });
          printSummary(result, !!o.json);
          code = result.exitCode;
        }
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        await ingest.close();
        await close();
      }
      throw new CliExit(code, '');
    },
  );
}

function printSummary(r: RunResult, json: boolean): void {
  if (json) {
    // The journal is in the database (`runs show`); the summary is what a script branches on.
    process.stdout.write(JSON.stringify({ ...r, journal: undefined, plan: r.dryRun ? r.plan : undefined }) + '\n');
    return;
  }
  if (r.dryRun) {
    process.stdout.write(
      `${r.plan.join('\n')}\n${r.warnings.map((w) => `warning: ${w}\n`).join('')}dry run: nothing was sent (run ${r.runId})\n`,
    );
    return;
  }
  const lines = [
    `run ${r.runId}: ${r.experiment}`,
    `outcome: ${r.outcome} — ${r.reason}`,
    ...r.detections.map(
      (d) =>
        `detected '${d.name}' after ${d.ttdMs} ms by ${d.by === 'run-id' ? 'run id' : 'expression'} (source time: ${d.sourceTtdMs} ms; deadline ${d.deadlineMs} ms)`,
    ),
    `time to detect: ${r.ttdMs === null ? 'none' : `${r.ttdMs} ms`}`,
    ...(r.regression ? [`regression: the last run was ${r.regression.previous}`] : []),
    `exit ${r.exitCode}`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
}
