import { loadLuaScript } from './lua-loader.js';

/**
 * Every Lua step of the lead's state machine, read from `lua/` at start. Each runs atomically
 * inside Redis: a lead is stored whole or not at all, decided once per step, sold at most once.
 */
export const SCRIPTS = {
  reserveLead: loadLuaScript('reserve-lead-6'),
  plan: loadLuaScript('plan-2'),
  advance: loadLuaScript('advance'),
  recordAttempt: loadLuaScript('record-attempt-6'),
  markUnsold: loadLuaScript('mark-unsold-3'),
  capRelease: loadLuaScript('cap-release-1'),
  requeue: loadLuaScript('requeue-4'),
  postback: loadLuaScript('postback-5'),
  recordRefusedPostback: loadLuaScript('record-refused-postback-2'),
} as const;
