/**
 * The vocabulary TypeScript and the Lua steps share about a lead's state hash (`keys.lead(id)`):
 * its field names, and the decisions recorded after each step of the delivery chain. Declared once,
 * here beside keys.ts; the Lua scripts under packages/store/src/lua name the same fields.
 */

/** Fields of the lead's state hash. */
export const LEAD_HASH = {
  supplier: 'supplier',
  status: 'status',
  quality: 'quality',
  createdAt: 'createdAt',
  phoneNational: 'phoneNational',
  source: 'source',
  geo: 'geo',
  /** The delivery plan (JSON): route and ordered candidates, fixed once per round. */
  plan: 'plan',
  /** The routing round: 0, then +1 per admin redelivery. */
  round: 'round',
  /** HTTP tries so far, at any destination. */
  attempts: 'attempts',
  destination: 'destination',
  payout: 'payout',
  reason: 'reason',
  route: 'route',
  /** A shared lead's delivery lanes still running (contract §9, `mode: shared`): it is final at 0. */
  lanes: 'lanes',
} as const;

/**
 * A shared lead's sales, one field each: `sale:<destination>` = `<status>|<payout>` (short, so the
 * hash stays a listpack). An exclusive lead's one sale is `destination`, `payout` and `status`.
 */
export const SALE_FIELD_PREFIX = 'sale:';

export function saleField(destination: string): string {
  return `${SALE_FIELD_PREFIX}${destination}`;
}

/** `sale:<destination>` fields of a hash, read back. */
export function readSales(hash: Record<string, string>): Record<string, { status: string; payout: number }> {
  const sales: Record<string, { status: string; payout: number }> = {};
  for (const [field, value] of Object.entries(hash)) {
    if (!field.startsWith(SALE_FIELD_PREFIX)) continue;
    const bar = value.indexOf('|');
    sales[field.slice(SALE_FIELD_PREFIX.length)] = { status: value.slice(0, bar), payout: Number(value.slice(bar + 1)) };
  }
  return sales;
}

/**
 * A step of the delivery chain: `start` (the route step), then `<candidate index>.<try>` for each
 * try. The decision taken after a step is recorded under `next:<step>`, first writer wins.
 */
export const START_STEP = 'start';
export const STEP_FIELD_PREFIX = 'next:';

/**
 * The first step of each lane of a shared lead: lane 0 is the route step itself (`start`), so an
 * exclusive lead is a shared one with one lane; lane n starts at `start.<n>`.
 */
export function laneStartStep(lane: number): string {
  return lane === 0 ? START_STEP : `${START_STEP}.${lane}`;
}

export function tryStep(index: number, attempt: number): string {
  return `${index}.${attempt}`;
}

export function stepField(step: string): string {
  return `${STEP_FIELD_PREFIX}${step}`;
}

/** The step a hash field records a decision for, or undefined for any other field. */
export function stepOfField(field: string): string | undefined {
  return field.startsWith(STEP_FIELD_PREFIX) ? field.slice(STEP_FIELD_PREFIX.length) : undefined;
}

/**
 * What may be recorded after a step:
 * - `d:<index>`: go to the plan's candidate at that index (a cap slot reserved there);
 * - `unsold`: no candidate left;
 * - `retry`: try the same candidate again;
 * - `next`: the try ended and the chain moves on; where to is still to be chosen;
 * - `ended`: a lane of a shared lead found no candidate left while other lanes run or sold: that
 *   lane stops, and the lead is not final because of it;
 * - `sold`: the try sold a shared lead (its lane ended in that sale).
 */
export type StepDecision = { kind: 'candidate'; index: number } | { kind: 'unsold' } | { kind: 'retry' } | { kind: 'next' } | { kind: 'ended' } | { kind: 'sold' };

const CANDIDATE_PREFIX = 'd:';

export function parseDecision(code: string): StepDecision {
  if (code.startsWith(CANDIDATE_PREFIX)) {
    const index = Number(code.slice(CANDIDATE_PREFIX.length));
    if (Number.isInteger(index) && index >= 0) return { kind: 'candidate', index };
  }
  if (code === 'unsold' || code === 'retry' || code === 'next' || code === 'ended' || code === 'sold') return { kind: code };
  throw new Error(`unknown step decision "${code}"`);
}
