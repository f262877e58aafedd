/**
 * SLOs over HTTP: apply a file (Bulwark's format or OpenSLO v1), list them by remaining budget,
 * show one with its status (budget, burn rate per window, alerts, the budget policy's state and
 * why), delete one. Every change is a ledger entry.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AppDeps } from '../../app/deps.ts';
import { applySlo, deleteSlo, getSlo } from '../../app/slos/apply-slo.ts';
import { sloStatus, type SloStatus } from '../../app/slos/slo-status.ts';
import { apiActor } from '../../core/ledger/actor.ts';
import { can, type Principal } from '../../core/access/permissions.ts';
import { SEE_RESTRICTED } from '../../core/incidents/permissions.ts';
import { MAX_SLO_FILE_LENGTH, SLO_NAME } from '../../core/slos/slo-file.ts';
import type { RouteRegistry } from '../route.ts';

export const sloName = z.string().regex(SLO_NAME, 'an SLO name is 1–64 characters of a-z, 0-9 and "-"').describe('the SLO name');

const BurnRateView = z.object({
  window: z.string().describe('a Prometheus duration: 5m, 1h, 30d, 4w'),
  rate: z.number().nullable().describe('error rate ÷ (1 − objective); null when the window holds no event'),
  events: z.number(),
});

const AlertView = z.object({
  severity: z.enum(['page', 'ticket']),
  firing: z.boolean(),
  why: z.string(),
  pairs: z.array(z.object({ shortWindow: z.string(), longWindow: z.string(), factor: z.number(), firing: z.boolean() })),
});

const PolicyView = z
  .object({
    state: z.enum(['ok', 'freeze']),
    why: z.string(),
    actions: z.array(z.enum(['freeze-non-security-deploys', 'page-owner'])),
    postmortem: z
      .union([
        z.object({ evaluated: z.literal(false), why: z.string() }),
        z.object({
          evaluated: z.literal(true),
          required: z
            .boolean()
            .describe(
              'the remaining budget is at or under postmortemBelow (incidents of the period need a postmortem), or an incident linked to the SLO spent more than postmortemAbove',
            ),
          why: z.string(),
          incidents: z
            .array(
              z.object({
                id: z.number().int(),
                postmortem: z.boolean(),
                spent: z
                  .number()
                  .nullable()
                  .optional()
                  .describe('the share of the budget it spent over its impact window, when it is linked to the SLO (null: not evaluated)'),
              }),
            )
            .describe('incidents of the period, oldest first'),
          missing: z.array(z.number().int()).describe('incidents that require a postmortem and have none'),
          restricted: z
            .object({ incidents: z.number().int(), missing: z.number().int() })
            .describe('restricted incidents of the period are counted, not named'),
        }),
      ])
      .nullable()
      .describe('the postmortem clause (policy.postmortemBelow, postmortemAbove); null without one'),
    recorded: z.enum(['ok', 'freeze']).nullable().describe("the state the server's periodic evaluation last wrote to the ledger"),
  })
  .nullable();

export const SloItem = z.object({
  name: z.string(),
  displayName: z.string(),
  service: z.string(),
  owner: z.string().nullable(),
  format: z.enum(['bulwark/v1', 'openslo/v1']),
  version: z.number().int(),
  objective: z.number().describe('a ratio: 0.99 is 99%'),
  window: z.string(),
  budgeting: z.enum(['occurrences', 'timeslices', 'ratio-timeslices']),
  sli: z.enum(['experiments', 'time-to-detect', 'signals', 'prometheus', 'external']),
  strategy: z.enum(['sloth', 'pyrra']),
  status: z
    .object({
      periodStart: z.string(),
      periodEnd: z.string(),
      good: z.number(),
      total: z.number(),
      sli: z.number().nullable(),
      errorBudget: z.number(),
      consumed: z.number().describe('share of the budget spent; above 1 when overspent'),
      remaining: z.number().describe('1 − consumed'),
      timeToExhaustionMs: z.number().nullable().describe('at the burn rate of the fast page pair’s long window; null when not burning'),
      enoughData: z.boolean().describe('at least alerting.minEvents events in the period'),
      burnRates: z.array(BurnRateView),
      alerts: z.array(AlertView),
      excluded: z.number().describe('events of the period left out because they fell in an exclusion window'),
      exclusion: z
        .object({ name: z.string(), until: z.string() })
        .nullable()
        .describe('the exclusion window in effect now, and when it ends'),
    })
    .nullable()
    .describe('null when the SLI is external (Bulwark does not read that metric source) or unknown (its source could not answer)'),
  state: z
    .enum(['evaluated', 'unknown', 'not-read'])
    .describe('unknown: the SLI source (a Prometheus) could not answer, `note` says why; nothing alerts or freezes on it'),
  policy: PolicyView,
  exclusions: z
    .array(
      z.object({
        name: z.string(),
        start: z.string().describe('wall-clock start in timeZone'),
        durationMs: z.number(),
        rrule: z.string().nullable().describe('RFC 5545 RRULE; null for a one-off window'),
        timeZone: z.string(),
      }),
    )
    .describe('maintenance windows whose events are left out of the budget'),
  note: z.string().nullable(),
  updatedAt: z.string(),
});

const SloDetail = SloItem.extend({ file: z.string() });

function view(s: SloStatus): z.output<typeof SloItem> {
  const b = s.budget;
  return {
    name: s.record.name,
    displayName: s.model.displayName,
    service: s.model.service,
    owner: s.model.owner ?? null,
    format: s.record.format,
    version: s.record.version,
    objective: s.model.objective,
    window: s.model.window.text,
    budgeting: s.model.budgeting.method,
    sli: s.model.sli.source,
    strategy: s.model.alerting.strategy,
    status: b
      ? {
          periodStart: b.period.start,
          periodEnd: b.period.end,
          good: b.good,
          total: b.total,
          sli: b.sli,
          errorBudget: b.errorBudget,
          consumed: b.consumed,
          remaining: b.remaining,
          timeToExhaustionMs: b.timeToExhaustionMs,
          enoughData: b.enoughData,
          burnRates: b.burnRates.map((r) => ({ window: r.window, rate: r.rate, events: r.events })),
          alerts: b.alerts,
          excluded: b.excluded,
          exclusion: b.exclusion,
        }
      : null,
    state: s.state,
    policy: s.policy
      ? {
          ...s.policy,
          postmortem:
            s.policy.postmortem?.evaluated === true
              ? {
                  ...s.policy.postmortem,
                  restricted: { ...s.policy.postmortem.restricted, missing: s.policy.postmortem.restricted.missing.length },
                }
              : s.policy.postmortem,
          recorded: s.record.policyState,
        }
      : null,
    exclusions: s.model.exclusions.map((x) => ({ ...x, rrule: x.rrule ?? null })),
    note: s.note ?? null,
    updatedAt: s.record.updatedAt,
  };
}

/** Whether the caller may count restricted incidents in a postmortem clause (never named either way). */
const restrictedFor = (p: Principal) => ({ seesRestricted: can(p, SEE_RESTRICTED) });

