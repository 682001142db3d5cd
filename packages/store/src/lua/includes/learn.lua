--[[
  What best_revenue learns, on the destination's learnt-figures hash (`a`, `b` overall; `g:<geo>:a`,
  `g:<geo>:b` per geo; `price`). Numbers go to Redis as strings: Redis would cut a Lua float to an
  integer.
]]

-- Fades older evidence by `keep` and adds one observation, overall and for the geo.
local function addObservation(learntKey, geo, success, keep)
  for _, prefix in ipairs({'', 'g:' .. geo .. ':'}) do
    local a = tonumber(redis.call('HGET', learntKey, prefix .. 'a')) or 1
    local b = tonumber(redis.call('HGET', learntKey, prefix .. 'b')) or 1
    a = 1 + (a - 1) * keep
    b = 1 + (b - 1) * keep
    if success then a = a + 1 else b = b + 1 end
    redis.call('HSET', learntKey, prefix .. 'a', string.format('%.6f', a), prefix .. 'b', string.format('%.6f', b))
  end
end

--[[
  One answered try (accepted or rejected). The Beta counts learn from the lead's first answer only:
  a lead other buyers turned down is not a fair sample of a destination. A first answer that sold
  marks the lead `learnt`, so its postbacks can correct it. The learnt price follows every sale (an
  average fading by `priceKeep` per sale). `answered` survives an admin redelivery on purpose: a
  replayed lead was shopped already. `marks` suffixes the lead's marks: '' for an exclusive lead,
  ':<destination>' for a shared one, whose buyers each answer a post of their own (contract §9).
]]
local function learnFromAnswer(leadKey, learntKey, geo, success, keep, payout, priceKeep, marks)
  if redis.call('HINCRBY', leadKey, 'answered' .. marks, 1) == 1 then
    addObservation(learntKey, geo, success, keep)
    if success then redis.call('HSET', leadKey, 'learnt' .. marks, '1') end
  end
  if success then
    local price = tonumber(redis.call('HGET', learntKey, 'price'))
    if price then price = price * priceKeep + payout * (1 - priceKeep) else price = payout end
    redis.call('HSET', learntKey, 'price', string.format('%.6f', price))
  end
end

--[[
  Corrects what a sale taught, after a postback moved the lead from `before` to `after`: a learnt
  sale the buyer later rejects or returns moves one observation (or what there is above the prior's
  1) from the success count to the failure count, overall and for its geo, and back when a rejection
  is withdrawn; what a loss moved is kept on the lead (`learnMoved<i>`), so withdrawing it moves
  back that much, not more. A payout correction moves the learnt price as that sale's share of it
  would have; a payout change that comes with a loss is not a price.
]]
local function learnFromPostback(leadKey, learntKey, geo, before, after, oldPayout, newPayout, priceKeep, lostStatuses, marks)
  local shift = 0
  if lostStatuses[after] and not lostStatuses[before] then shift = 1 elseif lostStatuses[before] and not lostStatuses[after] then shift = -1 end
  if shift ~= 0 and redis.call('HGET', leadKey, 'learnt' .. marks) == '1' then
    for i, prefix in ipairs({'', 'g:' .. geo .. ':'}) do
      local a = tonumber(redis.call('HGET', learntKey, prefix .. 'a')) or 1
      local b = tonumber(redis.call('HGET', learntKey, prefix .. 'b')) or 1
      local movedField = 'learnMoved' .. i .. marks
      local moved
      if shift > 0 then
        moved = math.min(1, a - 1)
        redis.call('HSET', leadKey, movedField, string.format('%.6f', moved))
      else
        moved = -math.min(tonumber(redis.call('HGET', leadKey, movedField)) or 1, b - 1)
        redis.call('HDEL', leadKey, movedField)
      end
      redis.call('HSET', learntKey, prefix .. 'a', string.format('%.6f', a - moved), prefix .. 'b', string.format('%.6f', b + moved))
    end
  end
  local delta = newPayout - oldPayout
  local price = tonumber(redis.call('HGET', learntKey, 'price'))
  if delta ~= 0 and price and not lostStatuses[after] and not lostStatuses[before] then
    redis.call('HSET', learntKey, 'price', string.format('%.6f', math.max(0, price + delta * (1 - priceKeep))))
  end
end
