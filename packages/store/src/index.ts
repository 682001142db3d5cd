export { LeadStore, IDEMPOTENCY_TTL_MS, type LeadEvent, type LeadRecord, type ReserveRequest, type ReserveResult, type StoredAnswer } from './lead-store.js';
