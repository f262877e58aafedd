/**
 * `bulwark approvals list|show|approve|deny`: clients of a running server's API (--url or
 * BULWARK_URL, the token in BULWARK_TOKEN). Approving and denying are sensitive: a person with a
 * second factor passes the current code with --code (sent as X-Bulwark-Second-Factor, never
 * stored). Exit codes: 0 done, 1 the server failed or could not be reached, 2 refused or bad input.
 */
import type { Command } from 'commander';
import { CliExit, malformed } from './exit.ts';
import { DEFAULT_URL, client, remote, type RemoteFlags } from './remote.ts';

interface ApprovalView {
  id: string;
  kind: string;
  resource: string;
  payloadDigest: string;
  summary: string;
  reason: string;
  requestedBy: string;
  requestedAt: string;
  expiresAt: string;
  state: string;
  decisions: { principal: string; decision: string; reason: string; decidedAt: string }[];
  missing: string[];
}

const print = (s: string): void => void process.stdout.write(`${s}\n`);
const ID = /^apr_[a-z0-9x]{16}$/;

function line(a: ApprovalView): string {
  return `${a.id}  ${a.state.padEnd(8)}  ${a.kind} ${a.resource}  by ${a.requestedBy}  "${a.summary}"${a.missing.length ? `  (needs ${a.missing.join('; ')})` : ''}`;
}

function details(a: ApprovalView): string {
  return [
    `${a.id}: ${a.state}`,
    `  action:    ${a.kind} on ${a.resource}`,
    `  summary:   ${a.summary}`,
    `  reason:    ${a.reason}`,
    `  requested: by ${a.requestedBy} at ${a.requestedAt}; expires ${a.expiresAt}`,
    `  digest:    ${a.payloadDigest}`,
    ...a.decisions.map((d) => `  ${d.decision.padEnd(9)}  ${d.principal} at ${d.decidedAt}: ${d.reason}`),
    ...(a.missing.length ? [`  missing:   ${a.missing.join('; ')}`] : []),
  ].join('\n');
}

/** POST with the second factor header (the shared client sends none). */
async function decide(
  flags: RemoteFlags & { code?: string },
  id: string,
  decision: 'approve' | 'deny',
  reason: string,
): Promise<ApprovalView> {
  const root = (flags.url ?? process.env.BULWARK_URL ?? DEFAULT_URL).replace(/\/+$/, '');
  const token = flags.token ?? process.env.BULWARK_TOKEN;
  if (!token) throw malformed('a token is needed: set BULWARK_TOKEN (or pass --token)');
  const code = flags.code ?? process.env.BULWARK_SECOND_FACTOR;
  let res: Response;
  try {
    res = await fetch(`${root}/v1/approvals/${id}/${decision}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        ...(code ? { 'x-bulwark-second-factor': code } : {}),
      },
      body: JSON.stringify({ reason }),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (e) {
    throw new CliExit(1, `error: cannot reach Bulwark at ${root}: ${(e as Error).message}; is "bulwark serve" running there?`);
  }
  const text = await res.text();
  let body: { message?: string } & Partial<ApprovalView> = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new CliExit(1, `error: ${root} answered ${res.status} with something that is not JSON`);
  }
  if (!res.ok) throw new CliExit(res.status >= 500 || res.status === 429 ? 1 : 2, `error: ${body.message ?? res.statusText}`);
  return body as ApprovalView;
}

export function approvalCommands(program: Command): void {
  const approvals = program.command('approvals').description('requests for actions that need approval by other people');

  remote(
    approvals
      .command('list')
      .description('approval requests, newest first')
      .option('--state <state>', 'pending, approved, denied, executed or expired'),
  ).action(async (o: RemoteFlags & { state?: string }) => {
    const r = await client(o)<{ approvals: ApprovalView[] }>(
      'GET',
      `/v1/approvals${o.state ? `?state=${encodeURIComponent(o.state)}` : ''}`,
    );
    if (o.json) print(JSON.stringify(r));
    else if (r.approvals.length === 0) print('no approval requests');
    else for (const a of r.approvals) print(line(a));
  });

  remote(approvals.command('show').description('one request: what, why, its decisions and what is missing').argument('<id>')).action(
    async (id: string, o: RemoteFlags) => {
      if (!ID.test(id)) throw malformed(`${id}: an approval id looks like apr_ and 16 letters or digits`);
      const a = await client(o)<ApprovalView>('GET', `/v1/approvals/${id}`);
      print(o.json ? JSON.stringify(a) : details(a));
    },
  );

  for (const decision of ['approve', 'deny'] as const)
    remote(
      approvals
        .command(decision)
        .description(decision === 'approve' ? "approve someone else's request" : 'deny a request')
        .argument('<id>')
        .requiredOption('--reason <text>', 'why you decide so (recorded in the ledger)')
        .option('--code <code>', 'the current code of your second factor (env BULWARK_SECOND_FACTOR)'),
    ).action(async (id: string, o: RemoteFlags & { reason: string; code?: string }) => {
      if (!ID.test(id)) throw malformed(`${id}: an approval id looks like apr_ and 16 letters or digits`);
      const a = await decide(o, id, decision, o.reason);
      print(o.json ? JSON.stringify(a) : `${decision === 'approve' ? 'approved' : 'denied'}: ${line(a)}`);
    });
}
