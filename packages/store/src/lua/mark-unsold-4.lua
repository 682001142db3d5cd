--[[
  Ends a lead `unsold` if it is still `queued`, with its `unsold` event, its entry in the unsold
  index (what the admin's bulk redelivery picks from) and a message on the final channel.

  KEYS[1] the lead's state hash
  KEYS[2] the lead's events list
  KEYS[3] the unsold index (sorted set by arrival)
  KEYS[4] the ledger's change stream of the lead's bucket (appended to only when `ledgerOn`)

  ARGV[1] JSON: leadId, reason, route, unsoldEvent (JSON text), finalChannel, finalMessage (JSON text), ledgerOn

  Returns 'ok', or the status the lead already had ('missing' when it does not exist).
]]
--- @include "includes/events"
--- @include "includes/ledger"
local leadKey, eventsKey, unsoldKey = KEYS[1], KEYS[2], KEYS[3]
local args = cjson.decode(ARGV[1])
local ledgerKey = args.ledgerOn and KEYS[4] or ''

local status = redis.call('HGET', leadKey, 'status')
if status ~= 'queued' then return status or 'missing' end
redis.call('HSET', leadKey, 'status', 'unsold', 'reason', args.reason, 'route', args.route)
redis.call('ZADD', unsoldKey, redis.call('HGET', leadKey, 'createdAt'), args.leadId)
local seq = pushEvent(leadKey, eventsKey, args.unsoldEvent)
appendToLedger(ledgerKey, leadKey, args.leadId, seq, args.unsoldEvent)
redis.call('PUBLISH', args.finalChannel, args.finalMessage)
return 'ok'
