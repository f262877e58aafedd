/**
 * The process allow-list as a pure rule: executables by exact path; environment variables denied
 * unless listed for that executable, and the loader and interpreter class never; arguments
 * constrained by exact lists, positional patterns or a pattern for each, matched whole; shell
 * lines judged as the `/bin/sh -c` they start; templated values left to the run at apply time.
 * The config schema refuses a dangerous variable, a bad pattern or an ambiguous entry with an
 * error naming where it is.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DANGEROUS_VARIABLES } from '../../../test/support/dangerous-variables.ts';
import { importAtomic } from './atomic.ts';
import { parseExperiment } from './experiment-file.ts';
import {
  AllowExecutablesSchema,
  commandOf,
  describeProcessRefusal,
  forbiddenVariable,
  processRefusals,
  type ExecutableEntry,
} from './process-policy.ts';
import type { ProcessProvider } from './types.ts';

const proc = (path: string, argv: string[] | string = [], env: Record<string, string> = {}): ProcessProvider => ({
  type: 'process',
  path,
  arguments: typeof argv === 'string' ? { kind: 'shell', line: argv } : { kind: 'argv', argv },
  env,
  secrets: [],
});

describe('the dangerous class', () => {
  it('is never allowed, whatever the entry lists, and says why', () => {
    for (const name of DANGEROUS_VARIABLES) {
      expect(forbiddenVariable(name), name).toEqual(expect.any(String));
      // Even an entry built by hand that lists it (the config refuses that) does not allow it.
      const entries: ExecutableEntry[] = [{ path: '/bin/true', env: [{ name }] }];
      const refusals = processRefusals(proc('/bin/true', [], { [name]: '/tmp/x.so' }), entries);
      expect(refusals, name).toEqual([expect.objectContaining({ kind: 'variable', name, reason: 'forbidden' })]);
      expect(describeProcessRefusal(refusals[0]!, entries)).toMatch(
        new RegExp(
          `^sets environment variable ${name} for /bin/true, which experiments\\.allowExecutables can never allow \\(.+\\); remove it from env$`,
        ),
      );
    }
  });

  it('is matched whatever the case', () => {
    expect(forbiddenVariable('ld_preload')).toBeDefined();
    expect(forbiddenVariable('Path')).toBeDefined();
    expect(forbiddenVariable('node_options')).toBeDefined();
  });

  it('leaves ordinary variables to the allow-list', () => {
    for (const name of ['HTTPS_PROXY', 'NO_PROXY', 'TARGET_URL', 'LANG', 'TZ', 'TMPDIR', 'X'])
      expect(forbiddenVariable(name), name).toBeUndefined();
  });
});

describe('environment variables: deny by default', () => {
  const entries: ExecutableEntry[] = [
    '/bin/true',
    { path: '/usr/bin/curl', env: [{ name: 'HTTPS_PROXY', pattern: 'http://127\\.0\\.0\\.1:\\d+' }, { name: 'NO_PROXY' }] },
  ];

  it('refuses any variable on a plain-path entry', () => {
    const r = processRefusals(proc('/bin/true', [], { FOO: 'bar' }), entries);
    expect(r).toEqual([{ kind: 'variable', executable: '/bin/true', name: 'FOO', reason: 'not-listed' }]);
    expect(describeProcessRefusal(r[0]!, entries)).toBe(
      "sets environment variable FOO for /bin/true, which experiments.allowExecutables does not allow for it (allowed: none); add FOO to the env of /bin/true's entry in experiments.allowExecutables in the server's config and restart, or remove it from env",
    );
  });

  it('allows a listed variable, with its value matched whole against its pattern', () => {
    expect(processRefusals(proc('/usr/bin/curl', [], { NO_PROXY: 'anything' }), entries)).toEqual([]);
    expect(processRefusals(proc('/usr/bin/curl', [], { HTTPS_PROXY: 'http://127.0.0.1:3128' }), entries)).toEqual([]);
    for (const value of ['http://127.0.0.1:3128/x', 'xhttp://127.0.0.1:3128', 'http://127.0.0.1:3128\n', 'http://10.0.0.1:3128']) {
      const r = processRefusals(proc('/usr/bin/curl', [], { HTTPS_PROXY: value }), entries);
      expect(r, value).toEqual([
        { kind: 'value', executable: '/usr/bin/curl', name: 'HTTPS_PROXY', pattern: 'http://127\\.0\\.0\\.1:\\d+' },
      ]);
      // The value itself is not quoted: it may be a secret.
      expect(describeProcessRefusal(r[0]!, entries)).not.toContain(value);
    }
  });

  it('allows a variable for the executable it is listed for only', () => {
    expect(processRefusals(proc('/bin/true', [], { NO_PROXY: 'x' }), entries)).toEqual([expect.objectContaining({ reason: 'not-listed' })]);
    // Names are exact: case matters on Linux, so `no_proxy` is another variable.
    expect(processRefusals(proc('/usr/bin/curl', [], { no_proxy: 'x' }), entries)).toEqual([
      expect.objectContaining({ name: 'no_proxy', reason: 'not-listed' }),
    ]);
  });

  it('refuses a name that would set another variable than the one it names', () => {
    const all: ExecutableEntry[] = [{ path: '/bin/true', env: [{ name: 'A' }] }];
    for (const name of ['A=LD_PRELOAD', 'LD_PRELOAD=/tmp/x.so:', '', 'A B', '1A', 'A\u0000B']) {
      expect(processRefusals(proc('/bin/true', [], { [name]: 'x' }), all), name).toEqual([
        expect.objectContaining({ reason: 'invalid-name' }),
      ]);
    }
  });

  it('property: any variable name not listed for the executable is refused', () => {
    const listed = ['HTTPS_PROXY', 'NO_PROXY'];
    const rules: ExecutableEntry[] = [{ path: '/usr/bin/curl', env: listed.map((name) => ({ name })) }, '/bin/true'];
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,20}$/), fc.constantFrom(...DANGEROUS_VARIABLES)),
        fc.string(),
        fc.constantFrom('/usr/bin/curl', '/bin/true'),
        (name, value, exe) => {
          fc.pre(!(exe === '/usr/bin/curl' && listed.includes(name)));
          const r = processRefusals(proc(exe, [], { [name]: value }), rules);
          expect(r).toHaveLength(1);
          expect(r[0]).toMatchObject({ kind: 'variable', name });
          expect(describeProcessRefusal(r[0]!, rules)).toContain('experiments.allowExecutables');
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('arguments', () => {
  const entries: ExecutableEntry[] = [
    '/usr/bin/any',
    {
      path: '/usr/bin/curl',
      env: [],
      args: [{ exact: ['-sS', 'http://127.0.0.1:8080/health'] }, { patterns: ['-sS', 'https?://127\\.0\\.0\\.1(:\\d+)?/.*'] }],
    },
    { path: '/bin/echo', env: [], args: [{ each: '[a-z]+' }] },
    { path: '/bin/false', env: [], args: [{ exact: [] }] },
  ];
  const ok = (exe: string, argv: string[]) => expect(processRefusals(proc(exe, argv), entries), JSON.stringify(argv)).toEqual([]);
  const refused = (exe: string, argv: string[]) => {
    const r = processRefusals(proc(exe, argv), entries);
    expect(r, JSON.stringify(argv)).toEqual([expect.objectContaining({ kind: 'arguments', executable: exe, argv })]);
    return describeProcessRefusal(r[0]!, entries);
  };

  it('are free when the entry declares no constraint', () => {
    ok('/usr/bin/any', []);
    ok('/usr/bin/any', ['--anything', '-rf', '/']);
  });

  it('exact: the same list', () => {
    ok('/usr/bin/curl', ['-sS', 'http://127.0.0.1:8080/health']);
    ok('/bin/false', []);
    refused('/bin/false', ['x']);
  });

  it('patterns: as many arguments, each matching its own pattern whole', () => {
    ok('/usr/bin/curl', ['-sS', 'http://127.0.0.1/']);
    ok('/usr/bin/curl', ['-sS', 'https://127.0.0.1:9/a/b?c']);
    const msg = refused('/usr/bin/curl', ['-sS', 'http://127.0.0.1.evil.example/']);
    expect(msg).toContain('argument 2 "http://127.0.0.1.evil.example/" does not match the pattern');
    expect(msg).toContain("add a rule to args of /usr/bin/curl's entry in the server's config and restart");
    expect(msg).toContain('experiments.allowExecutables');
    // Anchored at both ends: a prefix or a suffix around an allowed value is not allowed.
    refused('/usr/bin/curl', ['x-sS', 'http://127.0.0.1/']);
    refused('/usr/bin/curl', ['-sS', 'ftp://x http://127.0.0.1/']);
    // One more argument (say, a config file) is not allowed either.
    expect(refused('/usr/bin/curl', ['-sS', 'http://127.0.0.1/', '-K', '/tmp/evil'])).toContain('4 arguments where patterns');
    refused('/usr/bin/curl', ['-sS']);
  });

  it('each: every argument matches, any count', () => {
    ok('/bin/echo', []);
    ok('/bin/echo', ['hello', 'world']);
    expect(refused('/bin/echo', ['hello', 'World'])).toContain('argument 2 "World" does not match the pattern "[a-z]+" (each)');
    refused('/bin/echo', ['hello\nworld']);
  });

  it('a pattern with alternatives is anchored as a whole', () => {
    const alt: ExecutableEntry[] = [{ path: '/bin/echo', env: [], args: [{ each: 'a|b' }] }];
    expect(processRefusals(proc('/bin/echo', ['a', 'b']), alt)).toEqual([]);
    expect(processRefusals(proc('/bin/echo', ['ax']), alt)).toHaveLength(1);
    expect(processRefusals(proc('/bin/echo', ['xb']), alt)).toHaveLength(1);
  });

  it('shell lines are judged as the /bin/sh -c they start', () => {
    expect(commandOf(proc('echo', 'hello'))).toEqual({ file: '/bin/sh', argv: ['-c', 'echo hello'] });
    expect(processRefusals(proc('/bin/true', '--version'), ['/bin/true'])).toEqual([{ kind: 'executable', executable: '/bin/sh' }]);
    expect(processRefusals(proc('/bin/true', '--version'), ['/bin/sh'])).toEqual([]);
    const sh: ExecutableEntry[] = [{ path: '/bin/sh', env: [{ name: 'X' }], args: [{ exact: ['-c', 'echo "$X"'] }] }];
    expect(processRefusals(proc('echo', '"$X"', { X: '1' }), sh)).toEqual([]);
    expect(processRefusals(proc('/bin/sh', ['-c', 'echo "$X"'], { X: '1' }), sh)).toEqual([]);
    expect(processRefusals(proc('echo', '"$X"; id', { X: '1' }), sh)).toEqual([
      expect.objectContaining({ kind: 'arguments', argv: ['-c', 'echo "$X"; id'] }),
    ]);
  });
});

describe('templates at apply time', () => {
  const entries: ExecutableEntry[] = [
    { path: '/usr/bin/curl', env: [{ name: 'HTTPS_PROXY', pattern: 'http://127\\.0\\.0\\.1:\\d+' }], args: [{ exact: ['-sS'] }] },
  ];
  const defer = { deferTemplates: true };

  it('judges a templated value, argument or executable once resolved, but a variable name always', () => {
    expect(processRefusals(proc('${exe}', ['x'], { FOO: 'y' }), entries, defer)).toEqual([]);
    expect(processRefusals(proc('/usr/bin/curl', ['${url}'], { HTTPS_PROXY: '${proxy}' }), entries, defer)).toEqual([]);
    expect(processRefusals(proc('/usr/bin/curl', ['-sS'], { LD_PRELOAD: '${lib}' }), entries, defer)).toEqual([
      expect.objectContaining({ name: 'LD_PRELOAD', reason: 'forbidden' }),
    ]);
    expect(processRefusals(proc('/usr/bin/curl', ['-sS'], { FOO: '${foo}' }), entries, defer)).toEqual([
      expect.objectContaining({ name: 'FOO', reason: 'not-listed' }),
    ]);
    // Without deferral (the runner, on the resolved file), nothing is skipped.
    expect(processRefusals(proc('/usr/bin/curl', ['${url}'], { HTTPS_PROXY: '${proxy}' }), entries)).toHaveLength(2);
  });
});

describe('Atomic Red Team imports', () => {
  const atomic = `attack_technique: T1082
display_name: System Information Discovery
atomic_tests:
- name: List OS information
  supported_platforms: [linux]
  executor:
    name: sh
    command: |
      uname -a
`;
  it('become process providers judged by the same rule (/bin/sh -c SCRIPT)', () => {
    const r = importAtomic(atomic);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const parsed = parseExperiment(r.experiments[0]!.text);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    const step = parsed.experiment.method[0]!;
    const p = ('ref' in step ? step.activity : step).provider as ProcessProvider;
    expect(commandOf(p)).toEqual({ file: '/bin/sh', argv: ['-c', expect.stringContaining('uname -a')] });
    expect(processRefusals(p, ['/bin/true'])).toEqual([{ kind: 'executable', executable: '/bin/sh' }]);
    expect(processRefusals(p, [{ path: '/bin/sh', env: [], args: [{ exact: ['-c', 'id'] }] }])).toEqual([
      expect.objectContaining({ kind: 'arguments' }),
    ]);
    expect(processRefusals(p, [{ path: '/bin/sh', env: [], args: [{ patterns: ['-c', 'uname -a\\n?'] }] }])).toEqual([]);
  });
});

describe('the config schema', () => {
  const parse = (v: unknown) => AllowExecutablesSchema.safeParse(v);
  const issues = (v: unknown) => {
    const r = parse(v);
    expect(r.success).toBe(false);
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };

  it('keeps plain paths as they are and reads rules', () => {
    const r = parse([
      '/bin/true',
      {
        path: '/usr/bin/curl',
        env: ['HTTPS_PROXY', { name: 'NO_PROXY', pattern: '127\\.0\\.0\\.1' }],
        args: [{ exact: ['-sS', 1] }, { each: '.*' }],
      },
      { path: '/bin/sh', args: [{ patterns: ['-c', 'echo [a-z]+'] }] },
    ]);
    expect(r.success).toBe(true);
    expect(r.data).toEqual([
      '/bin/true',
      {
        path: '/usr/bin/curl',
        env: [{ name: 'HTTPS_PROXY' }, { name: 'NO_PROXY', pattern: '127\\.0\\.0\\.1' }],
        args: [{ exact: ['-sS', '1'] }, { each: '.*' }],
      },
      { path: '/bin/sh', env: [], args: [{ patterns: ['-c', 'echo [a-z]+'] }] },
    ]);
    expect(Object.isFrozen(r.data)).toBe(true);
    expect(Object.isFrozen((r.data![1] as { env: object }).env)).toBe(true);
  });

  it('refuses a dangerous variable, saying why', () => {
    for (const name of ['LD_PRELOAD', 'PATH', 'NODE_OPTIONS', 'BASH_ENV', 'PYTHONPATH', 'GIT_SSH_COMMAND', 'BULWARK_RUN']) {
      expect(issues([{ path: '/bin/true', env: [name] }]), name).toEqual([
        expect.stringMatching(new RegExp(`^0\\.env\\.0: ${name} can never be allowed: .+; remove it$`)),
      ]);
      expect(issues([{ path: '/bin/true', env: [{ name }] }]), name).toEqual([expect.stringMatching(/^0\.env\.0\.name: /)]);
    }
  });

  it('says where each other mistake is', () => {
    expect(issues(['bin/true'])).toEqual(['0: must be an absolute path']);
    expect(issues([true])).toEqual(['0: must be an absolute path, or a mapping {path, env, args}']);
    expect(issues([{ env: [] }])).toEqual(['0.path: must be an absolute path']);
    expect(issues([{ path: '/bin/true', cwd: '/' }])).toEqual(["0.cwd: unknown key 'cwd'; an executable has path, env, args"]);
    expect(issues([{ path: '/bin/true', env: 'FOO' }])).toEqual(['0.env: must be a list of variable names (or {name, pattern})']);
    expect(issues([{ path: '/bin/true', env: ['A=B'] }])).toEqual([
      '0.env.0: must be a variable name: letters, digits and _, not starting with a digit',
    ]);
    expect(issues([{ path: '/bin/true', env: ['A', 'A'] }])).toEqual(['0.env.1: A is listed twice']);
    expect(issues([{ path: '/bin/true', env: [{ name: 'A', pattern: '(' }] }])).toEqual([
      expect.stringMatching(/^0\.env\.0\.pattern: is not a valid regular expression: /),
    ]);
    expect(issues([{ path: '/bin/true', args: [] }])).toEqual([
      expect.stringMatching(/^0\.args: must be a non-empty list of argument rules/),
    ]);
    expect(issues([{ path: '/bin/true', args: [['-v']] }])).toEqual([expect.stringMatching(/^0\.args\.0: must be one of \{exact: /)]);
    expect(issues([{ path: '/bin/true', args: [{ exact: ['-v'], each: '.*' }] }])).toEqual([
      expect.stringMatching(/^0\.args\.0: must be one of/),
    ]);
    expect(issues([{ path: '/bin/true', args: [{ patterns: ['ok', 'a)|(b'] }] }])).toEqual([
      expect.stringMatching(/^0\.args\.0\.patterns\.1: is not a valid regular expression/),
    ]);
    expect(issues([{ path: '/bin/true', args: [{ exact: [{}] }] }])).toEqual(['0.args.0.exact.0: must be a string']);
    expect(issues(['/bin/true', { path: '/bin/true', env: ['A'] }])).toEqual(['1: /bin/true is listed twice; give it one entry']);
  });
});
