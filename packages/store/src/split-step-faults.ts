/**
 * Where a step split at a slot boundary (contract §12) is between its two halves: the first has
 * run, the second not yet. A process that dies there leaves what the second half would have done
 * to the sweepers (the cap sweeper, the replay of owed effects). Production code passes nothing;
 * the chaos test passes a hook that crashes or stalls at these points, many times, to prove that a
 * crash there can waste a cap slot for a while but never sell past a cap or sell twice.
 */
export type SplitPoint =
  /** cap-reserve-7 ran (a hold is counted); decide-1 has not. */
  | 'reserved'
  /** decide-1 did not take the hold; it is not settled yet. */
  | 'not-taken'
  /** record-attempt-4 ran (its owed effect is written); destination-effects-10 has not. */
  | 'recorded'
  /** cap-unmark-1 ran (marker gone, token fenced); cap-settle-5 has not. */
  | 'unmarked';

export type SplitStepFaults = (point: SplitPoint) => void | Promise<void>;

export const NO_FAULTS: SplitStepFaults = () => undefined;
