export { LeadStore, IDEMPOTENCY_TTL_MS, type LeadEvent, type LeadRecord, type ReserveRequest, type ReserveResult, type StoredAnswer } from './lead-store.js';
export { DeliveryState, type DeliveryPlan, type LeadForDelivery, type CapLimits, type AdvanceCandidate, type AttemptAction, type AttemptRecord } from './delivery-state.js';
