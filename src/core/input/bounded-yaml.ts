/**
 * YAML (and JSON, which YAML reads) within bounds. Aliases make YAML's parsed size independent
 * of its bytes: one anchored list of 450,000 items referenced 99 times is 45 million values from
 * 900 KB of text. So the size that counts is the EXPANDED one, computed here without expanding:
 * the node tree is walked once, iteratively, and an alias counts as the size of the node it
 * refers to (memoised per anchored node). Everything past a bound is refused before `toJS`
 * builds a value, and before any step that recurses once per level (the composer, toJS) sees a
 * deeper input. Pure; never throws and never recurses over the input.
 *
 * The steps, each bounded by the one before:
 *  1. the text's length (limits.length) and text.ts's check of what can be stored unchanged;
 *  2. the `yaml` lexer alone, counting tokens (limits.tokens) and flow nesting: the cheap first
 *     pass, so that the parse proper never runs on more than limits.tokens tokens;
 *  3. the parser to its concrete syntax tree (iterative), whose nesting is measured iteratively
 *     before the composer, which recurses per level, builds nodes from it;
 *  4. the composer, with `uniqueKeys: false` (its duplicate check compares every key of a map
 *     with every other: quadratic, 0.5 s for 64 KiB and minutes for 1 MiB of keys here);
 *     duplicates are found here instead, with a set per mapping;
 *  5. the walk of the nodes: keys (plain scalars, distinct), aliases (limits.aliases, no alias
 *     inside its own anchor), expanded values (limits.nodes), expanded text (limits.text) and
 *     expanded depth (limits.depth); then toJS.
 *
 * Measured on this machine at INPUT_LIMITS.yaml (64 KiB, 16,384 tokens): CPU time of the whole
 * call, best of 7, with the machine's 2 cores shared by a load average of 17 to 22 (so wall
 * times were 1 to 4 times longer; on an idle core they are the CPU times):
 *  - refused at step 1 or 2 (too long; too many tokens, lexing stops there): ≤ 5 ms;
 *  - the densest shapes that pass step 2 (`- 1` lines, `[1,1,…]`, 2,000-key maps, anchors,
 *    comments, tags, the demo's activity shape): 22–48 ms;
 *  - the composer's costliest refusal (`[,,,…]`, one error per token): 36 ms, with stack traces
 *    off (see parseYamlBounded; 200 ms with them);
 *  - alias amplification, refused at step 5 whatever it would expand to: ≤ 33 ms;
 *  - the first parse in a process costs more while V8 compiles the yaml package (up to 200 ms
 *    for 10,000 tokens, once).
 */
import {
  Composer,
  Lexer,
  LineCounter,
  Parser,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  type CST,
  type Document,
  type Node,
  type Pair,
} from 'yaml';
import { INPUT_LIMITS, type YamlLimits } from './limits.ts';
import { textProblem } from './text.ts';

export interface YamlProblem {
  /** Offset in the text, and the same as line and column (both from 1). */
  offset: number;
  line: number;
  column: number;
  /** The `yaml` package's error code, or one of this module's (TOO_LONG, TOO_MANY_TOKENS, TOO_DEEP, …). */
  code: string;
  message: string;
  /** True for what the `yaml` package finds (the text is not valid YAML); false for the bounds and checks here. */
  syntax: boolean;
}

export type YamlRead =
  | {
      ok: true;
      doc: Document.Parsed;
      /** The document as plain values (`toJS`); aliases are shared references, not copies. */
      value: unknown;
      position: (offset: number) => { line: number; column: number };
    }
  | { ok: false; errors: YamlProblem[] };

export interface YamlOptions {
  /** Keep each node's CST token (yaml's keepSourceTokens). */
  keepSourceTokens?: boolean;
  /** At most this many errors are reported (the first ones); default 100. */
  maxErrors?: number;
}

/** The message for nesting past the bound; the same wherever it is found. */
export const tooDeep = (depth: number) => `the file nests too deeply; keep it under ${depth} levels`;