/** Every SLO's status, lowest remaining budget first (SLOs without data last). */
export async function allStatuses(deps: AppDeps, opts: { seesRestricted?: boolean } = {}): Promise<SloStatus[]> {
  const all = await Promise.all((await deps.store.slos.list()).map((r) => sloStatus(deps, r, opts)));
  const key = (s: SloStatus) => s.budget?.remaining ?? Infinity;
  return all.sort((a, b) => key(a) - key(b) || (a.record.name < b.record.name ? -1 : 1));
}

export function sloRoutes(app: FastifyInstance, r: RouteRegistry, deps: AppDeps): void {
  r.add(app, {
    method: 'POST',
    url: '/v1/slos',
    tag: 'slos',
    summary: 'Apply an SLO file (Bulwark bulwark/v1 or OpenSLO openslo/v1, YAML or JSON): a new SLO (201) or its next version (200)',
    auth: { permission: 'slos:write' },
    body: z.strictObject({ file: z.string().min(1).max(MAX_SLO_FILE_LENGTH).describe('the SLO file, YAML or JSON text') }),
    status: 201,
    response: SloItem,
    errors: [200],
    handler: async ({ body, principal, req, reply }) => {
      const applied = await applySlo(deps, apiActor(principal, req.id), body.file);
      const v = view(await sloStatus(deps, applied.slo, restrictedFor(principal)));
      return applied.created ? v : reply.code(200).send(v);
    },
  });

  r.add(app, {
    method: 'GET',
    url: '/v1/slos',
    tag: 'slos',
    summary: 'Every applied SLO with its budget, burn rates, alerts and policy state, lowest remaining budget first',
    auth: { permission: 'slos:read' },
    priority: 'low',
    response: z.object({ slos: z.array(SloItem) }),
    handler: async ({ principal }) => ({ slos: (await allStatuses(deps, restrictedFor(principal))).map(view) }),
  });

  r.add(app, {
    method: 'GET',
    url: '/v1/slos/:name',
    tag: 'slos',
    summary: 'One SLO with its status and the file as applied',
    auth: { permission: 'slos:read' },
    params: z.strictObject({ name: sloName }),
    response: SloDetail,
    errors: [404],
    handler: async ({ params, principal }) => {
      const rec = await getSlo(deps, params.name);
      return { ...view(await sloStatus(deps, rec, restrictedFor(principal))), file: rec.file };
    },
  });

  r.add(app, {
    method: 'DELETE',
    url: '/v1/slos/:name',
    tag: 'slos',
    summary: 'Delete an SLO: no longer listed or evaluated; its ledger entries stay',
    auth: { permission: 'slos:write' },
    params: z.strictObject({ name: sloName }),
    response: z.object({ name: z.string(), version: z.number().int(), deletedAt: z.string(), deletedBy: z.string() }),
    errors: [404],
    handler: async ({ params, principal, req }) => {
      const d = await deleteSlo(deps, apiActor(principal, req.id), params.name);
      return { name: d.name, version: d.version, deletedAt: d.deletedAt, deletedBy: d.deletedBy };
    },
  });
}
