--[[
  Appends a change of a lead to the ledger's change stream (contract §10), inside the step that
  made it, so a change can never be made and not recorded. The entry carries the lead id, the
  event's position in the lead's history (`seq`: applying it twice stores it once), the event, the
  lead's state after the step, and, for the `received` change only, the lead itself.
  `streamKey` is '' when the install runs no ledger (no DATABASE_URL): nothing is appended.
]]
local function appendToLedger(streamKey, leadKey, leadId, seq, eventJson, recordJson)
  if streamKey == '' then return end
  local s = redis.call('HMGET', leadKey, 'status', 'destination', 'payout', 'reason', 'route', 'soldAt', 'round')
  local state = cjson.encode({
    status = s[1] or '', destination = s[2] or '', payout = s[3] or '', reason = s[4] or '',
    route = s[5] or '', soldAt = s[6] or '', round = s[7] or '',
  })
  if recordJson then
    redis.call('XADD', streamKey, '*', 'lead', leadId, 'seq', seq, 'event', eventJson, 'state', state, 'record', recordJson)
  else
    redis.call('XADD', streamKey, '*', 'lead', leadId, 'seq', seq, 'event', eventJson, 'state', state)
  end
end
