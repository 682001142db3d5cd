export { openLedger, openLedgerPool, migrateLedger, type Ledger, type LedgerLocation } from './open.js';
export { applyChanges } from './apply.js';
export { LedgerWriter, type LedgerWriterOptions } from './writer.js';
export type { LedgerDatabase, LeadsTable, LeadEventsTable, SalesTable, AuditEventsTable } from './schema.js';
export {
  searchLeads,
  auditEvents,
  startOfLocalDay,
  leadWithEvents,
  reportRows,
  encodeCursor,
  decodeCursor,
  REPORT_DIMENSIONS,
  type LeadFilters,
  type LedgerLeadRow,
  type LeadCursor,
  type ReportRow,
  type ReportDimension,
} from './queries.js';
export { applyRetention } from './retention.js';
export { exportColumns, exportPage } from './export.js';
