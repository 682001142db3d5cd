--[[
  Applies a destination effect a lead's step owes (includes/owed.lua), in the destination's slot
  (contract §12): the try's circuit verdict, what best_revenue learns from an answer or a
  postback, the day's sold and rejected counts, and the settling of the lead's cap hold (given
  back, or consumed by a sale). Once per effect: the destination keeps a receipt of each effect
  id for `receiptWindowMs`, so the caller's call and housekeeping's replay of the same entry
  apply it once.

  KEYS[1] the destination's circuit hash
  KEYS[2] its circuit probe lock
  KEYS[3] its counters of the effect's day (sold, rejected)
  KEYS[4] its learnt figures (best_revenue)
  KEYS[5] its receipts of applied effects (sorted set by when)
  KEYS[6] its cap holds
  KEYS[7] its live holds
  KEYS[8] the hourly cap counter of the effect's hold's period (its value names the periods)
  KEYS[9] the daily cap counter of its period
  KEYS[10] the total cap counter

  ARGV[1] JSON: effect (the owed entry, JSON text: id, lead, destination, and any of circuit
    {verdict, nowMs, threshold, cooldownMs}, observe {geo, success, keep}, price {payout, keep},
    correction {geo, shift, moved, priceDelta, priceKeep}, day {field, day, ttlMs},
    hold {value, consume}), nowMs, receiptWindowMs

  Returns {circuit change (1 opened, -1 closed, 0), 'applied' or 'seen'}, and for a loss that
  moved learnt counts, how much it moved overall and for the geo (the lead keeps them).
]]
--- @include "includes/circuit"
--- @include "includes/learn"
--- @include "includes/cap-hold"
local circuitKey, probeKey, dayKey, learntKey, receiptsKey, holdsKey, liveKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local args = cjson.decode(ARGV[1])
local e = cjson.decode(args.effect)

if redis.call('ZSCORE', receiptsKey, e.id) then return {0, 'seen'} end
local change = 0
if e.circuit then change = updateCircuit(circuitKey, probeKey, e.circuit.verdict, e.circuit.nowMs, e.circuit.threshold, e.circuit.cooldownMs) end
if e.observe then addObservation(learntKey, e.observe.geo, e.observe.success, e.observe.keep) end
if e.price then learnPrice(learntKey, e.price.payout, e.price.keep) end
local moved = {}
if e.correction then moved = applyCorrection(learntKey, e.correction, e.correction.priceKeep) end
if e.day then
  redis.call('HINCRBY', dayKey, e.day.field, 1)
  redis.call('PEXPIRE', dayKey, e.day.ttlMs)
end
if e.hold and type(e.hold.value) == 'string' then settleHold(holdsKey, liveKey, {KEYS[8], KEYS[9], KEYS[10]}, e.lead, e.hold.value, e.hold.consume) end
redis.call('ZADD', receiptsKey, args.nowMs, e.id)
redis.call('ZREMRANGEBYSCORE', receiptsKey, '-inf', args.nowMs - args.receiptWindowMs)
-- An idle destination's receipts go with their window.
redis.call('PEXPIRE', receiptsKey, args.receiptWindowMs)
if e.correction and e.correction.shift > 0 then return {change, 'applied', moved[1] or '', moved[2] or ''} end
return {change, 'applied'}
