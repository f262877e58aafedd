/**
 * A real WAF for tests: nginx with ModSecurity v3 and the OWASP Core Rule Set (Debian's
 * packages), as a reverse proxy in front of a loopback upstream, writing ModSecurity's JSON audit
 * log (one object per line) where a tailer or a test can read it.
 *
 *   const waf = await startWafProxy({ upstreamPort, ruleEngine: 'On' });
 *   await fetch(`${waf.url}/?id=1'%20OR%20'1'='1`, { headers: { 'X-Bulwark-Run': runId } }); // 403
 *   const [line] = await waf.waitForAuditLines((e) => e.transaction.response.http_code === 403);
 *   await waf.stop();
 *
 * What ends up in the audit log (SecAuditEngine RelevantOnly, checked with CRS 3.3.4):
 * - `On`: every request a rule matched (CRS's default action is `log,auditlog`), blocked (403) or
 *   not, and every response with a 4xx other than 404 or a 5xx. A numeric Host header (as any
 *   client sends to `http://127.0.0.1:PORT`) matches rule 920350 (3 points, below the blocking
 *   threshold of 5), so a harmless request through `url` is logged too, with http_code 200.
 * - `DetectionOnly`: the same matches are logged, nothing is blocked (http_code is the upstream's).
 * - `Off`: ModSecurity is not consulted at all: nothing is blocked and nothing is logged, not even
 *   a 5xx from the upstream.
 *
 * Each instance has its own prefix directory (config, pid file, logs, temp paths) under the OS temp
 * directory, listens on a free loopback port and runs its workers as `nobody` when started as root.
 * `stop()` sends SIGQUIT (graceful shutdown) to the master by pid, waits for it, then removes the
 * directory. Instances a killed test run left behind are stopped at the next start.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, chown, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { killPid, markOwned, pidFromFile, reapOrphans, stopPid } from './processes.ts';
import { freePort, tmpDir } from './tmp.ts';

export const NGINX_BIN = '/usr/sbin/nginx';
export const MODSECURITY_MODULE = '/usr/lib/nginx/modules/ngx_http_modsecurity_module.so';
/** Debian's recommended ModSecurity configuration (SecRuleEngine DetectionOnly, which we override). */
export const MODSECURITY_CONF = '/etc/nginx/modsecurity.conf';
export const CRS_SETUP = '/etc/modsecurity/crs/crs-setup.conf';
export const CRS_RULES_DIR = '/usr/share/modsecurity-crs/rules';
const CRS_EXCLUSIONS_BEFORE = '/etc/modsecurity/crs/REQUEST-900-EXCLUSION-RULES-BEFORE-CRS.conf';
const CRS_EXCLUSIONS_AFTER = '/etc/modsecurity/crs/RESPONSE-999-EXCLUSION-RULES-AFTER-CRS.conf';

export const skipReasonWaf =
  'nginx with ModSecurity and the OWASP CRS not found: apt-get install nginx libnginx-mod-http-modsecurity modsecurity-crs';

/** A path nginx answers itself, without ModSecurity and without an access log line: the readiness probe. */
export const WAF_READY_PATH = '/__bulwark_ready';

const DIR_PREFIX = 'bulwark-nginx-';
/** A failed fetch's reason: undici puts the useful part (ECONNREFUSED, …) in `cause`. */
const why = (e: unknown): string => {
  const cause = e instanceof Error ? e.cause : undefined;
  return cause instanceof Error ? cause.message : e instanceof Error ? e.message : String(e);
};

/** The files the harness needs that are missing; empty when everything is installed. */
export function wafMissing(): string[] {
  const needed = [
    NGINX_BIN,
    MODSECURITY_MODULE,
    MODSECURITY_CONF,
    CRS_SETUP,
    path.join(CRS_RULES_DIR, 'REQUEST-942-APPLICATION-ATTACK-SQLI.conf'),
  ];
  return needed.filter((p) => !existsSync(p));
}

/**
 * For `describe.skipIf(!wafAvailable())`. Outside CI a missing package skips (with a warning that
 * says what to install); under CI=true it throws, so the tests of the real WAF cannot go quietly missing.
 */
export function wafAvailable(): boolean {
  const missing = wafMissing();
  if (missing.length === 0) return true;
  const reason = `${skipReasonWaf} (missing: ${missing.join(', ')})`;
  if (process.env.CI === 'true') throw new Error(`${reason}. CI=true: the WAF tests may not be skipped`);
  console.warn(`[nginx] ${reason}. WAF tests are skipped.`);
  return false;
}

export type RuleEngine = 'On' | 'Off' | 'DetectionOnly';

export interface WafProxyOptions {
  /** The loopback port of the service the WAF protects. */
  upstreamPort: number;
  /** SecRuleEngine: `On` blocks, `DetectionOnly` logs without blocking, `Off` does nothing. */
  ruleEngine: RuleEngine;
  /** CRS paranoia level (tx.paranoia_level), 1 by default. */
  paranoiaLevel?: 1 | 2 | 3 | 4;
  /** ModSecurity directives appended after the CRS (rule exclusions, a custom rule). */
  extraRules?: string;
  /** How long to wait for nginx to answer, 15 s by default. */
  startTimeoutMs?: number;
}

