/** The playbook model: what a playbook file says once parsed (playbook-file.ts). Pure data. */
import type { Cron } from '../experiments/cron.ts';
import type { ApprovalPolicy } from '../access/approval-policy.ts';
import type { CelExpression, Template } from './expressions.ts';

export const STEP_MODES = ['manual', 'assisted', 'auto'] as const;
export type StepMode = (typeof STEP_MODES)[number];

export const STEP_KINDS = [
  'http',
  'notify',
  'set',
  'if',
  'switch',
  'forEach',
  'parallel',
  'wait',
  'checklist',
  'approval',
  'playbook',
  'process',
  'incident',
  'case',
  'run-experiment',
] as const;
export type StepKind = (typeof STEP_KINDS)[number];

export interface RetryPolicy {
  /** Attempts in all, the first included (1: no retry). */
  attempts: number;
  /** The first backoff; doubled at each retry up to maxBackoffMs, with jitter. */
  backoffMs: number;
  maxBackoffMs: number;
}

/**
 * A sealed secret named where a value goes (`{secret: NAME}`, or `{type: sealed, name: NAME}` as
 * experiments write it): opened only when the step is executed, never put in the expression
 * context, a run row, an output, a log line or the ledger.
 */
export interface SecretRef {
  secret: string;
}

export const isSecretRef = (v: unknown): v is SecretRef =>
  typeof v === 'object' && v !== null && typeof (v as { secret?: unknown }).secret === 'string';

export interface HttpAction {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: Template;
  headers: Record<string, Template | SecretRef>;
  /** A JSON value whose strings may hold `${{ … }}` expressions; absent for no body. */
  body?: unknown;
  /** Status codes that count as done (default 200–299). */
  expectStatus: number[];
}

/** One step, flattened: the steps inside an `if` follow it, each guarded by the branch it is in. */
export interface Step {
  id: string;
  title: string;
  instructions: string;
  kind: StepKind;
  mode: StepMode;
  /** Where the step is in the file (for rewriting its mode and for error messages). */
  path: (string | number)[];
  /** All must hold for the step to run; otherwise it is skipped. An `if`'s branch is a bool, a `switch`'s its case (`default` for the default). */
  guards: { step: string; branch: boolean | string }[];
  timeoutMs: number;
  retry: RetryPolicy;
  /** Who should do it when it waits for a person (a principal id); anyone with playbooks:run when absent. */
  assignee?: string;
  http?: HttpAction;
  /** `set`: each name's CEL expression; the values become the step's outputs. */
  set?: Record<string, CelExpression>;
  /** `if`: the condition; its output is `{ result: bool }`. */
  condition?: CelExpression;
  /** `switch`: the value and the cases' keys; its output is `{ value, case }` (the key matched, or `default`). */
  switch?: { value: CelExpression; cases: string[] };
  /** `forEach`: a list (CEL), at most `max` items, and the http, notify or set step done for each (`item` and `index` in its expressions). */
  forEach?: { items: CelExpression; max: number; body: Step };
  /** `parallel`: http, notify or set branches sent at once; the outputs by branch id. */
  parallel?: Step[];
  /** `playbook`: the playbook a child run starts of, and its inputs' CEL expressions; the step waits for the child. */
  call?: { name: string; inputs: Record<string, CelExpression> };
  /** `wait` for a duration: how long. */
  waitMs?: number;
  /** `wait` for a signal: a CEL match over `signal` (with inputs, steps, run), how long at most, and what a timeout does. */
  waitSignal?: { match: CelExpression; timeoutMs: number; onTimeout: 'fail' | 'continue' };
  /** `approval`: Access's multi-party approval the run waits for. */
  approval?: { summary: Template; policy: ApprovalPolicy };
  /** `checklist`: the items a person ticks. */
  items?: string[];
  /** `process`: an executable of the server's allow-list (`experiments.allowExecutables`), started as experiments start one. */
  process?: ProcessAction;
  /** `incident` and `case`: one operation of the incidents capability. */
  incidentOp?: IncidentOp;
  /** `run-experiment`: start a run of an applied experiment and wait for its outcome. */
  experiment?: ExperimentAction;
}

export interface ProcessAction {
  path: Template;
  /** argv without a shell, or a command line run through `/bin/sh -c "PATH LINE"`. */
  arguments: { kind: 'argv'; argv: Template[] } | { kind: 'shell'; line: Template };
  env: Record<string, Template | SecretRef>;
  /** Exit statuses that count as done (default [0]). */
  expectStatus: number[];
}

/** An operation on incidents or cases, through the incidents capability's use cases. */
export type IncidentOp =
  | { op: 'open'; title: Template; severity: Template; priority: Template; restricted: boolean }
  | { op: 'note'; incident: Template; text: Template }
  | { op: 'status'; incident: Template; to: Template; note?: Template }
  | { op: 'task'; incident: Template; title: Template; owner?: Template; dueInMs?: number }
  | { op: 'acknowledge-case'; case: Template }
  | { op: 'close-case'; case: Template; resolution: Template; note?: Template }
  | { op: 'escalate-case'; case: Template; severity: Template; priority: Template; title?: Template };

export interface ExperimentAction {
  /** The applied experiment's name. */
  name: string;
  vars: Record<string, Template>;
  /** Outcomes that count as done; empty: any outcome (read it as steps.ID.outcome). */
  expect: string[];
  /** How long to wait for the outcome before the step fails. */
  withinMs: number;
}

export interface InputSpec {
  type: 'string' | 'number' | 'boolean' | 'object';
  required: boolean;
  description: string;
  default?: unknown;
  /** From a signal trigger: a CEL expression over `signal` giving the value. */
  from?: CelExpression;
}

export interface Playbook {
  name: string;
  title: string;
  description: string;
  owner?: string;
  trigger: {
    manual: boolean;
    /** A CEL expression over `signal`: a new signal that makes it true starts a run. */
    signal?: CelExpression;
    /** A five-field cron in UTC: a run starts at each minute it matches (once across replicas). */
    schedule?: { source: string; cron: Cron };
  };
  inputs: Record<string, InputSpec>;
  /** Manual completions of a step after which Bulwark proposes automating it. */
  automateAfter: number;
  /** The hosts its `http` and `notify` steps may call (`safety.allowHosts`; loopback only by default). */
  allowHosts: string[];
  steps: Step[];
}
