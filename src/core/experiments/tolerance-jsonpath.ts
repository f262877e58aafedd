/**
 * The JSONPath subset Chaos Toolkit's jsonpath tolerances use in practice, written here rather
 * than taken from npm so that no path can reach an expression evaluator: `$`, `.name`, `['name']`,
 * `[0]`, `[-1]`, `[*]`, `.*`, `..name`, `[a,b]`, `[start:end:step]` and filters
 * `[?(@.a == 1 && @.b)]` (`=` is read as `==`, and `and`/`or`/`not` as in jsonpath2).
 */

type Selector =
  | { t: 'name'; name: string }
  | { t: 'wild' }
  | { t: 'index'; index: number }
  | { t: 'slice'; start?: number; end?: number; step: number }
  | { t: 'filter'; expr: Expr };

interface Segment {
  descendant: boolean;
  selectors: Selector[];
}

type Operand = { t: 'lit'; value: unknown } | { t: 'query'; root: '@' | '$'; segments: Segment[] };
type CmpOp = '==' | '!=' | '<' | '<=' | '>' | '>=';

type Expr =
  | { t: 'or'; a: Expr; b: Expr }
  | { t: 'and'; a: Expr; b: Expr }
  | { t: 'not'; e: Expr }
  | { t: 'cmp'; op: CmpOp; a: Operand; b: Operand }
  | { t: 'exists'; q: Operand & { t: 'query' } };

export interface JsonPath {
  source: string;
  segments: Segment[];
}

/** Compile a JSONPath, or say where it cannot be read. */
export function compileJsonPath(source: string): { ok: true; path: JsonPath } | { ok: false; message: string } {
  try {
    const p = new Parser(source);
    p.ws();
    if (!p.eat('$')) p.fail("a path starts with '$'");
    const segments = p.segments(false);
    p.ws();
    if (!p.done()) p.fail('unexpected text');
    return { ok: true, path: { source, segments } };
  } catch (e) {
    if (e instanceof PathError) return { ok: false, message: e.message };
    throw e;
  }
}

/** Every value the path selects in `value`, in document order. */
export function queryJsonPath(path: JsonPath, value: unknown): unknown[] {
  return run(path.segments, [value], value);
}

class PathError extends Error {}

