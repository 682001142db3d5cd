import { loadLuaScript } from './lua-loader.js';

/**
 * Every Lua step of the lead's state machine, read from `lua/` at start. Each runs atomically
 * inside Redis: a lead is stored whole or not at all, decided once per step, sold at most once.
 */
export const SCRIPTS = {
  reserveLead: loadLuaScript('reserve-lead-7'),
  plan: loadLuaScript('plan-3'),
  advance: loadLuaScript('advance'),
  recordAttempt: loadLuaScript('record-attempt-7'),
  markUnsold: loadLuaScript('mark-unsold-4'),
  capRelease: loadLuaScript('cap-release-1'),
  requeue: loadLuaScript('requeue-6'),
  appendEvent: loadLuaScript('append-event-3'),
  compactLead: loadLuaScript('compact-lead-3'),
  postback: loadLuaScript('postback-6'),
  recordRefusedPostback: loadLuaScript('record-refused-postback-3'),
  setOverride: loadLuaScript('set-override-2'),
  recordPings: loadLuaScript('record-pings'),
} as const;