/** Parse YAML within the limits: the document and its value, or the errors with their line and column. Never throws. */
export function parseYamlBounded(text: string, limits: YamlLimits = INPUT_LIMITS.yaml, options: YamlOptions = {}): YamlRead {
  // The composer makes an Error object per problem it finds, and capturing each one's stack is
  // most of its cost on hostile input (`[,,,…]`: 200 ms instead of 25 for 16,000 of them). No
  // stack is needed: the parse is synchronous, so nothing else runs while the limit is 0.
  const saved = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return parse(text, limits, options);
  } finally {
    Error.stackTraceLimit = saved;
  }
}

function parse(text: string, limits: YamlLimits, options: YamlOptions): YamlRead {
  const fail = (offset: number, code: string, message: string): YamlRead => ({
    ok: false,
    errors: [{ offset, ...positionIn(text, offset), code, message, syntax: false }],
  });
  if (typeof text !== 'string') return fail(0, 'NOT_TEXT', 'the input is not text');
  if (text.length > limits.length) return fail(0, 'TOO_LONG', `the file is longer than ${limits.length} characters; split it`);
  const stored = textProblem(text);
  if (stored !== undefined) {
    const at = /at offset (\d+)/.exec(stored);
    return fail(at ? Number(at[1]) : 0, 'TEXT', `the file ${stored}`);
  }

  // Step 2: the lexer alone. Its tokens are slices of the text, except three markers of no length.
  let tokens = 0;
  let flow = 0;
  let offset = 0;
  for (const token of new Lexer().lex(text)) {
    if (++tokens > limits.tokens) {
      return fail(
        offset,
        'TOO_MANY_TOKENS',
        `the file has more than ${limits.tokens} YAML tokens (scalars, indicators, spaces, line breaks and comments; ${limits.length} characters at most); make it smaller or split it`,
      );
    }
    if (token === '[' || token === '{') {
      if (++flow > limits.depth) return fail(offset, 'TOO_DEEP', tooDeep(limits.depth));
    } else if ((token === ']' || token === '}') && flow > 0) flow--;
    if (token !== MARK_DOCUMENT && token !== MARK_FLOW_END && token !== MARK_SCALAR) offset += token.length;
  }

  // Step 3: the concrete syntax tree, and its nesting.
  const lineCounter = new LineCounter();
  const cst = Array.from(new Parser(lineCounter.addNewLine).parse(text));
  const deep = cstDeeperThan(cst, limits.depth);
  if (deep !== undefined) return fail(deep, 'TOO_DEEP', tooDeep(limits.depth));
  const position = (at: number) => {
    const p = lineCounter.linePos(Math.max(0, Math.min(at, text.length)));
    return { line: p.line, column: p.col };
  };
  const problem = (at: number, code: string, message: string, syntax = false): YamlProblem => ({
    offset: at,
    ...position(at),
    code,
    message,
    syntax,
  });

  // Step 4: the nodes.
  const composer = new Composer({ keepSourceTokens: options.keepSourceTokens ?? false, uniqueKeys: false, logLevel: 'silent' });
  let doc: Document.Parsed | undefined;
  const errors: YamlProblem[] = [];
  for (const d of composer.compose(cst, true, text.length)) {
    if (doc === undefined) doc = d;
    else {
      errors.push(problem(d.range[0], 'MULTIPLE_DOCS', 'the file holds more than one YAML document (a line "---" starts another)'));
      break;
    }
  }
  // compose(…, forceDoc = true) always yields a document.
  if (doc === undefined) return fail(0, 'EMPTY', 'the file holds no YAML document');
  for (const e of doc.errors) {
    // The composer turns its own stack overflow into an error; the checks above keep it from happening.
    if (e.code === 'RESOURCE_EXHAUSTION') errors.push(problem(e.pos[0], 'TOO_DEEP', tooDeep(limits.depth)));
    else errors.push(problem(e.pos[0], e.code, e.message, true));
  }
  const max = options.maxErrors ?? 100;
  if (errors.length > 0) return { ok: false, errors: errors.sort((a, b) => a.offset - b.offset).slice(0, max) };

  // Step 5: keys, aliases and the expanded size, then the value.
  const walked = walkNodes(doc, limits, problem, max);
  if (walked.length > 0) return { ok: false, errors: walked.sort((a, b) => a.offset - b.offset).slice(0, max) };
  let value: unknown;
  try {
    // The expansion is bounded by now; yaml's own alias heuristic would only add a second, vaguer bound.
    value = doc.toJS({ maxAliasCount: -1 });
  } catch (e) {
    return fail(0, 'TO_JS', `cannot read the file: ${e instanceof Error ? e.message : String(e)}`);
  }
  return { ok: true, doc, value, position };
}