/** One line of the JSON audit log, parsed; only the fields the tests read are typed. */
export interface ModSecAuditEntry {
  transaction: {
    unique_id: string;
    time_stamp: string;
    request: { method: string; uri: string; headers: Record<string, string> };
    response: { http_code: number; headers?: Record<string, string> };
    messages?: { message: string; details: { ruleId: string; severity: string; tags: string[]; match: string } }[];
  };
}

export interface WafProxy {
  /** `http://127.0.0.1:PORT`: requests here go through ModSecurity to the upstream. */
  url: string;
  port: number;
  /** The nginx master's pid. */
  pid: number;
  ruleEngine: RuleEngine;
  /** The instance's prefix directory (removed by stop()). */
  dir: string;
  /** ModSecurity's JSON audit log: one JSON object per line, appended when a transaction ends. */
  auditLogPath: string;
  /** nginx's access log, `combined` format. */
  accessLogPath: string;
  errorLogPath: string;
  /** The complete lines of the audit log so far (a half-written last line is left out). */
  auditLines(): Promise<string[]>;
  /**
   * Wait until `count` audit lines (default 1) satisfy `match` and return them (all matching lines,
   * in file order); throws after `timeoutMs` (default 5 s) with what the log holds. ModSecurity
   * writes the entry in the logging phase, which can end after the client has its response.
   */
  waitForAuditLines(
    match?: (entry: ModSecAuditEntry, line: string) => boolean,
    opts?: { count?: number; timeoutMs?: number },
  ): Promise<string[]>;
  /** The last lines of the error log, for failure messages. */
  errorLogTail(lines?: number): string;
  /** SIGQUIT to the master, wait for it to exit (SIGKILL to its process group after 10 s), remove the directory. Idempotent. */
  stop(): Promise<void>;
}

/** Start nginx + ModSecurity + CRS in front of `http://127.0.0.1:upstreamPort` and wait until it answers. */
export async function startWafProxy(opts: WafProxyOptions): Promise<WafProxy> {
  const missing = wafMissing();
  if (missing.length > 0) throw new Error(`${skipReasonWaf} (missing: ${missing.join(', ')})`);
  if (!Number.isInteger(opts.upstreamPort) || opts.upstreamPort <= 0 || opts.upstreamPort > 65535) {
    throw new Error(`upstreamPort must be a TCP port, got ${opts.upstreamPort}`);
  }
  reapOrphanWafs();
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(opts, await freePort());
    } catch (e) {
      lastError = e;
      if (!(e instanceof PortTaken)) throw e;
    }
  }
  throw lastError;
}

class PortTaken extends Error {}

