--[[
  Applies a destination's postback to a lead (contract §5), atomically, so concurrent postbacks for
  one lead never lose an update; owes the destination the correction of its learnt figures
  (best_revenue: includes/owed.lua, applied in the destination's slot right after); and puts
  the supplier notification it calls for in the notification outbox in the same step, so that it is
  sent even when the postback process dies before queueing it. Every postback is recorded on the
  lead (refused ones up to a bound).

  KEYS[1] the lead's state hash
  KEYS[2] the lead's events list
  KEYS[3] the postback event ids already applied to the lead (set)
  KEYS[4] the notification outbox of the lead's bucket (sorted set, scored by Redis's clock, which the workers' sweep reads too)
  KEYS[5] the ledger's change stream of the lead's bucket (appended to only when `ledgerOn`)
  KEYS[6] the owed destination effects of the lead's bucket

  ARGV[1] JSON:
    leadId, destination, status (the new one), payout (text, '' = none), eventId ('' = none),
    event (JSON text with __RESULT__ where the outcome goes), retentionMs, priceKeep,
    outboxEntry (this postback's notification), refusedBound,
    transitions ({from: [to, ...]}: the allowed changes, from packages/lead),
    lostStatuses ([status, ...]: a sale that reaches one is lost to learning), nowMs, ledgerOn

  A shared lead (contract §9) has a sale per buyer (`sale:<destination>` = `<status>|<payout>`): the
  postback applies to the sale of its destination, with that sale's status and payout, and the
  lead's own status (`delivered` from its first sale) stays.

  Returns {result, status in force, old payout, new payout, lead source, lead supplier}, result one of
  'not_found', 'pending' (the lead is still queued with this destination in its plan: not sold yet),
  'duplicate', 'invalid_transition', 'applied'.
]]
--- @include "includes/learn"
--- @include "includes/events"
--- @include "includes/ledger"
--- @include "includes/record-refused"
--- @include "includes/owed"
local leadKey, eventsKey, seenKey, outboxKey, owedKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[6]
local args = cjson.decode(ARGV[1])
local ledgerKey = args.ledgerOn and KEYS[5] or ''

local status = redis.call('HGET', leadKey, 'status')
if not status then return {'not_found', '', '', '', '', ''} end
local saleField = 'sale:' .. args.destination
local sale = redis.call('HGET', leadKey, saleField)
local payout = redis.call('HGET', leadKey, 'payout') or '0'
if sale then
  local bar = string.find(sale, '|', 1, true)
  status, payout = string.sub(sale, 1, bar - 1), string.sub(sale, bar + 1)
elseif redis.call('HGET', leadKey, 'destination') ~= args.destination then
  -- Still being delivered (queued, or a shared lead's lanes still running) and this destination is
  -- in its plan: the sale this postback is about may be a moment from being recorded.
  local plan = redis.call('HGET', leadKey, 'plan')
  local delivering = status == 'queued' or (status == 'delivered' and (tonumber(redis.call('HGET', leadKey, 'lanes')) or 0) > 0)
  if delivering and plan then
    local ok, decoded = pcall(cjson.decode, plan)
    if ok and type(decoded) == 'table' and type(decoded.candidates) == 'table' then
      for _, candidate in ipairs(decoded.candidates) do
        if candidate == args.destination then return {'pending', status, '', '', '', ''} end
      end
    end
  end
  return {'not_found', '', '', '', '', ''}
end
local source = redis.call('HGET', leadKey, 'source') or ''
local supplier = redis.call('HGET', leadKey, 'supplier') or ''
local function eventFor(result)
  return (string.gsub(args.event, '__RESULT__', result))
end
local function refused(result)
  recordRefusedPostback(leadKey, eventsKey, ledgerKey, args.leadId, eventFor(result), args.refusedBound)
  return {result, status, payout, payout, source, supplier}
end

-- Event ids are each buyer's own: a shared lead's buyers may well number theirs alike.
local seenId = sale and (args.destination .. '|' .. args.eventId) or args.eventId
if args.eventId ~= '' and redis.call('SISMEMBER', seenKey, seenId) == 1 then return refused('duplicate') end
local new = args.status
if new == status then return refused('duplicate') end
local allowed = false
for _, to in ipairs(args.transitions[status] or {}) do
  if to == new then allowed = true end
end
if not allowed then return refused('invalid_transition') end

local lost = {}
for _, s in ipairs(args.lostStatuses) do lost[s] = true end
-- A payout sent with `returned` is ignored: the return takes back the payout on record.
local newPayout = payout
if args.payout ~= '' and new ~= 'returned' then newPayout = args.payout end
if sale then
  redis.call('HSET', leadKey, saleField, new .. '|' .. newPayout)
else
  redis.call('HSET', leadKey, 'status', new, 'payout', newPayout)
end
if args.eventId ~= '' then
  redis.call('SADD', seenKey, seenId)
  redis.call('PEXPIRE', seenKey, args.retentionMs)
end
local geo = redis.call('HGET', leadKey, 'geo') or ''
local correction = postbackCorrection(leadKey, geo, status, new, tonumber(payout), tonumber(newPayout), lost, sale and (':' .. args.destination) or '')
local seq = pushEvent(leadKey, eventsKey, eventFor('applied'))
local owed = ''
if correction then
  correction.priceKeep = args.priceKeep
  owed = oweEffect(owedKey, args.nowMs, {id = args.leadId .. ':' .. seq, lead = args.leadId, destination = args.destination, correction = correction})
end
-- What the revenue counters book for this change (apply-postback.ts, bookRevenueChange), for the ledger.
local money = {}
local before, after = tonumber(payout) or 0, tonumber(newPayout) or 0
if new == 'returned' then
  if before > 0 then money.takenBack = payout end
elseif after > before then
  money.booked = tostring(after - before)
elseif after < before then
  money.takenBack = tostring(before - after)
end
appendToLedger(ledgerKey, leadKey, args.leadId, seq, eventFor('applied'), nil, money, sale and {destination = args.destination, status = new, payout = newPayout} or nil)
local now = redis.call('TIME')
redis.call('ZADD', outboxKey, tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000), args.outboxEntry)
return {'applied', new, payout, newPayout, source, supplier, owed}
