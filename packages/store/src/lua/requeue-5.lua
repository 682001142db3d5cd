--[[
  Admin redelivery: an `unsold` lead becomes `queued` again for a new round of routing. Its plan,
  unsold reason, route and recorded step decisions are cleared and its round number goes up. Only
  from `unsold`, so a lead that was sold can never be sold again.

  KEYS[1] the lead's state hash
  KEYS[2] the lead's events list
  KEYS[3] the unsold index
  KEYS[4] the intake's outbox (the lead is picked up again as a new lead is)
  KEYS[5] the ledger's change stream of the lead's bucket ('' when the install runs no ledger)

  ARGV[1] JSON: leadId, nowMs, requeuedEvent (JSON text), stepFieldPrefix (`next:`)

  Returns {'ok', round} or {status} (the status that prevented it; 'missing' when none).
]]
--- @include "includes/ledger"
local leadKey, eventsKey, unsoldKey, outboxKey, ledgerKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local args = cjson.decode(ARGV[1])

local status = redis.call('HGET', leadKey, 'status')
if status ~= 'unsold' then return {status or 'missing'} end
local prefixLength = string.len(args.stepFieldPrefix)
for _, field in ipairs(redis.call('HKEYS', leadKey)) do
  if field == 'plan' or field == 'reason' or field == 'route' or string.sub(field, 1, prefixLength) == args.stepFieldPrefix then
    redis.call('HDEL', leadKey, field)
  end
end
redis.call('HSET', leadKey, 'status', 'queued')
local round = redis.call('HINCRBY', leadKey, 'round', 1)
redis.call('ZREM', unsoldKey, args.leadId)
redis.call('ZADD', outboxKey, args.nowMs, args.leadId)
local seq = redis.call('RPUSH', eventsKey, args.requeuedEvent)
appendToLedger(ledgerKey, leadKey, args.leadId, seq, args.requeuedEvent)
return {'ok', round}
