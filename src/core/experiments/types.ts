/**
 * The typed model of an experiment file: Chaos Toolkit's experiment format as it is, plus
 * Bulwark's additions (techniques, expect, safety, schedule, the tcp and file providers).
 * Field names are camelCase and units explicit (`…Ms`); `document` keeps the file as written
 * for the journal, which Chaos Toolkit tools expect to find there.
 */
import type { Provider } from './providers/index.ts';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface Experiment {
  version?: string;
  title: string;
  description: string;
  tags: string[];
  /** Chaos Toolkit's free-form map of what the experiment contributes to (availability: high …). */
  contributions?: Record<string, JsonValue>;
  /** Chaos Toolkit extension blocks, kept as written. */
  extensions: JsonValue[];
  configuration: Record<string, ConfigEntry>;
  /** Scopes of secret keys: `secrets.<scope>.<key>`. */
  secrets: Record<string, Record<string, SecretEntry>>;
  steadyStateHypothesis?: Hypothesis;
  method: Step[];
  rollbacks: Step[];
  /** Chaos Toolkit controls, kept as written and never run. */
  controls: JsonValue[];
  /** Chaos Toolkit's `runtime` block (strategies), kept as written. */
  runtime?: JsonValue;
  /** MITRE ATT&CK technique ids such as T1190 or T1059.004. */
  techniques: string[];
  expect?: Expectations;
  safety?: Safety;
  schedule?: Schedule;
  /** Top-level `x-…` keys, kept as written. */
  vendor: Record<string, JsonValue>;
  /** The whole file as JSON, as written (secrets included: redact before storing). */
  document: JsonValue;
}

/** A configuration value: inline, or read from the environment when the run starts. */
export type ConfigEntry =
  { kind: 'inline'; value: JsonValue } | { kind: 'env'; key: string; default?: JsonValue; envVarType?: 'str' | 'int' | 'float' | 'bytes' };

/** A secret value: inline, or read from the environment when the run starts. */
/** A secret's value: inline, from the environment, or a sealed secret named (`{type: sealed, name: NAME}`; docs/access.md). */
export type SecretEntry = { kind: 'inline'; value: JsonValue } | { kind: 'env'; key: string } | { kind: 'sealed'; name: string };

export interface Hypothesis {
  title: string;
  probes: Activity[];
  controls: JsonValue[];
}

/** An entry of `method` or `rollbacks`: an activity, or a reference to a named one. */
export type Step = Activity | ActivityRef;

/** `{ref: name}`: runs the named activity again; resolved when the file is parsed. */
export interface ActivityRef {
  ref: string;
  /** The activity the name designates (the last one of that name, as Chaos Toolkit's cache does). */
  activity: Activity;
}

export interface Activity {
  type: 'action' | 'probe';
  name: string;
  provider: Provider;
  tolerance?: Tolerance;
  pauses: { beforeMs?: number; afterMs?: number };
  background: boolean;
  /** Chaos Toolkit's activity-level timeout. */
  timeoutMs?: number;
  controls: JsonValue[];
}

/** A provider: one of the types registered in providers/index.ts, each defined in its own module. */
export type { Provider };
export type { HttpProvider } from './providers/http.ts';
export type { ProcessProvider } from './providers/process.ts';
export type { PythonProvider } from './providers/python.ts';
export type { TcpProvider } from './providers/tcp.ts';
export type { FileProvider } from './providers/file.ts';

/** Every Chaos Toolkit tolerance kind; `kind` is ours, the file says it by shape or `type`. */
export type Tolerance =
  | { kind: 'bool'; value: boolean }
  | { kind: 'int'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'list'; values: JsonValue[] }
  | { kind: 'range'; min: number; max: number; target?: string }
  | { kind: 'regex'; pattern: string; target?: string }
  | { kind: 'jsonpath'; path: string; expect?: JsonValue[]; count?: number; target?: string }
  | { kind: 'probe'; probe: Activity };

export interface Expectations {
  /** The injected request's response must meet this tolerance (e.g. 403), within the deadline if given. */
  blocked?: { tolerance: Tolerance; withinMs?: number; control?: string };
  detected: DetectionExpectation[];
}

/** What a detection expectation asks of its signal's source (controls.ts): an alert, or a log record. */
export type DetectionMust = 'alerted' | 'logged';

export interface DetectionExpectation {
  name: string;
  /** A CEL expression over `signal` and `run`, compiled when the file is parsed. */
  when: string;
  withinMs: number;
  /** The control under test (a WAF, an IDS …): its results are kept apart from other controls'. */
  control?: string;
  /** Only a signal from an alerting source (`alerted`) or a log source (`logged`) meets it; any source when absent. */
  must?: DetectionMust;
  /** The rule that must fire (a ModSecurity rule id, an alertname, a Sigma rule id, a webhook's rule label). */
  rule?: string;
}

export interface Safety {
  /** Probes run every `everyMs` during the run; the run aborts when one fails its tolerance. */
  abort: { probe: Activity; everyMs: number }[];
  maxDurationMs?: number;
  blastRadius?: { hosts: string[]; paths: string[] };
  dryRun: boolean;
}

export interface Schedule {
  /** A five-field cron expression, evaluated in UTC. */
  cron: string;
  jitterMs: number;
}

/** A problem in a file, located for the person who has to fix it (line and column from 1). */
export interface ExperimentIssue {
  /** Where in the document, e.g. `method[2].provider.url`; empty for the whole file. */
  path: string;
  line: number;
  column: number;
  message: string;
}
