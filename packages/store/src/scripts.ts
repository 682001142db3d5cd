import { loadLuaScript } from './lua-loader.js';

/**
 * Every Lua step of the lead's state machine, read from `lua/` at start. Each runs atomically
 * inside Redis, on keys of one slot (contract §12: a lead's, a destination's, an idempotency
 * key's or the operators'): a lead is stored whole or not at all, decided once per step, sold at
 * most once. Steps that change a lead and a destination are split in two, the lead's half first
 * (README, "Redis Cluster").
 */
export const SCRIPTS = {
  idempotencyClaim: loadLuaScript('idempotency-claim-1'),
  idempotencyAnswer: loadLuaScript('idempotency-answer-1'),
  leadFence: loadLuaScript('lead-fence-1'),
  storeLead: loadLuaScript('store-lead-6'),
  storeLeadIdempotent: loadLuaScript('store-lead-idempotent-7'),
  plan: loadLuaScript('plan-3'),
  capReserve: loadLuaScript('cap-reserve-7'),
  decide: loadLuaScript('decide-1'),
  capCheck: loadLuaScript('cap-check-1'),
  capUnmark: loadLuaScript('cap-unmark-1'),
  capSettle: loadLuaScript('cap-settle-5'),
  recordAttempt: loadLuaScript('record-attempt-4'),
  destinationEffects: loadLuaScript('destination-effects-10'),
  destinationEffectsOwed: loadLuaScript('destination-effects-owed-11'),
  markUnsold: loadLuaScript('mark-unsold-4'),
  requeue: loadLuaScript('requeue-6'),
  appendEvent: loadLuaScript('append-event-3'),
  compactLead: loadLuaScript('compact-lead-3'),
  postback: loadLuaScript('postback-6'),
  recordRefusedPostback: loadLuaScript('record-refused-postback-3'),
  setOverride: loadLuaScript('set-override-2'),
  recordPing: loadLuaScript('record-ping-2'),
  learnMoved: loadLuaScript('learn-moved-1'),
} as const;
