--[[
  Appends a refused postback's event to a lead's history, up to `bound` refused postbacks per lead
  (counted in the lead's `refusedPostbacks`), so a buyer that repeats itself cannot grow the history
  without limit; a recorded one goes to the ledger too (needs includes/events and includes/ledger).
  Returns whether the event was recorded.
]]
local function recordRefusedPostback(leadKey, eventsKey, ledgerKey, leadId, eventJson, bound)
  if redis.call('HINCRBY', leadKey, 'refusedPostbacks', 1) > bound then return false end
  local seq = pushEvent(leadKey, eventsKey, eventJson)
  appendToLedger(ledgerKey, leadKey, leadId, seq, eventJson)
  return true
end