const NAME = /[^\s.[\]()=!<>&|,'"@$?:*]+/y;
const NUMBER = /-?\d+(\.\d+)?([eE][+-]?\d+)?/y;

class Parser {
  pos = 0;
  depth = 0;
  constructor(readonly src: string) {}

  fail(why: string): never {
    throw new PathError(`jsonpath '${this.src}' is invalid at position ${this.pos + 1}: ${why}`);
  }
  done(): boolean {
    return this.pos >= this.src.length;
  }
  peek(s: string): boolean {
    return this.src.startsWith(s, this.pos);
  }
  eat(s: string): boolean {
    if (!this.peek(s)) return false;
    this.pos += s.length;
    return true;
  }
  ws(): void {
    while (/\s/.test(this.src[this.pos] ?? '')) this.pos++;
  }
  match(re: RegExp): string | undefined {
    re.lastIndex = this.pos;
    const m = re.exec(this.src);
    if (!m) return undefined;
    this.pos = re.lastIndex;
    return m[0];
  }

  /** Segments until something that is not one; inside filters, stop at operators. */
  segments(inFilter: boolean): Segment[] {
    const out: Segment[] = [];
    for (;;) {
      if (inFilter) this.ws();
      if (this.eat('..')) {
        if (this.peek('[')) out.push({ descendant: true, selectors: this.bracket() });
        else out.push({ descendant: true, selectors: [this.dotSelector()] });
      } else if (this.eat('.')) {
        out.push({ descendant: false, selectors: [this.dotSelector()] });
      } else if (this.peek('[')) {
        out.push({ descendant: false, selectors: this.bracket() });
      } else {
        return out;
      }
    }
  }

  dotSelector(): Selector {
    if (this.eat('*')) return { t: 'wild' };
    const name = this.match(NAME);
    if (name === undefined) this.fail("expected a name or '*' after '.'");
    return { t: 'name', name };
  }

  bracket(): Selector[] {
    this.eat('[');
    const out: Selector[] = [];
    for (;;) {
      this.ws();
      out.push(this.selector());
      this.ws();
      if (this.eat(']')) return out;
      if (!this.eat(',')) this.fail("expected ',' or ']'");
    }
  }

  selector(): Selector {
    if (this.eat('*')) return { t: 'wild' };
    if (this.peek("'") || this.peek('"')) return { t: 'name', name: this.string() };
    if (this.eat('?')) {
      this.ws();
      return { t: 'filter', expr: this.nested(() => this.expr()) };
    }
    const start = this.int();
    this.ws();
    if (!this.peek(':')) {
      if (start === undefined) this.fail('expected a name in quotes, an index, a slice, * or a filter');
      return { t: 'index', index: start };
    }
    this.eat(':');
    this.ws();
    const end = this.int();
    this.ws();
    let step = 1;
    if (this.eat(':')) {
      this.ws();
      const s = this.int();
      if (s === 0) this.fail('a slice step cannot be 0');
      step = s ?? 1;
    }
    return { t: 'slice', start, end, step };
  }

  /** Bounds nesting so that a hostile path cannot exhaust the stack. */
  nested<T>(f: () => T): T {
    if (++this.depth > 32) this.fail('nested too deeply (more than 32 levels)');
    const r = f();
    this.depth--;
    return r;
  }

  int(): number | undefined {
    const m = this.match(/-?\d+/y);
    return m === undefined ? undefined : Number(m);
  }

  string(): string {
    const q = this.src[this.pos]!;
    this.pos++;
    let out = '';
    while (!this.done()) {
      const c = this.src[this.pos++]!;
      if (c === q) return out;
      if (c === '\\') {
        const n = this.src[this.pos++];
        if (n === undefined) break;
        out += n === 'n' ? '\n' : n === 't' ? '\t' : n;
      } else {
        out += c;
      }
    }
    return this.fail('unterminated string');
  }

  expr(): Expr {
    let a = this.and();
    for (;;) {
      this.ws();
      if (this.eat('||') || this.word('or')) a = { t: 'or', a, b: this.and() };
      else return a;
    }
  }
  and(): Expr {
    let a = this.not();
    for (;;) {
      this.ws();
      if (this.eat('&&') || this.word('and')) a = { t: 'and', a, b: this.not() };
      else return a;
    }
  }
  not(): Expr {
    this.ws();
    if (this.eat('!') || this.word('not')) return { t: 'not', e: this.nested(() => this.not()) };
    return this.primary();
  }
  word(w: string): boolean {
    if (!this.peek(w)) return false;
    const after = this.src[this.pos + w.length] ?? '';
    if (/[A-Za-z0-9_]/.test(after)) return false;
    this.pos += w.length;
    return true;
  }
  primary(): Expr {
    this.ws();
    if (this.eat('(')) {
      const e = this.nested(() => this.expr());
      this.ws();
      if (!this.eat(')')) this.fail("expected ')'");
      return e;
    }
    const a = this.operand();
    this.ws();
    const op = this.op();
    if (op === undefined) {
      if (a.t !== 'query') this.fail('a literal alone is not a condition; compare it with @');
      return { t: 'exists', q: a };
    }
    this.ws();
    return { t: 'cmp', op, a, b: this.operand() };
  }
  op(): CmpOp | undefined {
    for (const o of ['==', '!=', '<=', '>=', '<', '>'] as const) if (this.eat(o)) return o;
    if (this.eat('=')) return '==';
    return undefined;
  }
  operand(): Operand {
    if (this.eat('@')) return { t: 'query', root: '@', segments: this.segments(true) };
    if (this.eat('$')) return { t: 'query', root: '$', segments: this.segments(true) };
    if (this.peek("'") || this.peek('"')) return { t: 'lit', value: this.string() };
    if (this.word('true')) return { t: 'lit', value: true };
    if (this.word('false')) return { t: 'lit', value: false };
    if (this.word('null')) return { t: 'lit', value: null };
    const n = this.match(NUMBER);
    if (n !== undefined) return { t: 'lit', value: Number(n) };
    return this.fail('expected @, $, a string, a number, true, false or null');
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function children(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  if (isObject(v)) return Object.values(v);
  return [];
}

/** The node and everything below it, in document order; iterative, as bodies can nest deeply. */
function descendants(v: unknown, out: unknown[]): void {
  const stack: unknown[] = [v];
  while (stack.length > 0) {
    const n = stack.pop();
    out.push(n);
    const c = children(n);
    for (let i = c.length - 1; i >= 0; i--) stack.push(c[i]);
  }
}

function run(segments: readonly Segment[], nodes: unknown[], root: unknown): unknown[] {
  let current = nodes;
  for (const seg of segments) {
    const targets: unknown[] = [];
    if (seg.descendant) for (const n of current) descendants(n, targets);
    else targets.push(...current);
    const next: unknown[] = [];
    for (const n of targets) for (const s of seg.selectors) select(s, n, root, next);
    current = next;
  }
  return current;
}

function select(s: Selector, node: unknown, root: unknown, out: unknown[]): void {
  switch (s.t) {
    case 'name':
      if (isObject(node) && Object.hasOwn(node, s.name)) out.push(node[s.name]);
      return;
    case 'wild':
      out.push(...children(node));
      return;
    case 'index':
      if (Array.isArray(node)) {
        const i = s.index < 0 ? node.length + s.index : s.index;
        if (i >= 0 && i < node.length) out.push(node[i]);
      }
      return;
    case 'slice':
      if (Array.isArray(node)) out.push(...slice(node, s.start, s.end, s.step));
      return;
    case 'filter':
      for (const c of children(node)) if (test(s.expr, c, root)) out.push(c);
      return;
  }
}

/** Python's list slicing, which Chaos Toolkit users know. */
function slice(a: readonly unknown[], start: number | undefined, end: number | undefined, step: number): unknown[] {
  const n = a.length;
  const norm = (i: number, lo: number, hi: number) => Math.min(Math.max(i < 0 ? i + n : i, lo), hi);
  const out: unknown[] = [];
  if (step > 0) {
    const from = start === undefined ? 0 : norm(start, 0, n);
    const to = end === undefined ? n : norm(end, 0, n);
    for (let i = from; i < to; i += step) out.push(a[i]);
  } else {
    const from = start === undefined ? n - 1 : norm(start, -1, n - 1);
    const to = end === undefined ? -1 : norm(end, -1, n - 1);
    for (let i = from; i > to; i += step) out.push(a[i]);
  }
  return out;
}

const NOTHING = Symbol('nothing');

function evalOperand(o: Operand, current: unknown, root: unknown): unknown {
  if (o.t === 'lit') return o.value;
  const found = run(o.segments, [o.root === '@' ? current : root], root);
  return found.length > 0 ? found[0] : NOTHING;
}

function test(e: Expr, current: unknown, root: unknown): boolean {
  switch (e.t) {
    case 'or':
      return test(e.a, current, root) || test(e.b, current, root);
    case 'and':
      return test(e.a, current, root) && test(e.b, current, root);
    case 'not':
      return !test(e.e, current, root);
    case 'exists':
      return run(e.q.segments, [e.q.root === '@' ? current : root], root).length > 0;
    case 'cmp': {
      const a = evalOperand(e.a, current, root);
      const b = evalOperand(e.b, current, root);
      if (e.op === '==') return a !== NOTHING && b !== NOTHING && jsonEqual(a, b);
      if (e.op === '!=') return !(a !== NOTHING && b !== NOTHING && jsonEqual(a, b));
      const bothNumbers = typeof a === 'number' && typeof b === 'number';
      const bothStrings = typeof a === 'string' && typeof b === 'string';
      if (!bothNumbers && !bothStrings) return false;
      const x = a;
      const y = b;
      return e.op === '<' ? x < y : e.op === '<=' ? x <= y : e.op === '>' ? x > y : x >= y;
    }
  }
}

/**
 * Structural equality of JSON values (object key order ignored). Without recursion: both sides
 * can be a probe's output (`@.a == $.b`), which no input bound has limited.
 */
export function jsonEqual(a: unknown, b: unknown): boolean {
  const stack: [unknown, unknown][] = [[a, b]];
  while (stack.length > 0) {
    const [x, y] = stack.pop()!;
    if (x === y) continue;
    if (Array.isArray(x)) {
      if (!Array.isArray(y) || x.length !== y.length) return false;
      for (let i = 0; i < x.length; i++) stack.push([x[i], y[i]]);
      continue;
    }
    if (!isObject(x) || !isObject(y)) return false;
    const kx = Object.keys(x);
    if (kx.length !== Object.keys(y).length) return false;
    for (const k of kx) {
      if (!Object.hasOwn(y, k)) return false;
      stack.push([x[k], y[k]]);
    }
  }
  return true;
}
