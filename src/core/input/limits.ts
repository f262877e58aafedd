/**
 * The bounds on every structured input Bulwark reads (JSON and YAML), in one place. They bound
 * what an input may cost after parsing, not only its bytes: a small text can stand for a large
 * value (YAML aliases), and a deep one reaches code that recurses once per level (V8's
 * JSON.stringify and structured clone overflow the stack at about 4,000 levels; the `yaml`
 * package's composer and toJS recurse too). docs/threat-model.md ("Input bounds") lists them.
 *
 * How the numbers were chosen:
 *
 * - depth 64: an Alertmanager payload is 4 levels deep, a CloudEvent with its data 3 to 6, a
 *   ModSecurity audit entry 5, an experiment file 8 to 10. 64 leaves room for nested webhook
 *   data and stays far (60×) below the depth at which any recursive walk of the process fails,
 *   so every walk of a value that passed a boundary is safe even after the product wraps it.
 * - JSON nodes 100,000: 1 MiB (the default body limit) of the densest JSON (`[0,0,…]`) holds
 *   524,288 values; real payloads hold one value per 20 to 40 bytes (an Alertmanager alert is
 *   about 35 values in 600 bytes), so a full 1 MiB body of real data is about 50,000. The bound
 *   cuts the worst case five-fold and keeps it fixed when bodyLimitBytes is raised.
 * - YAML on the server (experiment files, the config file): 64 KiB and 16,384 tokens (the demo
 *   experiments are 1.2 to 1.5 KiB and 300 to 400 tokens, about 4 characters per token; the
 *   largest file the product writes itself, a request burst of 1,000 requests, is 50 KiB and
 *   10,313 tokens), 20,000 values and 256 KiB of text once aliases are expanded, 100 aliases
 *   (the yaml package's own default). The `yaml` package costs 1 to 3 µs of CPU per token, so
 *   its parse is bounded by the token count, which a first, cheap pass of its lexer counts
 *   before anything else is built. Measured times: bounded-yaml.ts.
 * - Atomic Red Team technique files are read by the CLI only, never on a server's event loop,
 *   and the largest upstream files are about 40 KiB (T1562.001): 256 KiB and 65,536 tokens,
 *   50,000 values and 1 MiB of text expanded, the same depth and aliases.
 */

export interface JsonLimits {
  /** Arrays and objects nested in one another; a scalar alone is depth 0, `[]` is 1. */
  readonly depth: number;
  /** Values of any kind (objects, arrays, strings, numbers, booleans, null); keys are not counted. */
  readonly nodes: number;
  /** Characters of text (UTF-16 code units); unset where the transport bounds it (HTTP body limit, log line length). */
  readonly length?: number;
}

export interface YamlLimits {
  /** Characters of text (UTF-16 code units), checked before any parsing. */
  readonly length: number;
  /** Tokens of the `yaml` lexer (scalars, indicators, spaces, line breaks, comments), counted before the parse. */
  readonly tokens: number;
  /** As JsonLimits.depth, with aliases expanded. */
  readonly depth: number;
  /** As JsonLimits.nodes, with aliases expanded: an alias counts as everything its anchored node holds. */
  readonly nodes: number;
  /** Characters of scalar text (keys and values), with aliases expanded. */
  readonly text: number;
  /** Alias nodes (`*name`) in the document. */
  readonly aliases: number;
}

export const INPUT_LIMITS = {
  /** JSON from the network and from logs: HTTP bodies, signal payloads, log lines. */
  json: { depth: 64, nodes: 100_000 } satisfies JsonLimits,
  /** YAML (and JSON read as YAML) on a server's event loop: experiment files, the config file. */
  yaml: { length: 64 * 1024, tokens: 16_384, depth: 64, nodes: 20_000, text: 256 * 1024, aliases: 100 } satisfies YamlLimits,
  /** Atomic Red Team technique files, read by `bulwark experiments import-atomic` only. */
  atomicYaml: { length: 256 * 1024, tokens: 65_536, depth: 64, nodes: 50_000, text: 1024 * 1024, aliases: 100 } satisfies YamlLimits,
} as const;

/**
 * The deepest value that walks of the product's own data accept (ledger entry data, copies of
 * journals and signals): four times the input depth, so that what passed a boundary can be
 * wrapped a few times over, and far below the ~4,000 levels at which recursion fails. Deeper
 * data can only be built by code, never come from input; it is refused with `invalid`.
 */
export const WALK_DEPTH = 256;
