/**
 * The provider port: how the runner reaches the outside world (HTTP, processes, sockets, files).
 * Implementations live in adapters/providers/; tests use them as they are, over loopback. The
 * python provider has no implementation: files that use it are refused before the run.
 */
import type { FileProvider, HttpProvider, ProcessProvider, Provider, TcpProvider } from '../../../core/experiments/types.ts';

export interface ProviderContext {
  /** The run id, carried into what is sent (header, user agent, environment). */
  runId: string;
  /** Aborts the activity: the request is cancelled, the process killed, the socket closed. */
  signal: AbortSignal;
  /**
   * Called by the provider at the moment the fault leaves Bulwark (the request is written, the
   * process started, the file renamed into place): the runner reads its clock then, and that is
   * the injection time that time to detect is measured from. Providers that cannot tell leave it
   * to the runner (activity start).
   */
  sent(): void;
}

/** `{status, headers, body}`: Chaos Toolkit's shape, so tolerances written for it apply unchanged. */
export interface HttpResult {
  status: number;
  headers: Record<string, string>;
  /** Parsed JSON when the response says it is JSON, text otherwise; cut at the body limit. */
  body: unknown;
}

/** `{status, stdout, stderr}`: status is the exit code, or minus the signal number when killed. */
export interface ProcessResult {
  status: number;
  stdout: string;
  stderr: string;
}

export interface TcpResult {
  operation: 'connect' | 'listen';
  host: string;
  port: number;
  /** connect: whether the connection was accepted. */
  connected?: boolean;
  /** connect: why not (ECONNREFUSED, ETIMEDOUT …). */
  error?: string;
  /** connect: what the peer sent back (bounded); listen: what the clients sent (bounded). */
  received: string;
  /** listen: how many connections arrived while listening. */
  connections?: number;
  elapsedMs: number;
}

export interface FileResult {
  operation: FileProvider['operation'];
  path: string;
  /** Whether the file was changed (a restore without a backup changes nothing). */
  changed: boolean;
  backup?: string;
  note?: string;
}

export type ProviderResult = HttpResult | ProcessResult | TcpResult | FileResult;

export interface Providers {
  http(p: HttpProvider, ctx: ProviderContext): Promise<HttpResult>;
  process(p: ProcessProvider, ctx: ProviderContext): Promise<ProcessResult>;
  tcp(p: TcpProvider, ctx: ProviderContext): Promise<TcpResult>;
  file(p: FileProvider, ctx: ProviderContext): Promise<FileResult>;
}

/** Thrown by a provider when the activity failed (Chaos Toolkit's ActivityFailed). */
export class ActivityFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ActivityFailed';
  }
}

/** Run one provider through the port. */
export function runProvider(providers: Providers, p: Provider, ctx: ProviderContext): Promise<ProviderResult> {
  switch (p.type) {
    case 'http':
      return providers.http(p, ctx);
    case 'process':
      return providers.process(p, ctx);
    case 'tcp':
      return providers.tcp(p, ctx);
    case 'file':
      return providers.file(p, ctx);
    case 'python':
      // Refused before the run (unsupportedActivities); reaching here is a programmer mistake.
      return Promise.reject(new Error(p.unsupported));
  }
}
