--[[
  Appends an event to a lead's history (a supplier notification's try), and to the ledger.

  KEYS[1] the lead's state hash
  KEYS[2] the lead's events list
  KEYS[3] the ledger's change stream of the lead's bucket ('' when the install runs no ledger)

  ARGV[1] JSON: leadId, event (JSON text)

  Returns the event's position in the history (0 when the lead no longer exists).
]]
--- @include "includes/events"
--- @include "includes/ledger"
local leadKey, eventsKey, ledgerKey = KEYS[1], KEYS[2], KEYS[3]
local args = cjson.decode(ARGV[1])

-- A lead that expired meanwhile (a notification's try can outlast it) is not made again, without a TTL.
if redis.call('EXISTS', leadKey) == 0 then return 0 end
local seq = pushEvent(leadKey, eventsKey, args.event)
appendToLedger(ledgerKey, leadKey, args.leadId, seq, args.event)
return seq
