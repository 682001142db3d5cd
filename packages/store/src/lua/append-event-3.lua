--[[
  Appends an event to a lead's history (a supplier notification's try), and to the ledger.

  KEYS[1] the lead's state hash
  KEYS[2] the lead's events list
  KEYS[3] the ledger's change stream of the lead's bucket (appended to only when `ledgerOn`)

  ARGV[1] JSON: leadId, event (JSON text), ledgerOn

  Returns the event's position in the history (0 when the lead no longer exists).
]]
--- @include "includes/events"
--- @include "includes/ledger"
local leadKey, eventsKey = KEYS[1], KEYS[2]
local args = cjson.decode(ARGV[1])
local ledgerKey = args.ledgerOn and KEYS[3] or ''

-- A lead that expired meanwhile (a notification's try can outlast it) is not made again, without a TTL.
if redis.call('EXISTS', leadKey) == 0 then return 0 end
local seq = pushEvent(leadKey, eventsKey, args.event)
appendToLedger(ledgerKey, leadKey, args.leadId, seq, args.event)
return seq
