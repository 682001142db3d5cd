--[[
  Applies an owed destination effect in the destination's slot: the body of
  destination-effects-10.lua (whose header names the keys, the argument and the reply) and of
  destination-effects-owed-11.lua, which also clears the owed entry (one Redis: one step).
]]
--- @include "includes/circuit"
--- @include "includes/learn"
--- @include "includes/cap-hold"

local function applyDestinationEffect(keys, args)
  local circuitKey, probeKey, dayKey, learntKey, receiptsKey, holdsKey, liveKey = keys[1], keys[2], keys[3], keys[4], keys[5], keys[6], keys[7]
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
  if e.hold and type(e.hold.value) == 'string' then settleHold(holdsKey, liveKey, {keys[8], keys[9], keys[10]}, e.lead, e.hold.value, e.hold.consume) end
  redis.call('ZADD', receiptsKey, args.nowMs, e.id)
  redis.call('ZREMRANGEBYSCORE', receiptsKey, '-inf', args.nowMs - args.receiptWindowMs)
  -- An idle destination's receipts go with their window.
  redis.call('PEXPIRE', receiptsKey, args.receiptWindowMs)
  if e.correction and e.correction.shift > 0 then return {change, 'applied', moved[1] or '', moved[2] or ''} end
  return {change, 'applied'}
end
