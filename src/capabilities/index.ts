/**
 * The registry: every capability of Bulwark, one line each, in the order they build on each
 * other (a capability after those whose services it uses). Adding a capability is a line here;
 * docs/architecture.md has the checklist.
 */
import type { Permission } from '../core/access/permissions.ts';
import { EventCatalogue } from '../core/ledger/event-catalogue.ts';
import type { StorePart } from '../store/store-part.ts';
import type { Capability } from './capability.ts';
import { operations } from './operations.ts';
import { ledger } from './ledger.ts';
import { access } from './access.ts';
import { signals } from './signals.ts';
import { experiments } from './experiments.ts';
import { coverage } from './coverage.ts';
import { incidents } from './incidents.ts';
import { slos } from './slos.ts';
import { playbooks } from './playbooks.ts';

export const CAPABILITIES: readonly Capability[] = [operations, ledger, access, signals, experiments, slos, coverage, incidents, playbooks];

/** Every permission, for `*`, area wildcards and checking scopes. */
export const PERMISSIONS: readonly Permission[] = CAPABILITIES.flatMap((c) => c.permissions);

/** Permissions no route declares: handlers ask for them on top of the route's (a test holds to it). */
export const RESERVED_PERMISSIONS: readonly Permission[] = CAPABILITIES.flatMap((c) => c.reservedPermissions ?? []);

/** Every ledger entry kind: the append refuses any other, and data its schema does not accept. */
export const LEDGER_EVENTS = new EventCatalogue(CAPABILITIES.flatMap((c) => c.events));

/** The store parts, in registry order: tables, migrations, repositories, contract suites. */
export const STORE_PARTS: readonly StorePart[] = CAPABILITIES.flatMap((c) => (c.store ? [c.store] : []));