// The lexer's markers (yaml's CST.DOCUMENT, FLOW_END, SCALAR): tokens that are not in the text.
const MARK_DOCUMENT = '\x02';
const MARK_FLOW_END = '\x18';
const MARK_SCALAR = '\x1f';

/** Line and column (from 1) of an offset, for problems found before the parser has counted lines. */
function positionIn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  const end = Math.max(0, Math.min(offset, text.length));
  for (let i = text.indexOf('\n'); i !== -1 && i < end; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, column: end - start + 1 };
}

/** The offset of the first collection nested past `max` levels in the syntax tree, or undefined. */
function cstDeeperThan(tokens: readonly CST.Token[], max: number): number | undefined {
  const stack: [CST.Token, number][] = tokens.map((t) => [t, 0]);
  while (stack.length > 0) {
    const [t, d] = stack.pop()!;
    if (t.type === 'document') {
      if (t.value) stack.push([t.value, d]);
    } else if (t.type === 'block-map' || t.type === 'block-seq' || t.type === 'flow-collection') {
      if (d + 1 > max) return t.offset;
      for (const item of t.items as { key?: CST.Token | null; value?: CST.Token }[]) {
        if (item.key) stack.push([item.key, d + 1]);
        if (item.value) stack.push([item.value, d + 1]);
      }
    }
  }
  return undefined;
}

/** What a node stands for once its aliases are expanded. */
interface Size {
  nodes: number;
  /** Collections nested in it, itself included; 0 for a scalar. */
  height: number;
  text: number;
}

/** A node being walked: its own size so far, and where to add it when it is done. */
interface Frame {
  node: Node | null;
  /** A collection (map, list, or a pair inside a list, which toJS makes a one-key map). */
  collection: boolean;
  size: Size;
  parent: Frame | undefined;
  offset: number;
}

type Step = { kind: 'enter'; node: Node | Pair | null; parent: Frame; asKey: boolean } | { kind: 'exit'; frame: Frame };

const offsetOf = (n: Node | Pair | null | undefined, fallback: number): number => {
  if (n && !isPair(n) && n.range) return n.range[0];
  if (n && isPair(n)) return offsetOf(n.key as Node | null, offsetOf(n.value as Node | null, fallback));
  return fallback;
};

/** The key as toJS writes it into an object. */
function keyString(key: unknown): string {
  if (key === null || key === undefined) return '';
  const v = isScalar(key) ? key.value : key;
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  // Scalars that are objects (!!binary, !!timestamp in YAML 1.1) are told apart by their JSON.
  return JSON.stringify(v) ?? '';
}