async function startOnce(opts: WafProxyOptions, port: number): Promise<WafProxy> {
  const dir = await tmpDir(DIR_PREFIX);
  const d = dir.path;
  const logs = path.join(d, 'logs');
  const temp = path.join(d, 'temp');
  const auditLogPath = path.join(logs, 'modsec_audit.json');
  const accessLogPath = path.join(logs, 'access.log');
  const errorLogPath = path.join(logs, 'error.log');
  const modsecTmp = path.join(temp, 'modsec');
  const modsecData = path.join(temp, 'modsec-data');
  const tempPaths = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((n) => path.join(temp, n));
  for (const p of [logs, temp, modsecTmp, modsecData, ...tempPaths]) await mkdir(p, { recursive: true });
  markOwned(d);

  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    // Workers run as nobody: they traverse the prefix (mkdtemp makes it 0700) and write logs and temp files.
    await chmod(d, 0o755);
    const nobody = { uid: 65534, gid: 65534 };
    for (const p of [logs, temp, modsecTmp, modsecData, ...tempPaths]) await chown(p, nobody.uid, nobody.gid);
  }

  const modsecConf = path.join(d, 'modsec-main.conf');
  await writeFile(
    modsecConf,
    [
      `Include ${MODSECURITY_CONF}`,
      `SecRuleEngine ${opts.ruleEngine}`,
      'SecAuditEngine RelevantOnly',
      'SecAuditLogType Serial',
      'SecAuditLogFormat JSON',
      'SecAuditLogParts ABHZ',
      `SecAuditLog ${auditLogPath}`,
      `SecTmpDir ${modsecTmp}`,
      `SecDataDir ${modsecData}`,
      `SecAction "id:900000,phase:1,nolog,pass,t:none,setvar:tx.paranoia_level=${opts.paranoiaLevel ?? 1}"`,
      `Include ${CRS_SETUP}`,
      existsSync(CRS_EXCLUSIONS_BEFORE) ? `Include ${CRS_EXCLUSIONS_BEFORE}` : '',
      `Include ${CRS_RULES_DIR}/*.conf`,
      existsSync(CRS_EXCLUSIONS_AFTER) ? `Include ${CRS_EXCLUSIONS_AFTER}` : '',
      opts.extraRules ?? '',
      '',
    ].join('\n'),
  );

  const [clientBody, proxy, fastcgi, uwsgi, scgi] = tempPaths;
  const conf = path.join(d, 'nginx.conf');
  await writeFile(
    conf,
    `load_module ${MODSECURITY_MODULE};
daemon off;
master_process on;
worker_processes 1;
${asRoot ? 'user nobody nogroup;' : ''}
pid ${path.join(d, 'nginx.pid')};
error_log ${errorLogPath} notice;

events {
  worker_connections 512;
}

http {
  access_log ${accessLogPath} combined;
  client_body_temp_path ${clientBody};
  proxy_temp_path ${proxy};
  fastcgi_temp_path ${fastcgi};
  uwsgi_temp_path ${uwsgi};
  scgi_temp_path ${scgi};

  server {
    listen 127.0.0.1:${port};
    server_name _;
    modsecurity on;
    modsecurity_rules_file ${modsecConf};

    location = ${WAF_READY_PATH} {
      modsecurity off;
      access_log off;
      return 204;
    }

    location / {
      proxy_pass http://127.0.0.1:${opts.upstreamPort};
    }
  }
}
`,
  );

  // detached: a process group of its own, so a last-resort SIGKILL reaches the workers too.
  const child = spawn(NGINX_BIN, ['-p', `${d}/`, '-c', conf, '-e', errorLogPath], {
    cwd: d,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  const keep = (s: string) => (s.length > 64 * 1024 ? s.slice(-64 * 1024) : s);
  child.stdout.setEncoding('utf8').on('data', (s: string) => (output = keep(output + s)));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (output = keep(output + s)));
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolve();
    });
  });
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  const pid = child.pid;
  if (pid === undefined) {
    await dir.cleanup();
    throw new Error(`could not spawn ${NGINX_BIN}: ${String(await spawnError)}`);
  }
  const onExit = () => killGroup(pid);
  process.once('exit', onExit);

  const errorLogTail = (lines = 30) => tail(errorLogPath, lines);
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      if (!exited) await stopPid(pid, exit, 'SIGQUIT', 10_000, () => killGroup(pid));
      process.off('exit', onExit);
      await dir.cleanup();
    })());

  const url = `http://127.0.0.1:${port}`;
  const describeFailure = () => `--- nginx output ---\n${output.trim()}\n--- error log ---\n${errorLogTail()}`;
  const deadline = Date.now() + (opts.startTimeoutMs ?? 15_000);
  let last = 'no answer yet';
  try {
    for (;;) {
      if (exited) {
        const text = `${output}\n${errorLogTail()}`;
        if (/Address already in use/.test(text)) throw new PortTaken(`port ${port} was taken`);
        throw new Error(`nginx exited (${exited.code ?? exited.signal}) before answering\n${describeFailure()}`);
      }
      if (Date.now() > deadline)
        throw new Error(`nginx did not answer ${url}${WAF_READY_PATH} in time (last: ${last})\n${describeFailure()}`);
      try {
        const res = await fetch(`${url}${WAF_READY_PATH}`, { signal: AbortSignal.timeout(1000) });
        await res.arrayBuffer();
        if (res.status === 204) break;
        last = `status ${res.status}`;
      } catch (e) {
        last = why(e);
      }
      await sleep(50);
    }
  } catch (e) {
    await stop();
    throw e;
  }

  const auditLines = async (): Promise<string[]> => {
    let text: string;
    try {
      text = await readFile(auditLogPath, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    const lines = text.split('\n');
    lines.pop(); // '' after the last newline, or a line still being written
    return lines.filter((l) => l.trim() !== '');
  };

  const waitForAuditLines: WafProxy['waitForAuditLines'] = async (match = () => true, o = {}) => {
    const count = o.count ?? 1;
    const deadline = Date.now() + (o.timeoutMs ?? 5000);
    for (;;) {
      const lines = await auditLines();
      const hits = lines.filter((l) => {
        try {
          return match(JSON.parse(l) as ModSecAuditEntry, l);
        } catch {
          return false;
        }
      });
      if (hits.length >= count) return hits;
      if (Date.now() > deadline) {
        throw new Error(
          `the audit log has ${hits.length} of ${count} matching lines after ${o.timeoutMs ?? 5000} ms (${lines.length} lines in all)\n` +
            lines.map((l) => l.slice(0, 400)).join('\n'),
        );
      }
      await sleep(25);
    }
  };

  return {
    url,
    port,
    pid,
    ruleEngine: opts.ruleEngine,
    dir: d,
    auditLogPath,
    accessLogPath,
    errorLogPath,
    auditLines,
    waitForAuditLines,
    errorLogTail,
    stop,
  };
}

function killGroup(pid: number): void {
  for (const target of [-pid, pid]) killPid(target, 'SIGKILL');
}

function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no error log)';
  }
}

/** Instances of a test process that died without stopping them: their master still runs from our prefix. */
function reapOrphanWafs(): void {
  reapOrphans(DIR_PREFIX, (dir) => {
    const pid = pidFromFile(path.join(dir, 'nginx.pid'), dir);
    if (pid !== undefined) killGroup(pid);
  });
}
