// Shapes of the Bulwark HTTP API as the dashboard reads them.

export interface Principal {
  id: string;
  name: string;
  kind: 'person' | 'service';
}

export interface Session {
  principal: Principal;
  token: { id: string; name: string };
  permissions: string[];
}

export interface LedgerEntry {
  seq: number;
  time: string;
  actor: string;
  kind: string;
  subject: string;
  data: unknown;
  leafHash: string;
}

export interface EntriesPage {
  entries: LedgerEntry[];
  next: number | null;
  size: number;
}

export interface Checkpoint {
  size: number;
  root: string;
  time: string;
  keyId: string;
  keyName: string;
  origin: string;
  note: string;
}

export interface VerifyReport {
  ok: boolean;
  size: number;
  entriesChecked: number;
  checkpointsChecked: number;
  firstBad: null | { seq: number; reason: string };
  message: string;
}

export interface ApiErrorBody {
  error: string;
  message?: string;
  details?: unknown;
}
