import type { DestinationConfig } from '@leadrouter/config';
import { isPostbackStatus, POSTBACK_STATUSES, type FieldError, type PostbackStatus } from '@leadrouter/lead';

export interface PostbackParams {
  leadId: string;
  /** As the destination sent it. */
  received: string;
  /** After the destination's statusMap. */
  status: PostbackStatus;
  payout?: number;
  eventId?: string;
}

export type ParamsCheck = { ok: true; params: PostbackParams } | { ok: false; errors: FieldError[]; leadId?: string };

/** Validates `lead_id`, `status` (mapped through `statusMap` first), `payout` and `event_id` (contract §5). */
export function checkParams(raw: Record<string, unknown>, destination: DestinationConfig): ParamsCheck {
  const errors: FieldError[] = [];
  const text = (name: string): string | undefined => {
    const value = raw[name];
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value === 'string' || typeof value === 'number') return String(value);
    errors.push({ field: name, message: 'must be a single value' });
    return undefined;
  };
  const leadId = text('lead_id');
  const received = text('status');
  const payoutText = text('payout');
  const eventId = text('event_id');
  if (leadId === undefined) errors.push({ field: 'lead_id', message: 'is required' });
  let status: PostbackStatus | undefined;
  if (received === undefined) {
    if (!errors.some((e) => e.field === 'status')) errors.push({ field: 'status', message: 'is required' });
  } else {
    const map = (destination.postback?.statusMap ?? {}) as Record<string, string | undefined>;
    const mapped = map[received] ?? received;
    if (isPostbackStatus(mapped)) status = mapped;
    else errors.push({ field: 'status', message: `unknown status "${received.slice(0, 64)}": use ${POSTBACK_STATUSES.join(', ')} or map it in statusMap` });
  }
  let payout: number | undefined;
  if (payoutText !== undefined) {
    payout = Number(payoutText);
    if (!/^\s*\d+(\.\d+)?\s*$/.test(payoutText) || !Number.isFinite(payout)) {
      errors.push({ field: 'payout', message: 'must be a non-negative number' });
      payout = undefined;
    }
  }
  if (eventId !== undefined && eventId.length > 256) errors.push({ field: 'event_id', message: 'must be at most 256 characters' });
  if (errors.length > 0 || leadId === undefined || received === undefined || status === undefined) {
    return { ok: false, errors, ...(leadId !== undefined ? { leadId } : {}) };
  }
  return { ok: true, params: { leadId, received, status, ...(payout !== undefined ? { payout } : {}), ...(eventId !== undefined ? { eventId } : {}) } };
}
