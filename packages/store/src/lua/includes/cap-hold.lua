--[[
  A destination's cap holds (contract §12), kept in the destination's slot. Reserving a cap slot
  (cap-reserve-7.lua) counts it in the period counters and records a hold: `holds` field = lead
  id, value `<token>|<periods>` (`k3f9x2aa|h:2026-12-01T15|d:2026-12-01|t`), and the lead id in
  `live`, scored by when the cap sweeper should next look at it. A lead that takes the slot writes
  the same value as its marker (`cap:<destination>`, decide-1.lua), in its own slot.

  settleHold ends a hold, only if it is still the one named (a re-run, or a hold reserved again
  since, changes nothing): given back (its counters go down) or consumed by a sale (they stay).
  giveUpMarker is the lead's half of giving a hold back, in the lead's slot: its marker gone and
  its token fenced, so no decision can take the hold afterwards.
]]
local function holdToken(hold)
  return string.match(hold, '^([^|]*)')
end

local function settleHold(holdsKey, liveKey, capKeys, leadId, hold, consume)
  if redis.call('HGET', holdsKey, leadId) ~= hold then return 0 end
  if not consume then
    for _, counterKey in ipairs(capKeys) do
      if (tonumber(redis.call('GET', counterKey)) or 0) > 0 then redis.call('DECR', counterKey) end
    end
  end
  redis.call('HDEL', holdsKey, leadId)
  redis.call('ZREM', liveKey, leadId)
  return 1
end

-- Returns the hold the lead's marker named, or nil when it held none at `destination`.
local function giveUpMarker(leadKey, destination)
  local field = 'cap:' .. destination
  local hold = redis.call('HGET', leadKey, field)
  if not hold then return nil end
  redis.call('HDEL', leadKey, field)
  redis.call('HSET', leadKey, 'fence:' .. holdToken(hold), '1')
  return hold
end
