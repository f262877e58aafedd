/**
 * The demo's incident: declared once at the first start (an incident already there means the
 * demo, or the user, has one), with command roles, a handoff, notes, a piece of evidence, links
 * to the SLO whose budget it spent and to its ATT&CK technique (the demo's SLOs are applied
 * first), a status change, a recovery checklist and a posted status report, so the Incidents page
 * has a timeline to show at once. Cases come by themselves:
 * the login brute force experiment is missed with the demo's default controls, and the default
 * triage rule `missed-detection` opens a case for it within seconds of the first run.
 */
import type { AppDeps } from '../app/deps.ts';
import { addEvidence } from '../app/incidents/evidence.ts';
import { addNote, assignIncidentRole, declareIncident, setIncidentStatus } from '../app/incidents/incidents.ts';
import { draftReport, postReport } from '../app/incidents/reports.ts';
import { linkIncident } from '../app/incidents/links.ts';
import { addChecklist } from '../app/incidents/tasks.ts';
import { systemActor } from '../core/ledger/actor.ts';

export const DEMO_INCIDENT_TITLE = 'Demo: credential stuffing against the shop login';

const commander = systemActor('demo-commander');
const scribe = systemActor('demo-scribe');
const all = { id: 'demo', seesRestricted: true };

/** Declare the demo incident unless there is any incident already; its id when declared now. */
export async function applyDemoIncident(deps: AppDeps): Promise<number | undefined> {
  const existing = await deps.store.incidents.listIncidents({ viewer: all, limit: 1 });
  if (existing.total > 0) return undefined;
  const impact = new Date(deps.clock.now().getTime() - 25 * 60_000).toISOString();
  const i = await declareIncident(deps, commander, {
    title: DEMO_INCIDENT_TITLE,
    severity: 'SEV3',
    priority: 'P2',
    impactStartedAt: impact,
  });
  await assignIncidentRole(deps, commander, all, i.id, 'commander', 'demo-commander');
  await assignIncidentRole(deps, commander, all, i.id, 'scribe', 'demo-scribe');
  await addNote(deps, scribe, all, i.id, 'Failed logins from 40 addresses, 9,000 attempts in 20 minutes; no account locked out.', null);
  await addEvidence(deps, scribe, all, i.id, {
    name: 'login-excerpt.log',
    mediaType: 'text/plain; charset=utf-8',
    bytes: Buffer.from(
      'POST /login 401 198.51.100.7 user=alice\nPOST /login 401 198.51.100.9 user=bob\nPOST /login 401 203.0.113.4 user=carol\n',
    ),
    origin: 'demo-shop:/var/log/shop/access.log',
  });
  // The error budget it spent (the login brute force SLO, over its impact window) and the
  // experiments that cover its technique (credential stuffing is a brute force: T1110).
  await linkIncident(deps, commander, all, i.id, { slos: ['demo-brute-force-detected'], techniques: ['T1110'] });
  await setIncidentStatus(deps, commander, all, i.id, 'mitigated', 'rate limit per address on /login');
  await addNote(deps, commander, all, i.id, 'action: alert on the failed-login ratio per address, not only per account', null);
  // Recovery: the credentials checklist (its tasks go to the holders of their roles), and a
  // tactical status report drafted from the record and posted.
  await addChecklist(deps, commander, all, i.id, 'rotate-credentials');
  const report = await draftReport(deps, commander, all, i.id, { kind: 'tactical' });
  await postReport(deps, commander, all, i.id, report.report);
  return i.id;
}
