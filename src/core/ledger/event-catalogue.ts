/**
 * The ledger's event catalogue: every entry kind the product writes, with a schema for its
 * `data`. The append refuses a kind that is not catalogued and data that does not match, so a
 * reader of the ledger can rely on what each kind holds. Each capability declares its own events
 * (`core/<capability>/events.ts`); the registry (src/capabilities/index.ts: LEDGER_EVENTS) gathers them all.
 */
import { z, type ZodType } from 'zod';
import { invalid } from '../errors.ts';

export interface EventDefinition {
  kind: string;
  /** When it is written, for docs/ledger.md. */
  written: string;
  data: ZodType;
}

/** One event kind; `data` is checked strictly (no field the schema does not name). */
export const event = (kind: string, written: string, data: ZodType): EventDefinition => ({ kind, written, data });

export class EventCatalogue {
  private readonly byKind = new Map<string, EventDefinition>();

  constructor(definitions: readonly EventDefinition[]) {
    for (const d of definitions) {
      if (this.byKind.has(d.kind)) throw new Error(`ledger event kind ${d.kind} is declared twice`);
      this.byKind.set(d.kind, d);
    }
  }

  get kinds(): string[] {
    return [...this.byKind.keys()];
  }

  definition(kind: string): EventDefinition | undefined {
    return this.byKind.get(kind);
  }

  /** Refuse an uncatalogued kind, or data its schema does not accept, saying what to fix. */
  check(kind: string, data: unknown): void {
    const d = this.byKind.get(kind);
    if (!d) throw invalid(`ledger event kind '${kind}' is not in the event catalogue; declare it in its capability's events.ts`);
    const r = d.data.safeParse(data);
    if (!r.success) {
      const details = r.error.issues.map((i) => ({ path: i.path.length ? i.path.map(String).join('.') : '(root)', message: i.message }));
      throw invalid(
        `ledger event '${kind}' has data its schema refuses: ${details.map((x) => `${x.path}: ${x.message}`).join('; ')}`,
        details,
      );
    }
  }
}

// Shapes several capabilities share.
export const isoTime = z.string().min(1).max(64);
export const id = z.string().min(1).max(200);
export const text = z.string().max(100_000);
