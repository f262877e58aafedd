/**
 * `bulwark playbooks …`: `validate FILE` and `import-cacao FILE` work on a file on this machine; the others are clients
 * of a running server's API (--url or BULWARK_URL, the token in BULWARK_TOKEN): apply, list, run
 * (or --dry-run), export-cacao, runs, show-run, complete-step, pause, resume, cancel, toil, promote, approve,
 * reject. Exit codes: 0 done, 1 the server failed or could not be reached, 2 bad input.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { tryParseDuration } from '../core/experiments/duration.ts';
import { exportCacao, importCacao } from '../core/playbooks/cacao.ts';
import { parsePlaybookFile } from '../core/playbooks/playbook-file.ts';
import { malformed } from './exit.ts';
import { client, remote, type RemoteFlags } from './remote.ts';

const print = (s: string): void => void process.stdout.write(`${s}\n`);

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    throw malformed(`cannot read ${file}: ${(e as Error).message}`);
  }
}

interface StepView {
  index: number;
  id: string;
  title: string;
  kind: string;
  mode: string;
  state: string;
  attempts: number;
  error: string | null;
  notes: string | null;
  doneBy: string | null;
  items: string[] | null;
  instructions: string;
}
interface RunView {
  id: string;
  playbook: string;
  version: number;
  state: string;
  createdAt: string;
  reason: string | null;
  trigger: string | null;
  steps?: StepView[];
}

const runLine = (r: RunView) =>
  `${r.id}  ${r.playbook} v${r.version}  ${r.state.padEnd(9)}  ${r.createdAt}${r.trigger ? `  signal ${r.trigger}` : ''}${r.reason ? `  (${r.reason})` : ''}`;

/** `--input key=value` (repeatable): a value that reads as JSON is taken as such, else as text. */
function collectInput(v: string, acc: Record<string, unknown>): Record<string, unknown> {
  const at = v.indexOf('=');
  if (at < 1) throw malformed(`--input ${v}: write key=value`);
  const raw = v.slice(at + 1);
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch {
    // text
  }
  return { ...acc, [v.slice(0, at)]: value };
}

const minutes = (ms: number) => `${Math.round(ms / 60_000)} min`;

