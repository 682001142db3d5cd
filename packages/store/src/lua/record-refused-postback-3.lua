--[[
  Records a postback refused as invalid on the lead, when the lead is the destination's (its one
  sale, or one of a shared lead's sales), up to the
  bound on refused postbacks per lead (shared with POSTBACK's repeats and disallowed changes).

  KEYS[1] the lead's state hash
  KEYS[2] the lead's events list
  KEYS[3] the ledger's change stream of the lead's bucket (appended to only when `ledgerOn`)

  ARGV[1] JSON: leadId, destination, event (JSON text), refusedBound, ledgerOn

  Returns the lead's source, or nil when the lead is not this destination's.
]]
--- @include "includes/events"
--- @include "includes/ledger"
--- @include "includes/record-refused"
local leadKey, eventsKey = KEYS[1], KEYS[2]
local args = cjson.decode(ARGV[1])
local ledgerKey = args.ledgerOn and KEYS[3] or ''

if redis.call('HGET', leadKey, 'destination') ~= args.destination and redis.call('HEXISTS', leadKey, 'sale:' .. args.destination) == 0 then return false end
recordRefusedPostback(leadKey, eventsKey, ledgerKey, args.leadId, args.event, args.refusedBound)
return redis.call('HGET', leadKey, 'source') or ''
