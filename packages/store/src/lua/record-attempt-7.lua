--[[
  Records one delivery try and everything that follows from it, in one round trip: the `attempt`
  event, the destination's circuit, what best_revenue learns from an answer, the destination's
  counts of the day (admin view), and then by `action`:
    'sold'  the lead becomes `delivered` if it is still `queued` (so it is sold at most once), with
            its `delivered` event and a message on the final channel; a shared lead (`shared`,
            contract §9) gets the sale `sale:<destination>` = `delivered|<payout>` unless it has it
            (so each buyer buys it once), its lane ends, and it becomes `delivered` at its first
            sale (`soldAt`), the one the final channel hears of;
    'retry' the decision to retry this destination is recorded for the step (first writer wins);
    'next'  the step is marked 'next' (tried: the chain moves on) before the lead's cap slot at this
            destination is given back, so a re-run of this try after a crash resumes the chain and
            never sends the lead to this buyer again, now without a cap slot.

  KEYS[1] the lead's state hash
  KEYS[2] the lead's events list
  KEYS[3] the destination's circuit hash
  KEYS[4] the destination's circuit probe lock
  KEYS[5] the destination's counters of the day (sold, rejected)
  KEYS[6] the destination's learnt figures (best_revenue)
  KEYS[7] the ledger's change stream of the lead's bucket ('' when the install runs no ledger)

  ARGV[1] JSON:
    leadId, attemptEvent (JSON text), circuit ('ok', 'fail' or 'untouched'), nowMs, circuitThreshold,
    circuitCooldownMs, action ('sold', 'retry', 'next'), destination, payout (text), route,
    stepField (`next:<step>`), outcome (the try's: 'accepted', 'rejected', 'error'), geo,
    learningKeep, priceKeep, deliveredEvent (JSON text), finalChannel, finalMessage (JSON text),
    dayCountersTtlMs, shared

  Returns {circuit change (1 opened, -1 closed, 0), result}: for 'sold' 'ok' or the status that
  prevented the sale (a shared lead: 'delivered' when this buyer has its sale, else 'closed');
  for 'retry' the decision in force; for 'next' 'released', or 'sold' when another run of this
  try sold a shared lead here.
]]
--- @include "includes/circuit"
--- @include "includes/learn"
--- @include "includes/cap-release"
--- @include "includes/events"
--- @include "includes/ledger"
local leadKey, eventsKey, circuitKey, probeKey, dayKey, learntKey, ledgerKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local args = cjson.decode(ARGV[1])

local attemptSeq = pushEvent(leadKey, eventsKey, args.attemptEvent)
redis.call('HINCRBY', leadKey, 'attempts', 1)
local change = updateCircuit(circuitKey, probeKey, args.circuit, args.nowMs, args.circuitThreshold, args.circuitCooldownMs)
-- A shared lead's buyers each answer their own post: each learns from its own (learn.lua's marks per buyer).
local marks = args.shared and (':' .. args.destination) or ''
if args.outcome == 'accepted' or args.outcome == 'rejected' then
  learnFromAnswer(leadKey, learntKey, args.geo, args.outcome == 'accepted', args.learningKeep, tonumber(args.payout), args.priceKeep, marks)
end
if args.outcome == 'rejected' then
  redis.call('HINCRBY', dayKey, 'rejected', 1)
  redis.call('PEXPIRE', dayKey, args.dayCountersTtlMs)
end

if args.action == 'sold' and args.shared then
  local status = redis.call('HGET', leadKey, 'status')
  local saleField = 'sale:' .. args.destination
  local open = (tonumber(redis.call('HGET', leadKey, 'lanes')) or 0) > 0
  -- 'next' on this step: another run of this very try (a job run twice at once) took a no and moved
  -- the lane on, giving back its slot; this lane cannot also sell.
  local movedOn = redis.call('HGET', leadKey, args.stepField) == 'next'
  if redis.call('HEXISTS', leadKey, saleField) == 1 or not open or movedOn or (status ~= 'queued' and status ~= 'delivered') then
    appendToLedger(ledgerKey, leadKey, args.leadId, attemptSeq, args.attemptEvent)
    if redis.call('HEXISTS', leadKey, saleField) == 1 then return {change, 'delivered'} end
    return {change, 'closed'}
  end
  -- The step records its sale: a run of the same try that takes a no afterwards keeps the slot.
  redis.call('HSET', leadKey, saleField, 'delivered|' .. args.payout, args.stepField, 'sold')
  redis.call('HINCRBY', leadKey, 'lanes', -1)
  local first = redis.call('HEXISTS', leadKey, 'soldAt') == 0
  if first then redis.call('HSET', leadKey, 'status', 'delivered', 'soldAt', args.nowMs, 'route', args.route) end
  redis.call('HINCRBY', dayKey, 'sold', 1)
  redis.call('PEXPIRE', dayKey, args.dayCountersTtlMs)
  local deliveredSeq = pushEvent(leadKey, eventsKey, args.deliveredEvent)
  appendToLedger(ledgerKey, leadKey, args.leadId, attemptSeq, args.attemptEvent)
  appendToLedger(ledgerKey, leadKey, args.leadId, deliveredSeq, args.deliveredEvent, nil, {booked = args.payout}, {destination = args.destination, status = 'delivered', payout = args.payout})
  if first then redis.call('PUBLISH', args.finalChannel, args.finalMessage) end
  return {change, 'ok'}
end
if args.action == 'sold' then
  local status = redis.call('HGET', leadKey, 'status')
  if status ~= 'queued' then
    appendToLedger(ledgerKey, leadKey, args.leadId, attemptSeq, args.attemptEvent)
    return {change, status or 'missing'}
  end
  redis.call('HSET', leadKey, 'status', 'delivered', 'destination', args.destination, 'payout', args.payout, 'soldAt', args.nowMs, 'route', args.route)
  redis.call('HINCRBY', dayKey, 'sold', 1)
  redis.call('PEXPIRE', dayKey, args.dayCountersTtlMs)
  local deliveredSeq = pushEvent(leadKey, eventsKey, args.deliveredEvent)
  appendToLedger(ledgerKey, leadKey, args.leadId, attemptSeq, args.attemptEvent)
  appendToLedger(ledgerKey, leadKey, args.leadId, deliveredSeq, args.deliveredEvent, nil, {booked = args.payout})
  redis.call('PUBLISH', args.finalChannel, args.finalMessage)
  return {change, 'ok'}
end
if args.action == 'retry' then
  appendToLedger(ledgerKey, leadKey, args.leadId, attemptSeq, args.attemptEvent)
  local previous = redis.call('HGET', leadKey, args.stepField)
  if previous then return {change, previous} end
  redis.call('HSET', leadKey, args.stepField, 'retry')
  return {change, 'retry'}
end
if redis.call('HSETNX', leadKey, args.stepField, 'next') == 0 and redis.call('HGET', leadKey, args.stepField) == 'sold' then
  -- Another run of this try sold the lead here (shared leads): the slot is that sale's.
  appendToLedger(ledgerKey, leadKey, args.leadId, attemptSeq, args.attemptEvent)
  return {change, 'sold'}
end
releaseCapSlot(leadKey, args.destination)
appendToLedger(ledgerKey, leadKey, args.leadId, attemptSeq, args.attemptEvent)
return {change, 'released'}
