export { openLedger, migrateLedger, type Ledger, type LedgerLocation } from './open.js';
export { applyChanges } from './apply.js';
export { LedgerWriter, type LedgerWriterOptions } from './writer.js';
export type { LedgerDatabase, LeadsTable, LeadEventsTable, SalesTable, AuditEventsTable } from './schema.js';
