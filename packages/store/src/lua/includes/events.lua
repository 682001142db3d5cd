--[[
  A lead's history. Each event takes the next position, counted in the state hash (`seq`) rather
  than read from the list's length: once a final lead is compacted (compact-lead-3.lua) its list
  is gone and the ledger holds events 1..`compacted`, yet a later postback or notification must
  still get the next position, so that the ledger stores it once and in order. A list made again
  after compaction expires with the lead. Leads stored before `seq` existed count their list.
]]
local function pushEvent(leadKey, eventsKey, eventJson)
  if redis.call('HEXISTS', leadKey, 'seq') == 0 then
    redis.call('HSET', leadKey, 'seq', redis.call('LLEN', eventsKey))
  end
  local seq = redis.call('HINCRBY', leadKey, 'seq', 1)
  if redis.call('RPUSH', eventsKey, eventJson) == 1 then
    local ttl = redis.call('PTTL', leadKey)
    if ttl > 0 then redis.call('PEXPIRE', eventsKey, ttl) end
  end
  return seq
end
