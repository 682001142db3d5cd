--[[
  Records one delivery try and everything that follows from it, in the lead's slot: the `attempt`
  event, and, owed to the destination (includes/owed.lua: applied in its slot right after), its
  circuit, what best_revenue learns from an answer, its counts of the day (admin view) and the
  settling of the lead's cap hold there. Then by `action`:
    'sold'  the lead becomes `delivered` if it is still `queued` and holds its cap slot here (its
            marker, decide-1.lua: so it is sold at most once and never past a cap), with
            its `delivered` event and a message on the final channel; a shared lead (`shared`,
            contract §9) gets the sale `sale:<destination>` = `delivered|<payout>` unless it has it
            (so each buyer buys it once), its lane ends, and it becomes `delivered` at its first
            sale (`soldAt`), the one the final channel hears of; the hold is consumed (the slot
            stays counted);
    'retry' the decision to retry this destination is recorded for the step (first writer wins);
    'next'  the step is marked 'next' (tried: the chain moves on) and the lead gives up its cap
            hold here (marker gone, token fenced; the owed effect gives the slot back), so a re-run
            of this try after a crash resumes the chain and never sends the lead to this buyer
            again, now without a cap slot.

  Why a crash between the halves cannot oversell or sell twice: the sale is decided here alone,
  on lead-slot facts (`queued` -> `delivered`, the marker); the destination's half only counts.
  A hold the crash left unsettled is settled by the owed entry's replay, or else by the cap
  sweeper (cap-check-1.lua): at worst a slot stays taken for a while.

  KEYS[1] the lead's state hash
  KEYS[2] the lead's events list
  KEYS[3] the ledger's change stream of the lead's bucket (appended to only when `ledgerOn`)
  KEYS[4] the owed destination effects of the lead's bucket

  ARGV[1] JSON:
    leadId, attemptEvent (JSON text), circuit ('ok', 'fail' or 'untouched'), nowMs, circuitThreshold,
    circuitCooldownMs, action ('sold', 'retry', 'next'), destination, payout (text), route,
    stepField (`next:<step>`), outcome (the try's: 'accepted', 'rejected', 'error'), geo,
    learningKeep, priceKeep, deliveredEvent (JSON text), finalChannel, finalMessage (JSON text),
    day (the destination's local day, for its counters), dayCountersTtlMs, shared, ledgerOn

  Returns {result, owed effect (JSON text)}: for 'sold' 'ok' or the status that prevented the sale
  ('closed' when the lead no longer holds a slot here; a shared lead: 'delivered' when this buyer
  has its sale, else 'closed'); for 'retry' the decision in force; for 'next' 'released', or
  'sold' when another run of this try sold a shared lead here.
]]
--- @include "includes/cap-hold"
--- @include "includes/learn"
--- @include "includes/events"
--- @include "includes/ledger"
--- @include "includes/owed"
local leadKey, eventsKey, owedKey = KEYS[1], KEYS[2], KEYS[4]
local args = cjson.decode(ARGV[1])
local ledgerKey = args.ledgerOn and KEYS[3] or ''

local attemptSeq = pushEvent(leadKey, eventsKey, args.attemptEvent)
redis.call('HINCRBY', leadKey, 'attempts', 1)
local effect = {
  id = args.leadId .. ':' .. attemptSeq, lead = args.leadId, destination = args.destination,
  circuit = {verdict = args.circuit, nowMs = args.nowMs, threshold = args.circuitThreshold, cooldownMs = args.circuitCooldownMs},
}
-- A shared lead's buyers each answer their own post: each learns from its own (marks per buyer).
local marks = args.shared and (':' .. args.destination) or ''
if args.outcome == 'accepted' or args.outcome == 'rejected' then
  local success = args.outcome == 'accepted'
  if firstAnswer(leadKey, success, marks) then effect.observe = {geo = args.geo, success = success, keep = args.learningKeep} end
  if success then effect.price = {payout = tonumber(args.payout), keep = args.priceKeep} end
end
if args.outcome == 'rejected' then effect.day = {field = 'rejected', day = args.day, ttlMs = args.dayCountersTtlMs} end
local function done(result)
  appendToLedger(ledgerKey, leadKey, args.leadId, attemptSeq, args.attemptEvent)
  return {result, oweEffect(owedKey, args.nowMs, effect)}
end
local function sold()
  effect.day = {field = 'sold', day = args.day, ttlMs = args.dayCountersTtlMs}
  effect.hold = {value = redis.call('HGET', leadKey, 'cap:' .. args.destination), consume = true}
  local deliveredSeq = pushEvent(leadKey, eventsKey, args.deliveredEvent)
  appendToLedger(ledgerKey, leadKey, args.leadId, attemptSeq, args.attemptEvent)
  return deliveredSeq
end
local holds = redis.call('HEXISTS', leadKey, 'cap:' .. args.destination) == 1

if args.action == 'sold' and args.shared then
  local status = redis.call('HGET', leadKey, 'status')
  local saleField = 'sale:' .. args.destination
  local open = (tonumber(redis.call('HGET', leadKey, 'lanes')) or 0) > 0
  -- 'next' on this step: another run of this very try (a job run twice at once) took a no and moved
  -- the lane on, giving back its slot; this lane cannot also sell.
  local movedOn = redis.call('HGET', leadKey, args.stepField) == 'next'
  if redis.call('HEXISTS', leadKey, saleField) == 1 then return done('delivered') end
  if not open or movedOn or not holds or (status ~= 'queued' and status ~= 'delivered') then return done('closed') end
  -- The step records its sale: a run of the same try that takes a no afterwards keeps the slot.
  redis.call('HSET', leadKey, saleField, 'delivered|' .. args.payout, args.stepField, 'sold')
  redis.call('HINCRBY', leadKey, 'lanes', -1)
  local first = redis.call('HEXISTS', leadKey, 'soldAt') == 0
  if first then redis.call('HSET', leadKey, 'status', 'delivered', 'soldAt', args.nowMs, 'route', args.route) end
  local deliveredSeq = sold()
  appendToLedger(ledgerKey, leadKey, args.leadId, deliveredSeq, args.deliveredEvent, nil, {booked = args.payout}, {destination = args.destination, status = 'delivered', payout = args.payout})
  if first then redis.call('PUBLISH', args.finalChannel, args.finalMessage) end
  return {'ok', oweEffect(owedKey, args.nowMs, effect)}
end
if args.action == 'sold' then
  local status = redis.call('HGET', leadKey, 'status')
  if status ~= 'queued' then return done(status or 'missing') end
  -- No hold: another run of this try moved on and gave the slot back (a job run twice at once).
  if not holds then return done('closed') end
  -- The step records its sale too: a no of another run of this try afterwards keeps the sale's slot.
  redis.call('HSET', leadKey, 'status', 'delivered', 'destination', args.destination, 'payout', args.payout, 'soldAt', args.nowMs, 'route', args.route, args.stepField, 'sold')
  local deliveredSeq = sold()
  appendToLedger(ledgerKey, leadKey, args.leadId, deliveredSeq, args.deliveredEvent, nil, {booked = args.payout})
  redis.call('PUBLISH', args.finalChannel, args.finalMessage)
  return {'ok', oweEffect(owedKey, args.nowMs, effect)}
end
if args.action == 'retry' then
  local previous = redis.call('HGET', leadKey, args.stepField)
  if previous then return done(previous) end
  redis.call('HSET', leadKey, args.stepField, 'retry')
  return done('retry')
end
if redis.call('HSETNX', leadKey, args.stepField, 'next') == 0 and redis.call('HGET', leadKey, args.stepField) == 'sold' then
  -- Another run of this try sold the lead here: the slot is that sale's, and its marker stays.
  return done('sold')
end
local hold = giveUpMarker(leadKey, args.destination)
if hold then effect.hold = {value = hold, consume = false} end
return done('released')