export function playbookCommands(program: Command): void {
  const pb = program
    .command('playbooks')
    .description('playbooks: steps as a manual checklist, assisted or automatic; runs, toil and promotion');

  pb.command('validate')
    .description('check a playbook file and print its steps with their modes')
    .argument('<file>')
    .action(async (file: string) => {
      const r = parsePlaybookFile(await readText(file));
      if (!r.ok)
        throw malformed(r.errors.map((e) => `${file}:${e.line}:${e.column}: ${e.message}${e.path ? ` (${e.path})` : ''}`).join('\n'));
      const p = r.playbook;
      print(`${p.name}: ${p.title} — ${p.steps.length} steps${p.trigger.signal ? `, triggered by ${p.trigger.signal.source}` : ''}`);
      for (const s of p.steps) print(`  ${s.guards.length > 0 ? '  ' : ''}${s.id.padEnd(24)} ${s.kind.padEnd(9)} ${s.mode}`);
    });

  pb.command('import-cacao')
    .description('map a CACAO v2 JSON playbook to a Bulwark playbook file (printed; apply it with: bulwark playbooks apply)')
    .argument('<file>')
    .action(async (file: string) => {
      const r = importCacao(await readText(file));
      if (!r.ok) throw malformed(r.errors.map((e) => `${file}: ${e}`).join('\n'));
      process.stdout.write(r.value.file);
    });

  remote(
    pb
      .command('export-cacao')
      .description('print an applied playbook (its current version) as a CACAO v2 JSON playbook')
      .argument('<name>'),
  ).action(async (name: string, o: RemoteFlags) => {
    const r = await client(o)<{ file: string }>('GET', `/v1/playbooks/${encodeURIComponent(name)}`);
    const parsed = parsePlaybookFile(r.file);
    if (!parsed.ok) throw malformed(`playbook ${name} as stored does not parse: ${parsed.errors[0]?.message ?? ''}`);
    const out = exportCacao(parsed.playbook, new Date().toISOString());
    if (!out.ok) throw malformed(out.errors.map((e) => `${name}: ${e}`).join('\n'));
    print(JSON.stringify(out.value, null, 2));
  });

  remote(
    pb
      .command('apply')
      .description('apply a playbook file to a server (its next version; the digest goes in the ledger)')
      .argument('<file>'),
  ).action(async (file: string, o: RemoteFlags) => {
    const r = await client(o)<{ name: string; version: number; title: string }>('POST', '/v1/playbooks', { file: await readText(file) });
    print(o.json ? JSON.stringify(r) : `applied ${r.name} (version ${r.version}): ${r.title}`);
  });

  remote(pb.command('list').description('applied playbooks with their steps and modes')).action(async (o: RemoteFlags) => {
    const r = await client(o)<{ playbooks: { name: string; version: number; title: string; steps: { id: string; mode: string }[] }[] }>(
      'GET',
      '/v1/playbooks',
    );
    if (o.json) return print(JSON.stringify(r));
    if (r.playbooks.length === 0) return print('no playbooks applied; apply one with: bulwark playbooks apply FILE');
    for (const p of r.playbooks)
      print(`${p.name.padEnd(32)} v${p.version}  ${p.title}  [${p.steps.map((s) => `${s.id}:${s.mode}`).join(' ')}]`);
  });

  remote(
    pb
      .command('run')
      .description('start a run of a playbook (or --dry-run: what each step would do, nothing sent)')
      .argument('<name>')
      .option('--input <key=value>', 'an input (repeatable)', collectInput, {})
      .option('--dry-run', 'say what would happen; start nothing'),
  ).action(async (name: string, o: RemoteFlags & { input: Record<string, unknown>; dryRun?: boolean }) => {
    const r = await client(o)<RunView & { dryRun?: true; steps?: { id: string; mode: string; action: string; unresolved?: string }[] }>(
      'POST',
      `/v1/playbooks/${encodeURIComponent(name)}/runs`,
      { inputs: o.input, dryRun: o.dryRun === true },
    );
    if (o.json) return print(JSON.stringify(r));
    if (r.dryRun) {
      print(`dry run of ${name}: nothing was sent`);
      for (const s of r.steps ?? [])
        print(`  ${s.id.padEnd(24)} ${s.mode.padEnd(9)} ${s.action}${s.unresolved ? `  (known at run time: ${s.unresolved})` : ''}`);
      return;
    }
    print(`started ${r.id} (${r.playbook} v${r.version}); follow it with: bulwark playbooks show-run ${r.id}`);
  });

  remote(
    pb
      .command('runs')
      .description('runs, newest first')
      .option('--playbook <name>')
      .option('--state <state>', 'running, waiting, paused, succeeded, failed or cancelled'),
  ).action(async (o: RemoteFlags & { playbook?: string; state?: string }) => {
    const q = new URLSearchParams({ ...(o.playbook ? { playbook: o.playbook } : {}), ...(o.state ? { state: o.state } : {}) });
    const r = await client(o)<{ runs: RunView[] }>('GET', `/v1/playbook-runs${q.size ? `?${q}` : ''}`);
    if (o.json) return print(JSON.stringify(r));
    if (r.runs.length === 0) return print('no runs');
    for (const x of r.runs) print(runLine(x));
  });

  remote(pb.command('show-run').description('one run with each step: state, attempts, who did it').argument('<run>')).action(
    async (id: string, o: RemoteFlags) => {
      const r = await client(o)<RunView>('GET', `/v1/playbook-runs/${encodeURIComponent(id)}`);
      if (o.json) return print(JSON.stringify(r));
      print(runLine(r));
      for (const s of r.steps ?? []) {
        print(
          `  ${String(s.index + 1).padStart(2)}. ${s.id.padEnd(24)} ${s.kind.padEnd(9)} ${s.mode.padEnd(8)} ${s.state.padEnd(9)}${s.attempts > 1 ? ` ${s.attempts} attempts` : ''}${s.doneBy ? ` by ${s.doneBy}` : ''}${s.error ? `  ${s.error}` : ''}`,
        );
        if (s.state === 'waiting') {
          if (s.instructions) print(`      ${s.instructions}`);
          for (const i of s.items ?? []) print(`      [ ] ${i}`);
          print(
            `      record it: bulwark playbooks complete-step ${r.id} ${s.id} --outcome ${s.mode === 'manual' ? 'done' : 'confirmed'} --time 5m --notes "…"`,
          );
        }
      }
    },
  );

  remote(
    pb
      .command('complete-step')
      .description('record the step a run waits at: manual done|failed, assisted confirmed|declined')
      .argument('<run>')
      .argument('<step>')
      .requiredOption('--outcome <outcome>', 'done, failed (manual); confirmed, declined (assisted)')
      .option('--notes <text>', 'what was done, what was seen')
      .option('--time <duration>', 'time spent: 90s, 5m, 1h30m'),
  ).action(async (run: string, step: string, o: RemoteFlags & { outcome: string; notes?: string; time?: string }) => {
    let timeSpentMs: number | undefined;
    if (o.time !== undefined) {
      const d = tryParseDuration(o.time);
      if (!d.ok) throw malformed(`--time: ${d.message}`);
      timeSpentMs = d.ms;
    }
    const r = await client(o)<RunView>('POST', `/v1/playbook-runs/${encodeURIComponent(run)}/steps/${encodeURIComponent(step)}/complete`, {
      outcome: o.outcome,
      ...(o.notes !== undefined ? { notes: o.notes } : {}),
      ...(timeSpentMs !== undefined ? { timeSpentMs } : {}),
    });
    print(o.json ? JSON.stringify(r) : `recorded ${step} ${o.outcome}; run ${r.id} is ${r.state}`);
  });

  for (const verb of ['pause', 'resume', 'cancel'] as const) {
    remote(pb.command(verb).description(`${verb} a run`).argument('<run>')).action(async (run: string, o: RemoteFlags) => {
      const r = await client(o)<RunView>('POST', `/v1/playbook-runs/${encodeURIComponent(run)}/${verb}`);
      print(o.json ? JSON.stringify(r) : `run ${r.id} is ${r.state}`);
    });
  }

  remote(
    pb.command('toil').description('manual work per playbook and step, and the steps it is time to automate').option('--playbook <name>'),
  ).action(async (o: RemoteFlags & { playbook?: string }) => {
    const r = await client(o)<{
      rows: { playbook: string; stepId: string; mode: string; done: number; failed: number; timeSpentMs: number }[];
      totals: { executions: number; timeSpentMs: number };
      proposals: { playbook: string; step: string; manualDone: number; pending: string | null }[];
    }>('GET', `/v1/playbook-toil${o.playbook ? `?playbook=${encodeURIComponent(o.playbook)}` : ''}`);
    if (o.json) return print(JSON.stringify(r));
    if (r.rows.length === 0) return print('no manual work recorded yet');
    for (const x of r.rows)
      print(
        `${x.playbook.padEnd(28)} ${x.stepId.padEnd(24)} ${x.mode.padEnd(8)} ${x.done} done, ${x.failed} failed, ${minutes(x.timeSpentMs)}`,
      );
    print(`total: ${r.totals.executions} executions by hand, ${minutes(r.totals.timeSpentMs)}`);
    for (const p of r.proposals)
      print(
        `automate ${p.playbook}/${p.step}: done by hand ${p.manualDone} times; ${p.pending ? `promotion ${p.pending} waits for approval` : `bulwark playbooks promote ${p.playbook} ${p.step}`}`,
      );
  });

  remote(
    pb.command('promote').description('ask that a step become automatic (a second person approves)').argument('<name>').argument('<step>'),
  ).action(async (name: string, step: string, o: RemoteFlags) => {
    const r = await client(o)<{ id: string }>(
      'POST',
      `/v1/playbooks/${encodeURIComponent(name)}/steps/${encodeURIComponent(step)}/promotions`,
    );
    print(o.json ? JSON.stringify(r) : `promotion ${r.id} asked; another person approves it with: bulwark playbooks approve ${r.id}`);
  });

  for (const verb of ['approve', 'reject'] as const) {
    remote(pb.command(verb).description(`${verb} a promotion (not your own)`).argument('<promotion>')).action(
      async (id: string, o: RemoteFlags) => {
        const r = await client(o)<{ state: string; version: number | null; playbook: string }>(
          'POST',
          `/v1/playbook-promotions/${encodeURIComponent(id)}/${verb}`,
        );
        print(o.json ? JSON.stringify(r) : `promotion ${id} ${r.state}${r.version ? `: ${r.playbook} is now version ${r.version}` : ''}`);
      },
    );
  }
}
