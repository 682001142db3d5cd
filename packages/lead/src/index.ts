export * from './lead.js';
export { validateLead, validatePing, leadSchema, CONTACT_FIELDS, MAX_EXTRA_FIELDS, RESERVED_FIELDS, STANDARD_FIELDS, type LeadValidation, type PingInput } from './validate.js';
export { checkPhone, type PhoneCheck } from './phone.js';
export { qualityScore, QUALITY_WEIGHTS, type QualitySignals } from './quality.js';
export { maskEmail, maskPhone } from './mask.js';
export { newLeadId, isLeadId } from './lead-id.js';
export { ISO_COUNTRIES, isCountryCode } from './countries.js';
export { encodeUrlValue, hasLoneSurrogate, headerSafe, wellFormed } from './safe-text.js';
export {
  DEFAULT_POSTBACK_ON,
  FINAL_STATUSES,
  isPostbackStatus,
  LEAD_STATUSES,
  LOST_STATUSES,
  PAID_STATUSES,
  POSTBACK_STATUSES,
  POSTBACK_TRANSITIONS,
  type PostbackStatus,
} from './status.js';
