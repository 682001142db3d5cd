--[[
  Ends a lead's cap hold at a destination, in the destination's slot (includes/cap-hold.lua):
  given back ('release': the lead gave up its marker, or never wrote one and is fenced) or
  consumed ('consume': the lead was sold there; the slot stays counted). Or, 'recheck', the hold
  is in use: the cap sweeper looks again at `checkAtMs`. Only the hold named is touched, so a
  re-run changes nothing.

  KEYS[1] the destination's cap holds
  KEYS[2] its live holds
  KEYS[3] the hourly cap counter of the hold's period (its value names the periods)
  KEYS[4] the daily cap counter of its period
  KEYS[5] the total cap counter

  ARGV[1] JSON: leadId, hold, action ('release', 'consume', 'recheck'), checkAtMs

  Returns 1 when the hold was the one named, else 0.
]]
--- @include "includes/cap-hold"
local args = cjson.decode(ARGV[1])
if args.action == 'recheck' then
  if redis.call('HGET', KEYS[1], args.leadId) ~= args.hold then return 0 end
  redis.call('ZADD', KEYS[2], 'XX', args.checkAtMs, args.leadId)
  return 1
end
return settleHold(KEYS[1], KEYS[2], {KEYS[3], KEYS[4], KEYS[5]}, args.leadId, args.hold, args.action == 'consume')
