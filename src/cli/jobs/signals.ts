/** Signals' job in `bulwark serve`: follow the configured log files into the same ingest as the routes. */
import { startLogTailer } from '../../adapters/log-tailer.ts';
import type { JobsPart } from '../jobs-part.ts';

export const signalsJobs: JobsPart = async ({ config, deps, server, logger }) => {
  // Log files feed the same ingest (and its group commit) as the HTTP routes.
  const tailer = startLogTailer({
    files: config.signals.files,
    ingest: server.signals,
    offsets: deps.store.signals,
    clock: deps.clock,
    onError: (err, file) => logger.warn({ err, file }, 'log tailer'),
  });
  return { stop: () => tailer.stop() };
};
