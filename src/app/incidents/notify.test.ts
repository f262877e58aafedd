import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../test/support/clock.ts';
import { tmpDir, type TmpDir } from '../../../test/support/tmp.ts';
import { cliActor } from '../../core/ledger/actor.ts';
import { parseIncidentSettings } from '../../core/incidents/settings.ts';
import { openSqliteStore } from '../../store/sqlite/open-sqlite.ts';
import type { Store } from '../../store/store.ts';
import type { AppDeps } from '../deps.ts';
import { memoryKeyRing } from '../ledger/key-ring.ts';
import { fetchTransport } from '../playbooks/transport.ts';
import { assignIncidentRole, declareIncident, setIncidentSeverity, setIncidentStatus } from './incidents.ts';
import { deliverNotifications } from './notify.ts';
import { applyIncidentSettings } from './settings.ts';

let dir: TmpDir;
let store: Store;
let clock: ManualClock;
let deps: AppDeps;
let server: Server;
let port: number;
const alice = cliActor('alice');
const all = { id: 'alice', seesRestricted: true };
const KEYS = { SOC_KEY: 'soc-secret', VAULT_KEY: 'vault-secret' };

interface Received {
  path: string;
  event: string;
  body: Record<string, unknown> & { incident: Record<string, unknown> };
  verified: boolean;
}
let received: Received[];
let failNext: number;

/** A receiver as a user would write it: recompute the HMAC over `${t}.${raw body}` and compare. */
function verify(header: string | undefined, raw: string, key: string): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? '');
  if (!m) return false;
  const want = createHmac('sha256', key).update(`${m[1]}.${raw}`).digest();
  return timingSafeEqual(want, Buffer.from(m[2]!, 'hex'));
}

beforeEach(async () => {
  dir = await tmpDir('bulwark-notify-');
  store = await openSqliteStore(path.join(dir.path, 'b.db'));
  clock = new ManualClock(Date.parse('2026-03-01T10:00:00.000Z'));
  deps = { store, clock, keys: memoryKeyRing(), origin: 'test' };
  received = [];
  failNext = 0;
  server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString('utf8')));
    req.on('end', () => {
      if (failNext > 0) {
        failNext--;
        res.writeHead(503).end();
        return;
      }
      const key = req.url === '/vault' ? KEYS.VAULT_KEY : KEYS.SOC_KEY;
      received.push({
        path: req.url!,
        event: String(req.headers['x-bulwark-event']),
        body: JSON.parse(raw) as Received['body'],
        verified: verify(req.headers['x-bulwark-signature'] as string | undefined, raw, key),
      });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
  await applyIncidentSettings(
    deps,
    alice,
    `apiVersion: bulwark/v1
kind: IncidentSettings
notifications:
  webhooks:
    - { name: soc, url: "http://127.0.0.1:${port}/soc", secretEnv: SOC_KEY }
    - { name: vault, url: "http://127.0.0.1:${port}/vault", secretEnv: VAULT_KEY, restricted: true, on: [declared, resolved] }
`,
  );
});
afterEach(async () => {
  await new Promise((r) => server.close(r));
  await store.close();
  await dir.cleanup();
});

const deliver = () => deliverNotifications(deps, { transport: fetchTransport, env: KEYS, timeoutMs: 2000 });

describe('notifications', () => {
  it('signs with HMAC-SHA256 on declaration, severity and role changes and resolution, from a durable outbox', async () => {
    const i = await declareIncident(deps, alice, { title: 'Credential stuffing', severity: 'SEV3', priority: 'P2' });
    await setIncidentSeverity(deps, alice, all, i.id, 'SEV2', 'spreading');
    await assignIncidentRole(deps, alice, all, i.id, 'commander', 'alice');
    await setIncidentStatus(deps, alice, all, i.id, 'mitigated', null); // not a notification
    await setIncidentStatus(deps, alice, all, i.id, 'resolved', null);
    // Written with the changes, before anything is sent: a restart here loses nothing.
    expect((await store.incidents.notifications({ limit: 50 })).map((n) => [n.webhook, n.event, n.state]).reverse()).toEqual([
      ['soc', 'declared', 'pending'],
      ['vault', 'declared', 'pending'],
      ['soc', 'severity', 'pending'],
      ['soc', 'role', 'pending'],
      ['soc', 'resolved', 'pending'],
      ['vault', 'resolved', 'pending'],
    ]);
    expect((await deliver()).delivered).toHaveLength(6);
    expect(received.map((r) => [r.path, r.event, r.verified])).toEqual([
      ['/soc', 'declared', true],
      ['/vault', 'declared', true],
      ['/soc', 'severity', true],
      ['/soc', 'role', true],
      ['/soc', 'resolved', true],
      ['/vault', 'resolved', true],
    ]);
    expect(received[2]!.body).toMatchObject({
      event: 'severity',
      incident: { id: i.id, title: 'Credential stuffing', severity: 'SEV2' },
      entry: { kind: 'incident.severity.changed', data: { from: 'SEV3', to: 'SEV2', note: 'spreading' } },
    });
    expect((await deliver()).delivered).toEqual([]);
  });

  it('sends a restricted incident as its id only to a webhook not marked restricted, the details to one that is', async () => {
    const i = await declareIncident(deps, alice, { title: 'Attacker in admin', severity: 'SEV1', priority: 'P1', restricted: true });
    await deliver();
    const soc = received.find((r) => r.path === '/soc')!;
    expect(soc.body).toEqual({ event: 'declared', incident: { id: i.id, restricted: true }, time: '2026-03-01T10:00:00.000Z' });
    expect(JSON.stringify(soc.body)).not.toContain('Attacker');
    expect(received.find((r) => r.path === '/vault')!.body.incident).toMatchObject({ title: 'Attacker in admin', restricted: true });
  });

  it('retries with backoff when the receiver fails, and refuses a URL outside the allowed hosts when the file is applied', async () => {
    await declareIncident(deps, alice, { title: 'x', severity: 'SEV4', priority: 'P4' });
    failNext = 2;
    expect((await deliver()).retrying).toHaveLength(2);
    expect(await deliver()).toEqual({ delivered: [], retrying: [], failed: [] }); // not due yet
    clock.advance(10_000);
    expect((await deliver()).delivered).toHaveLength(2);
    const items = await store.incidents.notifications({ limit: 10 });
    expect(items.map((n) => [n.state, n.attempts, n.lastError])).toEqual([
      ['delivered', 2, null],
      ['delivered', 2, null],
    ]);
    const r = parseIncidentSettings(
      'apiVersion: bulwark/v1\nkind: IncidentSettings\nnotifications:\n  webhooks:\n    - { name: a, url: "http://169.254.169.254/x", secretEnv: K }\n    - { name: b, url: "https://hooks.example.com/x", secretEnv: K }\n',
    );
    expect(!r.ok && r.errors.map((e) => [e.line, e.message])).toEqual([
      [5, expect.stringMatching(/^169\.254\.169\.254 is a link-local or cloud metadata address/)],
      [6, expect.stringMatching(/^hooks\.example\.com is not in notifications\.allowHosts \(localhost/)],
    ]);
  });
});
