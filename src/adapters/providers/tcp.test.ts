import { once } from 'node:events';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { ProviderContext } from '../../app/experiments/runner/providers.ts';
import { freePort } from '../../../test/support/tmp.ts';
import { tcpProvider } from './tcp.ts';

const ctx = (): ProviderContext => ({ runId: 'abcdefgh12345678', signal: new AbortController().signal, sent: () => {} });

describe('tcp provider', () => {
  const run = tcpProvider({ idleMs: 100 });

  it('connects, sends and reads the reply', async () => {
    const server = net.createServer((s) => s.on('data', (d: Buffer) => s.end(`echo:${d.toString()}`)));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as net.AddressInfo).port;
    try {
      const r = await run({ type: 'tcp', operation: 'connect', host: '127.0.0.1', port, send: 'PING' }, ctx());
      expect(r).toMatchObject({ operation: 'connect', connected: true, received: 'echo:PING' });
    } finally {
      server.close();
    }
  });

  it('reports a closed port as a result, not a failure', async () => {
    const port = await freePort();
    const r = await run({ type: 'tcp', operation: 'connect', host: '127.0.0.1', port, timeoutMs: 1000 }, ctx());
    expect(r).toMatchObject({ connected: false, error: 'ECONNREFUSED' });
  });

  it('listens for the timeout and counts who connected', async () => {
    const port = await freePort();
    const p = run({ type: 'tcp', operation: 'listen', host: '127.0.0.1', port, timeoutMs: 400 }, ctx());
    await sleep(100);
    const c = net.connect({ host: '127.0.0.1', port });
    await once(c, 'connect');
    c.end('hello');
    const r = await p;
    expect(r).toMatchObject({ operation: 'listen', port, connections: 1, received: 'hello' });
  });
});