function walkNodes(
  doc: Document.Parsed,
  limits: YamlLimits,
  problem: (at: number, code: string, message: string, syntax?: boolean) => YamlProblem,
  maxErrors: number,
): YamlProblem[] {
  const errors: YamlProblem[] = [];
  /** The expanded size of every anchored node once walked: aliases to it count this much. */
  const sizes = new Map<Node, Size>();
  /** The last node given each anchor so far, in document order (yaml resolves aliases so). */
  const anchors = new Map<string, Node>();
  let aliases = 0;
  const root: Frame = { node: null, collection: false, size: { nodes: 0, height: 0, text: 0 }, parent: undefined, offset: 0 };
  const steps: Step[] = [{ kind: 'enter', node: doc.contents ?? null, parent: root, asKey: false }];

  const bound = (f: Frame): YamlProblem | undefined => {
    const s = f.size;
    if (s.nodes > limits.nodes) {
      return problem(
        f.offset,
        'TOO_MANY_NODES',
        `the file expands to more than ${limits.nodes} values (lists, mappings and scalars; an alias *name counts as everything its anchor &name holds); write less, or use fewer aliases`,
      );
    }
    if (s.text > limits.text) {
      return problem(
        f.offset,
        'TOO_MUCH_TEXT',
        `the file expands to more than ${limits.text} characters of text (an alias *name counts as all the text its anchor &name holds); write less, or use fewer aliases`,
      );
    }
    if (s.height > limits.depth) return problem(f.offset, 'TOO_DEEP', tooDeep(limits.depth));
    return undefined;
  };
  const add = (to: Frame, s: Size) => {
    to.size.nodes += s.nodes;
    to.size.text += s.text;
    if (s.height > to.size.height) to.size.height = s.height;
  };

  while (steps.length > 0) {
    const step = steps.pop()!;
    if (step.kind === 'exit') {
      const f = step.frame;
      if (f.collection) {
        f.size.nodes += 1;
        f.size.height += 1;
      }
      const over = bound(f);
      if (over) return [over];
      if (f.node?.anchor) sizes.set(f.node, { ...f.size });
      add(f.parent!, f.size);
      continue;
    }
    const { node, parent } = step;
    const at = offsetOf(node, parent.offset);
    if (node === null) {
      // A missing value (`? key` alone) or key: null, one value.
      if (!step.asKey) add(parent, { nodes: 1, height: 0, text: 0 });
      continue;
    }
    if (isAlias(node)) {
      if (++aliases > limits.aliases) {
        return [problem(at, 'TOO_MANY_ALIASES', `the file has more than ${limits.aliases} aliases (*name); write the values out instead`)];
      }
      const target = anchors.get(node.source);
      const size = target === undefined ? undefined : sizes.get(target);
      if (target === undefined) {
        errors.push(problem(at, 'BAD_ALIAS', `the alias *${node.source} has no anchor &${node.source} before it`));
      } else if (size === undefined) {
        return [
          problem(
            at,
            'ALIAS_CYCLE',
            `the alias *${node.source} is inside the node its anchor &${node.source} names; such a value never ends`,
          ),
        ];
      } else {
        add(parent, size);
        const over = bound(parent);
        if (over) return [over];
      }
      continue;
    }
    if (!isPair(node) && node.anchor) anchors.set(node.anchor, node);
    if (isScalar(node)) {
      const v = node.value;
      const text = typeof v === 'string' ? v.length : 0;
      if (typeof v === 'string') {
        const bad = textProblem(v);
        if (bad !== undefined) errors.push(problem(at, 'TEXT', `${step.asKey ? 'a key' : 'a string'} here ${bad}`));
      }
      // Keys are not values of their own: they add their text only.
      const size = { nodes: step.asKey ? 0 : 1, height: 0, text };
      if (node.anchor) sizes.set(node, { nodes: 1, height: 0, text });
      add(parent, size);
      if (errors.length >= maxErrors) return errors;
      continue;
    }
    const frame: Frame = {
      node: isPair(node) ? null : node,
      collection: true,
      size: { nodes: 0, height: 0, text: 0 },
      parent,
      offset: at,
    };
    steps.push({ kind: 'exit', frame });
    const pairs: Pair[] = isMap(node) ? node.items : isPair(node) ? [node] : [];
    if (isSeq(node)) {
      // Document order: the first item is walked first.
      for (let i = node.items.length - 1; i >= 0; i--)
        steps.push({ kind: 'enter', node: node.items[i] as Node | Pair | null, parent: frame, asKey: false });
      continue;
    }
    const seen = new Set<string>();
    const pending: Step[] = [];
    for (const pair of pairs) {
      const key = pair.key as Node | null;
      if (key !== null && !isScalar(key)) {
        errors.push(problem(offsetOf(key, at), 'NON_SCALAR_KEY', 'a key must be a plain string, not a list, mapping or alias'));
        if (errors.length >= maxErrors) return errors;
        continue;
      }
      const name = keyString(key);
      if (seen.has(name)) {
        // The yaml package's own words for it (its uniqueKeys check, which is quadratic, is off).
        errors.push(problem(offsetOf(key, at), 'DUPLICATE_KEY', 'Map keys must be unique', true));
        if (errors.length >= maxErrors) return errors;
      }
      seen.add(name);
      pending.push(
        { kind: 'enter', node: key, parent: frame, asKey: true },
        { kind: 'enter', node: pair.value as Node | null, parent: frame, asKey: false },
      );
    }
    if (errors.length >= maxErrors) return errors;
    for (let i = pending.length - 1; i >= 0; i--) steps.push(pending[i]!);
  }
  return errors;
}
