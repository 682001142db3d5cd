/**
 * The `quality` score (0..1) computed at intake from what can be checked (README, "Lead quality"):
 *
 * | signal                                  | weight |
 * | --------------------------------------- | ------ |
 * | phone valid for the lead's geo          | 0.40 (always: an invalid phone is rejected) |
 * | phone is mobile (or may be mobile)      | 0.20 |
 * | email present and well-formed           | 0.15 |
 * | ip present                              | 0.10 |
 * | name has a first and a last name        | 0.10 |
 * | click_id present (traceable traffic)    | 0.05 |
 *
 * Duplicates never get a score: they are refused with 409.
 */
export interface QualitySignals {
  mobile: boolean;
  email: boolean;
  ip: boolean;
  fullName: boolean;
  clickId: boolean;
}

export const QUALITY_WEIGHTS = { phone: 0.4, mobile: 0.2, email: 0.15, ip: 0.1, fullName: 0.1, clickId: 0.05 } as const;

export function qualityScore(s: QualitySignals): number {
  const score =
    QUALITY_WEIGHTS.phone +
    (s.mobile ? QUALITY_WEIGHTS.mobile : 0) +
    (s.email ? QUALITY_WEIGHTS.email : 0) +
    (s.ip ? QUALITY_WEIGHTS.ip : 0) +
    (s.fullName ? QUALITY_WEIGHTS.fullName : 0) +
    (s.clickId ? QUALITY_WEIGHTS.clickId : 0);
  return Math.round(score * 100) / 100;
}
