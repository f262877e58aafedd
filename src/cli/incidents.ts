/**
 * `bulwark cases …` and `bulwark incidents …`: clients of a running server's API (--url or
 * BULWARK_URL, the token in BULWARK_TOKEN), like `bulwark slo apply`; `incidents settings
 * validate FILE` works on a file on this machine. Exit codes: 0 done, 1 the server failed or could
 * not be reached (or evidence verify found a mismatch), 2 bad input.
 */
import { chmod, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { parseIncidentSettings } from '../core/incidents/settings.ts';
import { CliExit, malformed } from './exit.ts';
import { incidentLinkCommands } from './incidents-links.ts';
import { client, remote, type RemoteFlags } from './remote.ts';

/** A file of the incident's record, readable by its owner only (0600, an existing file too). */
async function writeOwnerOnly(file: string, text: string): Promise<void> {
  await writeFile(file, text, { mode: 0o600 });
  await chmod(file, 0o600);
}

const print = (s: string): void => void process.stdout.write(`${s}\n`);

async function readBytes(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (e) {
    throw malformed(`cannot read ${file}: ${(e as Error).message}`);
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function id(text: string, what: string): number {
  const n = Number(text.replace(/^(INC|CASE)-/i, ''));
  if (!Number.isInteger(n) || n < 1) throw malformed(`${what} ${text}: give its number, e.g. 12`);
  return n;
}

interface CaseView {
  id: number;
  title: string;
  state: string;
  severity: string;
  rule: string;
  openedAt: string;
  items: number;
  assignee: string | null;
  acknowledgedAt: string | null;
  resolution: string | null;
  incidentId: number | null;
}

interface IncidentView {
  id: number;
  title: string;
  severity: string;
  priority: string;
  status: string;
  restricted: boolean;
  impactStartedAt: string | null;
  declaredAt: string;
}

interface Detail {
  incident: IncidentView;
  roles: { role: string; holder: string; from: string; to: string | null }[];
  participants: string[];
  evidence: { sha256: string; name: string; size: number; origin: string; collectedBy: string; collectedAt: string }[];
  timeline: { seq: number; time: string; kind: string; actor: string; data: Record<string, unknown> }[];
}

const caseLine = (c: CaseView) =>
  `CASE-${c.id}  ${c.state.padEnd(9)} ${c.severity.padEnd(8)} ${String(c.items).padStart(5)} items  ${c.title}${c.assignee ? `  (assigned to ${c.assignee})` : ''}${c.incidentId ? `  → INC-${c.incidentId}` : ''}`;
const incidentLine = (i: IncidentView) =>
  `INC-${i.id}  ${i.status.padEnd(9)} ${i.severity.padEnd(5)} ${i.priority}  ${i.title}${i.restricted ? '  [restricted]' : ''}`;

export function incidentCommands(program: Command): void {
  const cases = program.command('cases').description('cases opened by triage from signals, burn alerts and failed runs');

  remote(cases.command('list').description('cases, newest first').option('--state <state>', 'new, triage, escalated or closed')).action(
    async (o: RemoteFlags & { state?: string }) => {
      const r = await client(o)<{ cases: CaseView[] }>('GET', `/v1/cases${o.state ? `?state=${encodeURIComponent(o.state)}` : ''}`);
      if (o.json) return print(JSON.stringify(r));
      if (r.cases.length === 0) print('no cases');
      for (const c of r.cases) print(caseLine(c));
    },
  );

  remote(cases.command('show').description('a case and what it grouped').argument('<id>')).action(async (n: string, o: RemoteFlags) => {
    const r = await client(o)<{ case: CaseView; links: { kind: string; ref: string; at: string; resolved: boolean }[] }>(
      'GET',
      `/v1/cases/${id(n, 'case')}`,
    );
    if (o.json) return print(JSON.stringify(r));
    print(caseLine(r.case));
    print(
      `  rule ${r.case.rule}, opened ${r.case.openedAt}${r.case.acknowledgedAt ? `, acknowledged ${r.case.acknowledgedAt}` : ''}${r.case.resolution ? `, resolution ${r.case.resolution}` : ''}`,
    );
    for (const l of r.links) print(`  ${l.at}  ${l.kind} ${l.ref}${l.resolved ? ' (resolved)' : ''}`);
  });

  remote(cases.command('ack').description('acknowledge a case').argument('<id>')).action(async (n: string, o: RemoteFlags) => {
    const c = await client(o)<CaseView>('POST', `/v1/cases/${id(n, 'case')}/ack`);
    print(o.json ? JSON.stringify(c) : caseLine(c));
  });

  remote(cases.command('assign').description('assign a case').argument('<id>').argument('<assignee>')).action(
    async (n: string, who: string, o: RemoteFlags) => {
      const c = await client(o)<CaseView>('POST', `/v1/cases/${id(n, 'case')}/assign`, { assignee: who });
      print(o.json ? JSON.stringify(c) : caseLine(c));
    },
  );

  remote(
    cases
      .command('close')
      .description(
        'close a case with a resolution (benign, false-positive, true-positive-contained, mitigated, operational-error, policy-violation, duplicate, or as configured)',
      )
      .argument('<id>')
      .requiredOption('--resolution <resolution>', 'from the taxonomy')
      .option('--note <text>', 'why'),
  ).action(async (n: string, o: RemoteFlags & { resolution: string; note?: string }) => {
    const c = await client(o)<CaseView>('POST', `/v1/cases/${id(n, 'case')}/close`, {
      resolution: o.resolution,
      ...(o.note ? { note: o.note } : {}),
    });
    print(o.json ? JSON.stringify(c) : caseLine(c));
  });

  remote(
    cases
      .command('escalate')
      .description('escalate a case into an incident')
      .argument('<id>')
      .requiredOption('--severity <sev>', 'from the severity model, e.g. SEV2')
      .option('--priority <p>', 'P1–P4', 'P2')
      .option('--title <text>', "default: the case's title")
      .option('--restricted', 'visible only to participants')
      .option('--impact-start <time>', 'when the impact began (RFC 3339)'),
  ).action(
    async (
      n: string,
      o: RemoteFlags & { severity: string; priority: string; title?: string; restricted?: boolean; impactStart?: string },
    ) => {
      const r = await client(o)<{ case: CaseView; incident: IncidentView }>('POST', `/v1/cases/${id(n, 'case')}/escalate`, {
        severity: o.severity,
        priority: o.priority,
        ...(o.title ? { title: o.title } : {}),
        ...(o.restricted ? { restricted: true } : {}),
        ...(o.impactStart ? { impactStartedAt: o.impactStart } : {}),
      });
      print(o.json ? JSON.stringify(r) : `escalated CASE-${r.case.id}: ${incidentLine(r.incident)}`);
    },
  );

  const inc = program.command('incidents').description('incidents: declare, command roles, timeline, evidence, postmortem');

  remote(
    inc
      .command('declare')
      .description('declare an incident')
      .argument('<title>')
      .requiredOption('--severity <sev>', 'from the severity model, e.g. SEV2')
      .option('--priority <p>', 'P1–P4', 'P2')
      .option('--restricted', 'visible only to participants')
      .option('--impact-start <time>', 'when the impact began (RFC 3339)')
      .option('--slo <name>', 'an SLO it affected (repeat for more)', (v: string, p: string[]) => [...p, v], [])
      .option('--technique <id>', 'an ATT&CK technique seen, e.g. T1110.004 (repeat for more)', (v: string, p: string[]) => [...p, v], []),
  ).action(
    async (
      title: string,
      o: RemoteFlags & {
        severity: string;
        priority: string;
        restricted?: boolean;
        impactStart?: string;
        slo: string[];
        technique: string[];
      },
    ) => {
      const i = await client(o)<IncidentView>('POST', '/v1/incidents', {
        title,
        severity: o.severity,
        priority: o.priority,
        ...(o.restricted ? { restricted: true } : {}),
        ...(o.impactStart ? { impactStartedAt: o.impactStart } : {}),
        ...(o.slo.length ? { slos: o.slo } : {}),
        ...(o.technique.length ? { techniques: o.technique } : {}),
      });
      print(o.json ? JSON.stringify(i) : `declared ${incidentLine(i)}`);
    },
  );

  incidentLinkCommands(inc);

  remote(
    inc.command('list').description('incidents you may see').option('--status <status>', 'active, mitigated, resolved or closed'),
  ).action(async (o: RemoteFlags & { status?: string }) => {
    const r = await client(o)<{ incidents: IncidentView[]; total: number }>(
      'GET',
      `/v1/incidents${o.status ? `?status=${encodeURIComponent(o.status)}` : ''}`,
    );
    if (o.json) return print(JSON.stringify(r));
    if (r.total === 0) print('no incidents');
    for (const i of r.incidents) print(incidentLine(i));
  });

  remote(inc.command('show').description('an incident: roles, evidence, timeline').argument('<id>')).action(
    async (n: string, o: RemoteFlags) => {
      const d = await client(o)<Detail>('GET', `/v1/incidents/${id(n, 'incident')}`);
      if (o.json) return print(JSON.stringify(d));
      print(incidentLine(d.incident));
      print(
        `  declared ${d.incident.declaredAt}${d.incident.impactStartedAt ? `, impact from ${d.incident.impactStartedAt}` : ''}; participants: ${d.participants.join(', ')}`,
      );
      print('roles:');
      for (const r of d.roles) print(`  ${r.role.padEnd(15)} ${r.holder.padEnd(20)} ${r.from} – ${r.to ?? 'now'}`);
      print('evidence:');
      for (const e of d.evidence)
        print(
          `  ${e.sha256.slice(0, 16)}  ${String(e.size).padStart(8)} B  ${e.name}  (from ${e.origin}, by ${e.collectedBy} at ${e.collectedAt})`,
        );
      print('timeline:');
      for (const e of d.timeline) print(`  ${e.time}  #${e.seq}  ${e.kind.padEnd(28)} ${e.actor}  ${JSON.stringify(e.data)}`);
    },
  );

  remote(
    inc
      .command('assign')
      .description('assign a command role (a handoff when someone holds it)')
      .argument('<id>')
      .argument('<role>', 'commander, operations, communications or scribe')
      .argument('<holder>'),
  ).action(async (n: string, role: string, holder: string, o: RemoteFlags) => {
    const i = await client(o)<IncidentView>('POST', `/v1/incidents/${id(n, 'incident')}/roles`, { role, holder });
    print(o.json ? JSON.stringify(i) : `${role}: ${holder} (INC-${i.id})`);
  });

  remote(
    inc
      .command('note')
      .description('add a note to the timeline')
      .argument('<id>')
      .argument('<text>')
      .option('--corrects <seq>', 'the entry this corrects'),
  ).action(async (n: string, text: string, o: RemoteFlags & { corrects?: string }) => {
    const corrects = o.corrects === undefined ? undefined : Number(o.corrects);
    if (corrects !== undefined && !Number.isInteger(corrects)) throw malformed(`--corrects ${o.corrects}: the seq of a timeline entry`);
    const i = await client(o)<IncidentView>('POST', `/v1/incidents/${id(n, 'incident')}/notes`, {
      text,
      ...(corrects !== undefined ? { corrects } : {}),
    });
    print(o.json ? JSON.stringify(i) : `noted on INC-${i.id}`);
  });

  remote(inc.command('pin').description('pin a signal: its raw payload becomes evidence').argument('<id>').argument('<signal>')).action(
    async (n: string, signal: string, o: RemoteFlags) => {
      const e = await client(o)<{ sha256: string; name: string }>('POST', `/v1/incidents/${id(n, 'incident')}/pins`, { signal });
      print(o.json ? JSON.stringify(e) : `pinned ${signal}: evidence ${e.sha256}`);
    },
  );

  remote(
    inc
      .command('status')
      .description('change the status: active, mitigated, resolved, closed')
      .argument('<id>')
      .argument('<status>')
      .option('--note <text>', 'why'),
  ).action(async (n: string, status: string, o: RemoteFlags & { note?: string }) => {
    const i = await client(o)<IncidentView>('POST', `/v1/incidents/${id(n, 'incident')}/status`, {
      status,
      ...(o.note ? { note: o.note } : {}),
    });
    print(o.json ? JSON.stringify(i) : incidentLine(i));
  });

  remote(
    inc
      .command('severity')
      .description('change the severity (from the severity model)')
      .argument('<id>')
      .argument('<severity>')
      .option('--note <text>', 'why'),
  ).action(async (n: string, severity: string, o: RemoteFlags & { note?: string }) => {
    const i = await client(o)<IncidentView>('POST', `/v1/incidents/${id(n, 'incident')}/severity`, {
      severity,
      ...(o.note ? { note: o.note } : {}),
    });
    print(o.json ? JSON.stringify(i) : incidentLine(i));
  });

  const evidence = inc.command('evidence').description('evidence: add, verify');
  remote(
    evidence
      .command('add')
      .description('add a file as evidence (stored by SHA-256, at most 1 MiB)')
      .argument('<id>')
      .argument('<file>')
      .option('--origin <where>', 'where it was collected (default: this host and the path)')
      .option('--media-type <type>', 'default application/octet-stream'),
  ).action(async (n: string, file: string, o: RemoteFlags & { origin?: string; mediaType?: string }) => {
    const bytes = await readBytes(file);
    const e = await client(o)<{ sha256: string; size: number }>('POST', `/v1/incidents/${id(n, 'incident')}/evidence`, {
      name: path.basename(file),
      origin: o.origin ?? `${process.env.HOSTNAME ?? 'localhost'}:${path.resolve(file)}`,
      base64: bytes.toString('base64'),
      ...(o.mediaType ? { mediaType: o.mediaType } : {}),
    });
    print(o.json ? JSON.stringify(e) : `added ${path.basename(file)}: ${e.size} bytes, SHA-256 ${e.sha256}`);
  });

  remote(evidence.command('verify').description('rehash every item of evidence; exit 1 on any mismatch').argument('<id>')).action(
    async (n: string, o: RemoteFlags) => {
      const r = await client(o)<{ ok: boolean; items: { sha256: string; name: string; ok: boolean; problem: string | null }[] }>(
        'POST',
        `/v1/incidents/${id(n, 'incident')}/evidence/verify`,
      );
      if (o.json) print(JSON.stringify(r));
      else for (const i of r.items) print(`${i.ok ? 'ok      ' : 'MISMATCH'}  ${i.sha256}  ${i.name}${i.problem ? `: ${i.problem}` : ''}`);
      if (!r.ok) throw new CliExit(1, `evidence of incident ${n} does not verify`);
      if (!o.json) print(`${r.items.length} item${r.items.length === 1 ? '' : 's'} verified`);
    },
  );

  remote(
    inc
      .command('postmortem')
      .description('generate the postmortem (Markdown) from the record')
      .argument('<id>')
      .option('-o, --output <file>', 'write it to a file'),
    {
      json: false,
    },
  ).action(async (n: string, o: RemoteFlags & { output?: string }) => {
    const r = await client(o)<{ markdown: string; sha256: string }>('POST', `/v1/incidents/${id(n, 'incident')}/postmortem`);
    if (o.output) {
      await writeOwnerOnly(o.output, r.markdown);
      print(`wrote ${o.output} (SHA-256 ${r.sha256})`);
    } else process.stdout.write(r.markdown);
  });

  interface TaskView {
    id: number;
    title: string;
    owner: string | null;
    dueAt: string | null;
    status: string;
    checklist: string | null;
  }
  const taskLine = (t: TaskView) =>
    `#${String(t.id).padEnd(4)} ${t.status.padEnd(9)} ${(t.owner ?? '-').padEnd(16)} ${(t.dueAt ?? '-').padEnd(24)} ${t.title}${t.checklist ? `  [${t.checklist}]` : ''}`;
  const taskNumber = (text: string) => {
    const n = Number(text.replace(/^#/, ''));
    if (!Number.isInteger(n) || n < 1) throw malformed(`task ${text}: give its number within the incident, e.g. 3`);
    return n;
  };

  const task = inc.command('task').description("an incident's tasks: add, done, reopen, cancel, list");
  remote(
    task
      .command('add')
      .description('add a task')
      .argument('<id>', 'the incident')
      .argument('<title>')
      .option('--owner <who>', 'who does it')
      .option('--due <time>', 'when it is due (RFC 3339)'),
  ).action(async (n: string, title: string, o: RemoteFlags & { owner?: string; due?: string }) => {
    const t = await client(o)<TaskView>('POST', `/v1/incidents/${id(n, 'incident')}/tasks`, {
      title,
      ...(o.owner ? { owner: o.owner } : {}),
      ...(o.due ? { dueAt: o.due } : {}),
    });
    print(o.json ? JSON.stringify(t) : `added ${taskLine(t)}`);
  });
  for (const [verb, status, what] of [
    ['done', 'done', 'mark a task done'],
    ['reopen', 'open', 'open a done or cancelled task again'],
    ['cancel', 'cancelled', 'cancel a task'],
  ] as const)
    remote(task.command(verb).description(what).argument('<id>', 'the incident').argument('<task>', 'the task number')).action(
      async (n: string, k: string, o: RemoteFlags) => {
        const t = await client(o)<TaskView>('POST', `/v1/incidents/${id(n, 'incident')}/tasks/${taskNumber(k)}`, { status });
        print(o.json ? JSON.stringify(t) : taskLine(t));
      },
    );
  remote(
    task
      .command('assign')
      .description("change a task's owner or due time")
      .argument('<id>', 'the incident')
      .argument('<task>', 'the task number')
      .option('--owner <who>', 'the new owner')
      .option('--due <time>', 'the new due time (RFC 3339)'),
  ).action(async (n: string, k: string, o: RemoteFlags & { owner?: string; due?: string }) => {
    if (!o.owner && !o.due) throw malformed('give --owner, --due or both');
    const t = await client(o)<TaskView>('POST', `/v1/incidents/${id(n, 'incident')}/tasks/${taskNumber(k)}`, {
      ...(o.owner ? { owner: o.owner } : {}),
      ...(o.due ? { dueAt: o.due } : {}),
    });
    print(o.json ? JSON.stringify(t) : taskLine(t));
  });
  remote(
    task
      .command('list')
      .description("an incident's tasks")
      .argument('<id>', 'the incident')
      .option('--status <status>', 'open, done or cancelled'),
  ).action(async (n: string, o: RemoteFlags & { status?: string }) => {
    const r = await client(o)<{ tasks: TaskView[] }>(
      'GET',
      `/v1/incidents/${id(n, 'incident')}/tasks${o.status ? `?status=${encodeURIComponent(o.status)}` : ''}`,
    );
    if (o.json) return print(JSON.stringify(r));
    if (r.tasks.length === 0) print('no tasks');
    for (const t of r.tasks) print(taskLine(t));
  });

  const checklist = inc.command('checklist').description('recovery checklists: templates of tasks');
  remote(
    checklist
      .command('add')
      .description('add a recovery checklist to an incident: one task per item')
      .argument('<id>', 'the incident')
      .argument('<template>', 'e.g. rebuild-from-known-good, rotate-credentials, verify-recovery-tools'),
  ).action(async (n: string, template: string, o: RemoteFlags) => {
    const r = await client(o)<{ tasks: TaskView[] }>('POST', `/v1/incidents/${id(n, 'incident')}/checklists`, { template });
    if (o.json) return print(JSON.stringify(r));
    print(`added checklist ${template}: ${r.tasks.length} tasks`);
    for (const t of r.tasks) print(taskLine(t));
  });
  remote(checklist.command('list').description('the checklist templates in force')).action(async (o: RemoteFlags) => {
    const r = await client(o)<{
      checklists: { name: string; title: string; items: { title: string; owner: string | null; due: string | null }[] }[];
    }>('GET', '/v1/incidents/checklists');
    if (o.json) return print(JSON.stringify(r));
    for (const c of r.checklists) {
      print(`${c.name}: ${c.title}`);
      for (const i of c.items) print(`  - ${i.title}${i.owner ? ` (owner: ${i.owner}${i.due ? `, due in ${i.due}` : ''})` : ''}`);
    }
  });

  interface ReportView {
    report: number;
    version: number;
    kind: string;
    state: string;
    body: string;
    nextUpdateAt: string | null;
    at: string;
    by: string;
  }
  const reportLine = (v: ReportView) =>
    `report ${v.report}  ${v.kind.padEnd(9)} ${v.state.padEnd(6)} v${v.version}  ${v.at} by ${v.by}${v.nextUpdateAt ? `  (next update ${v.nextUpdateAt})` : ''}`;
  const reportNumber = (text: string) => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1) throw malformed(`report ${text}: give its number within the incident, e.g. 2`);
    return n;
  };
  const report = inc.command('report').description('status reports (tactical, executive): draft, edit, post, list, show');
  remote(
    report
      .command('draft')
      .description('draft a status report from its template, filled from the record; prints it')
      .argument('<id>', 'the incident')
      .argument('<kind>', 'tactical or executive')
      .option('--next-update <in>', 'when the next update is due: 30m, 2h, 1d or none'),
  ).action(async (n: string, kind: string, o: RemoteFlags & { nextUpdate?: string }) => {
    const v = await client(o)<ReportView>('POST', `/v1/incidents/${id(n, 'incident')}/reports`, {
      kind,
      ...(o.nextUpdate ? { nextUpdateIn: o.nextUpdate } : {}),
    });
    if (o.json) return print(JSON.stringify(v));
    print(reportLine(v));
    process.stdout.write(`\n${v.body}`);
  });
  remote(
    report
      .command('edit')
      .description('edit a draft: its new text from a file (- for standard input)')
      .argument('<id>', 'the incident')
      .argument('<report>', 'the report number')
      .argument('<file>')
      .option('--expect-version <n>', 'refuse when someone edited after this version'),
  ).action(async (n: string, k: string, file: string, o: RemoteFlags & { expectVersion?: string }) => {
    const body = file === '-' ? await readStdin() : (await readBytes(file)).toString('utf8');
    const v = await client(o)<ReportView>('POST', `/v1/incidents/${id(n, 'incident')}/reports/${reportNumber(k)}`, {
      body,
      ...(o.expectVersion ? { expectVersion: reportNumber(o.expectVersion) } : {}),
    });
    print(o.json ? JSON.stringify(v) : reportLine(v));
  });
  remote(
    report
      .command('post')
      .description('post a draft as it stands')
      .argument('<id>', 'the incident')
      .argument('<report>', 'the report number'),
  ).action(async (n: string, k: string, o: RemoteFlags) => {
    const v = await client(o)<ReportView>('POST', `/v1/incidents/${id(n, 'incident')}/reports/${reportNumber(k)}/post`, {});
    print(o.json ? JSON.stringify(v) : reportLine(v));
  });
  remote(report.command('list').description("an incident's status reports").argument('<id>', 'the incident')).action(
    async (n: string, o: RemoteFlags) => {
      const r = await client(o)<{ reports: ReportView[] }>('GET', `/v1/incidents/${id(n, 'incident')}/reports`);
      if (o.json) return print(JSON.stringify(r));
      if (r.reports.length === 0) print('no status reports');
      for (const v of r.reports) print(reportLine(v));
    },
  );
  remote(
    report
      .command('show')
      .description('a status report as it stands now; --history for every version')
      .argument('<id>', 'the incident')
      .argument('<report>', 'the report number')
      .option('--history', 'every version, oldest first'),
  ).action(async (n: string, k: string, o: RemoteFlags & { history?: boolean }) => {
    const r = await client(o)<{ versions: ReportView[] }>('GET', `/v1/incidents/${id(n, 'incident')}/reports/${reportNumber(k)}`);
    if (o.json) return print(JSON.stringify(r));
    for (const v of o.history ? r.versions : r.versions.slice(-1)) {
      print(reportLine(v));
      process.stdout.write(`\n${v.body}${v.body.endsWith('\n') ? '' : '\n'}`);
    }
  });

  const exercise = inc.command('exercise').description('tabletop exercises: an incident in exercise mode, from a scenario file');
  remote(exercise.command('start').description('start an exercise from a scenario file').argument('<file>')).action(
    async (file: string, o: RemoteFlags) => {
      const r = await client(o)<{ incident: IncidentView; injects: number }>('POST', '/v1/incidents/exercises', {
        file: (await readBytes(file)).toString('utf8'),
      });
      print(o.json ? JSON.stringify(r) : `started ${incidentLine(r.incident)}; ${r.injects} inject(s) given`);
    },
  );
  remote(
    exercise
      .command('answer')
      .description("record the team's answer to a question")
      .argument('<id>')
      .argument('<question>', 'its id in the scenario')
      .argument('<text>'),
  ).action(async (n: string, q: string, text: string, o: RemoteFlags) => {
    await client(o)('POST', `/v1/incidents/${id(n, 'incident')}/exercise/answers`, { question: q, text });
    print(`answered ${q}`);
  });
  remote(exercise.command('report').description('the report as it stands').argument('<id>'), { json: false }).action(
    async (n: string, o: RemoteFlags) => {
      process.stdout.write((await client(o)<{ markdown: string }>('GET', `/v1/incidents/${id(n, 'incident')}/exercise/report`)).markdown);
    },
  );
  remote(
    exercise
      .command('end')
      .description('end the exercise and print its report')
      .argument('<id>')
      .option('-o, --output <file>', 'write it to a file'),
    { json: false },
  ).action(async (n: string, o: RemoteFlags & { output?: string }) => {
    const r = await client(o)<{ markdown: string; sha256: string }>('POST', `/v1/incidents/${id(n, 'incident')}/exercise/end`);
    if (o.output) {
      await writeOwnerOnly(o.output, r.markdown);
      print(`wrote ${o.output} (SHA-256 ${r.sha256})`);
    } else process.stdout.write(r.markdown);
  });

  const settings = inc.command('settings').description('the severity model, resolution taxonomy and triage rules');
  settings
    .command('validate')
    .description('check a settings file')
    .argument('<file>')
    .action(async (file: string) => {
      const r = parseIncidentSettings((await readBytes(file)).toString('utf8'));
      if (!r.ok)
        throw malformed(r.errors.map((e) => `${file}:${e.line}:${e.column}: ${e.message}${e.path ? ` (${e.path})` : ''}`).join('\n'));
      print(
        `${r.settings.severities.map((s) => s.name).join(', ')}; resolutions ${r.settings.resolutions.join(', ')}; rules ${r.settings.rules.map((x) => x.name).join(', ') || '(none)'}`,
      );
    });
  remote(settings.command('apply').description('apply a settings file to a server').argument('<file>')).action(
    async (file: string, o: RemoteFlags) => {
      const r = await client(o)<{ version: number; rules: { name: string }[] }>('PUT', '/v1/incidents/settings', {
        file: (await readBytes(file)).toString('utf8'),
      });
      print(
        o.json ? JSON.stringify(r) : `applied settings version ${r.version}: rules ${r.rules.map((x) => x.name).join(', ') || '(none)'}`,
      );
    },
  );
}
