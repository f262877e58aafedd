/**
 * The demo's playbook: a suspicious client reported by the shop's audit log starts it; an
 * automatic step checks that the shop still answers (a real HTTP call with its Idempotency-Key),
 * and a manual checklist waits for a person on the dashboard's "My checklist". The demo sends
 * the triggering CloudEvent once, with a fixed id: a restart resends it, the ingest knows it, and
 * no second run starts.
 */
import { applyPlaybook } from '../app/playbooks/apply-playbook.ts';
import type { AppDeps } from '../app/deps.ts';
import { systemActor } from '../core/ledger/actor.ts';
import { DEMO_SOURCE, type SignalSink } from './audit.ts';

export const DEMO_PLAYBOOK = 'demo-contain-client';
export const DEMO_PLAYBOOK_SUBJECT = 'playbook-demo';

/** The demo playbook, its automatic step pointed at the shop. */
export function demoPlaybookFile(shopUrl: string): string {
  return `apiVersion: bulwark/v1
kind: Playbook
name: ${DEMO_PLAYBOOK}
title: Contain a suspicious client of the shop
owner: demo
trigger:
  signal: signal.labels.type == "demo.shop.suspicious" && signal.labels.subject == "${DEMO_PLAYBOOK_SUBJECT}"
inputs:
  client:
    type: string
    required: true
    description: the client address the audit log reported
    from: signal.body.client
automateAfter: 2
steps:
  - id: shop_answers
    title: Check that the shop still answers
    mode: auto
    http: { method: GET, url: "${shopUrl}/" }
    timeout: 5s
    retry: { attempts: 3, backoff: 2s, maxBackoff: 10s }
  - id: note
    set:
      up: steps.shop_answers.status == 200
  - id: review
    title: Review the client's requests and block it
    mode: manual
    instructions: Look at the audit log for the reported client (the run's input client); block it at the edge if it keeps probing.
    checklist:
      - Read the client's last requests in the audit log
      - Block the address at the edge if they are hostile
      - Write down what you saw in the notes
`;
}

/** Apply the demo playbook and send the shop's report that triggers it (once: a fixed event id). */
export async function startDemoPlaybook(deps: AppDeps, shopUrl: string, sink: SignalSink, now: Date): Promise<void> {
  await applyPlaybook(deps, systemActor('demo'), demoPlaybookFile(shopUrl));
  await sink({
    specversion: '1.0',
    id: 'demo-playbook-trigger-1',
    source: DEMO_SOURCE,
    type: 'demo.shop.suspicious',
    time: now.toISOString(),
    subject: DEMO_PLAYBOOK_SUBJECT,
    datacontenttype: 'application/json',
    rule: 'account-authz',
    severity: 'medium',
    data: { rule: 'account-authz', method: 'GET', path: '/account/2', status: 200, client: '203.0.113.7' },
  });
}
