--[[
  Reserves a cap slot at a destination for a lead, in the destination's slot (contract §12): the
  first half of choosing a destination; decide-1.lua, in the lead's slot, is the second. The
  circuit must not be open, and every capped period must have room. A slot is counted in all
  three periods, capped or not: an operator's override that caps a period later (contract §11)
  counts the slots taken before it (a slot is the sale's once sold, and given back when the try
  does not sell). A lead holds at most one slot per destination: asked again (a re-run, another
  lane), the hold it has is returned and nothing more is counted. A half-open circuit lets one
  lead at a time through (the probe lock).

  Why a crash between the halves cannot oversell: the counters change only with the holds, here,
  in one step. A hold nobody's decision names is given back by the cap sweeper, which first
  fences its token in the lead's slot (cap-check-1.lua), so a decision can no longer take it, and
  a sale needs the lead's marker of its hold. So sales <= holds <= cap; a crash only wastes a slot
  until the sweeper comes by.

  KEYS[1] the destination's circuit hash
  KEYS[2] its circuit probe lock
  KEYS[3] its hourly cap counter (this hour's)
  KEYS[4] its daily cap counter (today's)
  KEYS[5] its total cap counter
  KEYS[6] its cap holds (hash)
  KEYS[7] its live holds (sorted set, by when the sweeper looks at each next)

  ARGV[1] JSON: leadId, token (random, fresh per call), periods ('h:<hour>|d:<day>|t'),
    caps: {hourly, daily, total} (-1 = none), nowMs, probeLockMs, hourTtlMs, dayTtlMs, checkAtMs

  Returns {'held', hold} (`<token>|<periods>`: this call's, or the one the lead had), or {'open'},
  {'full'} or {'probing'} (half-open, another lead probes it).
]]
--- @include "includes/circuit"
local circuitKey, probeKey, holdsKey, liveKey = KEYS[1], KEYS[2], KEYS[6], KEYS[7]
local capKeys = {KEYS[3], KEYS[4], KEYS[5]}
local args = cjson.decode(ARGV[1])

local open, openUntil = circuitOpenAt(circuitKey, args.nowMs)
if open then return {'open'} end
local held = redis.call('HGET', holdsKey, args.leadId)
if not held then
  local limits = {args.caps.hourly, args.caps.daily, args.caps.total}
  for i = 1, 3 do
    if limits[i] >= 0 and (tonumber(redis.call('GET', capKeys[i])) or 0) >= limits[i] then return {'full'} end
  end
end
if openUntil and not redis.call('SET', probeKey, '1', 'NX', 'PX', args.probeLockMs) then return {'probing'} end
if held then return {'held', held} end
local ttls = {args.hourTtlMs, args.dayTtlMs, nil}
for i = 1, 3 do
  redis.call('INCR', capKeys[i])
  if ttls[i] then redis.call('PEXPIRE', capKeys[i], ttls[i]) end
end
local hold = args.token .. '|' .. args.periods
redis.call('HSET', holdsKey, args.leadId, hold)
redis.call('ZADD', liveKey, args.checkAtMs, args.leadId)
return {'held', hold}
