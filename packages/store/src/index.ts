export { LeadStore, IDEMPOTENCY_TTL_MS, type LeadEvent, type LeadRecord, type ReserveRequest, type ReserveResult, type StoredAnswer } from './lead-store.js';
export { readStoredLead, type StoredLead, type DeliveryPlan } from './lead-record.js';
export { DeliveryState, type LeadForDelivery, type CapLimits, type AdvanceCandidate, type AttemptAction, type AttemptRecord, type LearnedFigures } from './delivery-state.js';
export { PostbackState, MAX_REFUSED_POSTBACKS_PER_LEAD, type PostbackOutcome, type PostbackResult } from './postback-state.js';
export { NotificationOutbox, notificationEntry, type OwedNotification } from './notification-outbox.js';
