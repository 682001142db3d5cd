--[[
  Appends a change of a lead to the ledger's change stream (contract §10), inside the step that
  made it, so a change can never be made and not recorded. The entry carries the lead id, the
  event's position in the lead's history (`seq`: applying it twice stores it once), the event, the
  lead's state after the step (of a compacted lead, only the fields its hash still has), and, for
  the `received` change only, the lead itself. A change that moves money carries it (`money`: {booked, takenBack}, as text), as the revenue counters of §7
  book it: a sale and an upward correction are booked, a return or a downward correction taken
  back, so the ledger's reports agree with those counters in each figure, not only in the net.
  `streamKey` is '' when the install runs no ledger (no DATABASE_URL): nothing is appended.
  A change of one sale of a shared lead (contract §9: its sale, a postback to it) names that sale
  in the state (`sale`: {destination, status, payout}): the ledger keeps a row per sale from them.
]]
local function appendToLedger(streamKey, leadKey, leadId, seq, eventJson, recordJson, money, sale)
  if streamKey == '' then return end
  local s = redis.call('HMGET', leadKey, 'status', 'destination', 'payout', 'reason', 'route', 'soldAt', 'round', 'compacted')
  local state
  if s[8] then
    -- Compacted (compact-lead-3.lua): the hash keeps only some fields, so the state says only what
    -- it has; the ledger keeps the rest as it was.
    local names = {'status', 'destination', 'payout', 'reason', 'route', 'soldAt', 'round'}
    local partial = {}
    for i, name in ipairs(names) do
      if s[i] then partial[name] = s[i] end
    end
    state = cjson.encode(partial)
  else
    state = cjson.encode({
      status = s[1] or '', destination = s[2] or '', payout = s[3] or '', reason = s[4] or '',
      route = s[5] or '', soldAt = s[6] or '', round = s[7] or '',
    })
  end
  if sale then
    local decoded = cjson.decode(state)
    decoded.saleDestination, decoded.saleStatus, decoded.salePayout = sale.destination, sale.status, sale.payout
    state = cjson.encode(decoded)
  end
  local entry = {'lead', leadId, 'seq', seq, 'event', eventJson, 'state', state}
  if recordJson then
    entry[#entry + 1] = 'record'
    entry[#entry + 1] = recordJson
  end
  if money then
    entry[#entry + 1] = 'booked'
    entry[#entry + 1] = money.booked or '0'
    entry[#entry + 1] = 'takenBack'
    entry[#entry + 1] = money.takenBack or '0'
  end
  redis.call('XADD', streamKey, '*', unpack(entry))
end
