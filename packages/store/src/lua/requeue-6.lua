--[[
  Admin redelivery: an `unsold` lead becomes `queued` again for a new round of routing. Its plan,
  unsold reason, route and recorded step decisions are cleared and its round number goes up. Only
  from `unsold`, so a lead that was sold can never be sold again. A compacted lead (its fields
  only in the ledger) is requeued only with `restore`, its fields read back from the ledger.

  KEYS[1] the lead's state hash
  KEYS[2] the lead's events list
  KEYS[3] the unsold index
  KEYS[4] the intake's outbox (the lead is picked up again as a new lead is)
  KEYS[5] the ledger's change stream of the lead's bucket (appended to only when `ledgerOn`)
  KEYS[6] the lead's data (its fields as JSON)

  ARGV[1] JSON: leadId, nowMs, requeuedEvent (JSON text), stepFieldPrefix (`next:`),
    restore (optional: data (JSON text), quality, createdAt, phoneNational, as text), ledgerOn

  Returns {'ok', round} or {status} (the status that prevented it; 'missing' when none,
  'compacted' when the lead's fields are needed from the ledger).
]]
--- @include "includes/events"
--- @include "includes/ledger"
local leadKey, eventsKey, unsoldKey, outboxKey, dataKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[6]
local args = cjson.decode(ARGV[1])
local ledgerKey = args.ledgerOn and KEYS[5] or ''

local status = redis.call('HGET', leadKey, 'status')
if status ~= 'unsold' then return {status or 'missing'} end
if redis.call('EXISTS', dataKey) == 0 then
  local restore = args.restore
  if type(restore) ~= 'table' then return {'compacted'} end
  local ttl = redis.call('PTTL', leadKey)
  if ttl > 0 then redis.call('SET', dataKey, restore.data, 'PX', ttl) else redis.call('SET', dataKey, restore.data) end
  redis.call('HSET', leadKey, 'quality', restore.quality, 'createdAt', restore.createdAt, 'phoneNational', restore.phoneNational)
end
local prefixLength = string.len(args.stepFieldPrefix)
for _, field in ipairs(redis.call('HKEYS', leadKey)) do
  if field == 'plan' or string.sub(field, 1, prefixLength) == args.stepFieldPrefix then
    redis.call('HDEL', leadKey, field)
  end
end
-- Emptied rather than deleted: the ledger's state of a compacted lead names only the fields the
-- hash has, and must hear that these were cleared.
redis.call('HSET', leadKey, 'status', 'queued', 'reason', '', 'route', '')
local round = redis.call('HINCRBY', leadKey, 'round', 1)
redis.call('ZREM', unsoldKey, args.leadId)
redis.call('ZADD', outboxKey, args.nowMs, args.leadId)
local seq = pushEvent(leadKey, eventsKey, args.requeuedEvent)
appendToLedger(ledgerKey, leadKey, args.leadId, seq, args.requeuedEvent)
return {'ok', round}
