--[[
  A lead's history. Each event takes the next position, counted in the state hash (`seq`) rather
  than read from the list's length: once a final lead is compacted (compact-lead-3.lua) its list
  is gone and the ledger holds events 1..`compacted`, yet a later postback or notification must
  still get the next position, so that the ledger stores it once and in order. A list made again
  after compaction expires with the lead.

  The count never falls behind the history: a lead stored before `seq` existed, or an event pushed
  by an older LeadRouter during a rolling deploy (it numbers by the list's length and does not
  count), leaves the list longer than the count, and the count catches up with it.
]]
local function pushEvent(leadKey, eventsKey, eventJson)
  local length = redis.call('RPUSH', eventsKey, eventJson)
  if length == 1 then
    local ttl = redis.call('PTTL', leadKey)
    if ttl > 0 then redis.call('PEXPIRE', eventsKey, ttl) end
  end
  local seq = redis.call('HINCRBY', leadKey, 'seq', 1)
  local counted = (tonumber(redis.call('HGET', leadKey, 'compacted')) or 0) + length
  if counted > seq then
    redis.call('HSET', leadKey, 'seq', counted)
    seq = counted
  end
  return seq
end
