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
} as const;

/**
 * A step of the delivery chain: `start` (the route step), then `<candidate index>.<try>` for each
 * try. The decision taken after a step is recorded under `next:<step>`, first writer wins.
 */
export const START_STEP = 'start';
export const STEP_FIELD_PREFIX = 'next:';

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
 * - `next`: the try ended and the chain moves on; where to is still to be chosen.
 */
export type StepDecision = { kind: 'candidate'; index: number } | { kind: 'unsold' } | { kind: 'retry' } | { kind: 'next' };

const CANDIDATE_PREFIX = 'd:';

export function parseDecision(code: string): StepDecision {
  if (code.startsWith(CANDIDATE_PREFIX)) {
    const index = Number(code.slice(CANDIDATE_PREFIX.length));
    if (Number.isInteger(index) && index >= 0) return { kind: 'candidate', index };
  }
  if (code === 'unsold' || code === 'retry' || code === 'next') return { kind: code };
  throw new Error(`unknown step decision "${code}"`);
}
