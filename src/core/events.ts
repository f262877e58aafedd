/**
 * Every ledger event the product writes, one line per capability: a new capability adds its
 * `events.ts` here. The store's append checks each entry against this catalogue.
 */
import { accessEvents } from './access/events.ts';
import { experimentEvents } from './experiments/events.ts';
import { EventCatalogue } from './ledger/event-catalogue.ts';
import { ledgerEvents } from './ledger/events.ts';
import { signalEvents } from './signals/events.ts';

export const LEDGER_EVENTS = new EventCatalogue([...ledgerEvents, ...accessEvents, ...signalEvents, ...experimentEvents]);
