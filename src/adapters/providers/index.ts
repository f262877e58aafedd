/** The providers over this machine's network stack, processes and file system. */
import type { Providers } from '../../app/experiments/runner/providers.ts';
import { fileProvider } from './file.ts';
import { httpProvider, type HttpProviderOptions } from './http.ts';
import { processProvider, type ProcessProviderOptions } from './process.ts';
import { tcpProvider, type TcpProviderOptions } from './tcp.ts';

export interface NodeProvidersOptions {
  http?: HttpProviderOptions;
  process?: ProcessProviderOptions;
  tcp?: TcpProviderOptions;
}

export function nodeProviders(opts: NodeProvidersOptions = {}): Providers {
  return {
    http: httpProvider(opts.http),
    process: processProvider(opts.process),
    tcp: tcpProvider(opts.tcp),
    file: fileProvider(),
  };
}
