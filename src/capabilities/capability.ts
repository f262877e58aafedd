/**
 * A capability declares in one place what it adds to Bulwark. The registry (index.ts) lists
 * them; the store, the server, the CLI, `bulwark serve`'s background jobs and the contract runner
 * iterate it, and nothing is wired by hand.
 *
 * What the registry loads at once is pure or store-level (permissions, ledger events, the store
 * part), so that the store and the use cases may read it. The server, CLI and job parts are
 * loaded by their hosts when they start (a dynamic import), so no arrow runs from a lower layer
 * up to the server or the CLI. Lint holds that: files here import core and store only.
 */
import type { EventDefinition } from '../core/ledger/event-catalogue.ts';
import type { Permission } from '../core/access/permissions.ts';
import type { StorePart } from '../store/store-part.ts';
import type { ServerPart } from '../server/server-part.ts';
import type { CliPart } from '../cli/cli-part.ts';
import type { JobsPart } from '../cli/jobs-part.ts';

export interface Capability {
  /** `[a-z]+`: also the folder name of its dashboard pages (web/src/capabilities/NAME/), if it has any. */
  readonly name: string;
  /** One sentence: what it does for a user. */
  readonly summary: string;
  /** Every permission it defines. Routes declare them; `reserved` ones only handlers ask for. */
  readonly permissions: readonly Permission[];
  readonly reservedPermissions?: readonly Permission[];
  /** Every ledger entry kind it writes, with the schema of its data. */
  readonly events: readonly EventDefinition[];
  readonly store?: StorePart;
  /** Its routes, metrics, services and hooks in the HTTP server. */
  readonly server?: () => Promise<ServerPart>;
  /** Its `bulwark` commands. */
  readonly cli?: () => Promise<CliPart>;
  /**
   * The names of the top-level commands its `cli` part adds (the registry test holds them to
   * it): `bulwark NAME …` loads only the part that owns NAME, not every capability's commands.
   */
  readonly commands?: readonly string[];
  /** Its background jobs in `bulwark serve` (started in registry order, stopped in reverse). */
  readonly jobs?: () => Promise<JobsPart>;
}

/** Identity, typed: a capability file exports `defineCapability({...})`. */
export const defineCapability = (c: Capability): Capability => c;
