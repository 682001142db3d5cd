export type { LeadStatus } from './status.js';
/** A lead as stored and routed: validated, normalised, scored. */
export type ScalarValue = string | number | boolean;

export interface LeadInput {
  name: string;
  /** E.164 */
  phone: string;
  /** ISO 3166-1 alpha-2, upper case */
  geo: string;
  source: string;
  email?: string;
  click_id?: string;
  ip?: string;
  /** Any other scalar fields the supplier sent (at most 50). */
  fields: Record<string, ScalarValue>;
}

export interface Lead extends LeadInput {
  id: string;
  supplier: string;
  /** ms since epoch */
  createdAt: number;
  quality: number;
  phoneNational: string;
}

export type UnsoldReason = 'no_route' | 'all_rejected' | 'no_eligible_destination';

export interface FieldError {
  field: string;
  message: string;
}
