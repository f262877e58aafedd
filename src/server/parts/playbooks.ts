/**
 * Playbooks in the server: the engine (offered to `bulwark serve`'s job as the `playbooks`
 * service, which drives it), and the routes, which nudge it when a person or a start made work.
 */
import { PlaybookEngine } from '../../app/playbooks/engine.ts';
import { fetchTransport, type HttpTransport } from '../../app/playbooks/transport.ts';
import { systemRandom } from '../../app/deps.ts';
import { EMPTY_SERVER_POLICY } from '../../app/experiments/server-policy.ts';
import { processProvider } from '../../adapters/providers/process.ts';
import { playbookRoutes } from '../routes/playbooks.ts';
import { service as serviceOf, type ServerPart } from '../server-part.ts';

export interface PlaybookService {
  engine: PlaybookEngine;
  /** Ask the driver (the serve job) to tick soon; nothing until one is attached. */
  kick(): void;
  /** The serve job attaches its tick here. */
  onKick(fn: () => void): void;
}

declare module '../server-part.ts' {
  interface ServerOptions {
    playbooks?: {
      /** How http and notify steps are sent (default: fetch). */
      transport?: HttpTransport;
    };
  }
  interface Services {
    playbooks: PlaybookService;
  }
}

export const playbooksServer: ServerPart = (ctx) => {
  const allowExecutables = (ctx.options.experiments?.policy ?? EMPTY_SERVER_POLICY).allowExecutables;
  const engine = new PlaybookEngine(ctx.deps, {
    transport: ctx.options.playbooks?.transport ?? fetchTransport,
    random: systemRandom,
    // Access is listed before playbooks (src/capabilities/index.ts): approval steps ask it.
    approvals: serviceOf(ctx, 'approvals', 'playbooks'),
    // Sealed secrets named by steps, opened when the step is executed (Access, listed before).
    ...(ctx.services.secrets ? { secrets: ctx.services.secrets } : {}),
    // process steps: the experiments' allow-list and process provider, as an experiment's process.
    process: {
      allowExecutables,
      run: ctx.options.experiments?.providers?.process ?? processProvider(),
    },
    // run-experiment steps: the experiments' run manager (experiments is listed before playbooks).
    ...(ctx.services.experiments ? { experiments: ctx.services.experiments } : {}),
    onError: (err, run) => ctx.log.error({ err, run }, 'playbook run failed to advance'),
  });
  let listener: (() => void) | undefined;
  const service: PlaybookService = {
    engine,
    kick: () => listener?.(),
    onKick: (fn) => {
      listener = fn;
    },
  };
  ctx.services.playbooks = service;
  playbookRoutes(ctx.app, ctx.routes, ctx.deps, { kick: () => service.kick(), allowExecutables });
};
