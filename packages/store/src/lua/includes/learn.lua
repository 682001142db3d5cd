--[[
  What best_revenue learns, in two halves (contract §12): the lead's half, in the lead's slot,
  decides what one answer or postback teaches (from the lead's own marks) and writes it into the
  destination effect it owes; the destination's half (destination-effects-10.lua) applies it to
  the learnt-figures hash (`a`, `b` overall; `g:<geo>:a`, `g:<geo>:b` per geo; `price`). Numbers
  go to Redis as strings: Redis would cut a Lua float to an integer.
]]

-- Lead half. The Beta counts learn from the lead's first answer only: a lead other buyers turned
-- down is not a fair sample of a destination. A first answer that sold marks the lead `learnt`,
-- so its postbacks can correct it. `answered` survives an admin redelivery on purpose: a replayed
-- lead was shopped already. `marks` suffixes the lead's marks: '' for an exclusive lead,
-- ':<destination>' for a shared one, whose buyers each answer a post of their own (contract §9).
-- Returns whether this answer is an observation.
local function firstAnswer(leadKey, success, marks)
  if redis.call('HINCRBY', leadKey, 'answered' .. marks, 1) ~= 1 then return false end
  if success then redis.call('HSET', leadKey, 'learnt' .. marks, '1') end
  return true
end

-- Lead half of a postback that moved the lead (or sale) from `before` to `after`: a learnt sale
-- the buyer later rejects or returns moves one observation from the success count to the failure
-- count, overall and for its geo, and back when the rejection is withdrawn. What a loss moved is
-- kept on the lead (`learnMoved<i>`), so withdrawing it moves back that much, not more: the
-- destination's half moves at most what is above the prior's 1 and answers how much it moved,
-- which the caller writes back here (learn-moved-1.lua; until then, and should the caller die
-- first, the lead says 1, and a withdrawal moves back at most what there is). A payout correction moves the
-- learnt price as that sale's share of it would have; a payout change that comes with a loss is
-- not a price. Returns the correction ({geo, shift, moved, priceDelta}) or nil.
local function postbackCorrection(leadKey, geo, before, after, oldPayout, newPayout, lostStatuses, marks)
  local correction = {geo = geo, marks = marks, shift = 0, moved = {0, 0}, priceDelta = 0}
  if lostStatuses[after] and not lostStatuses[before] then correction.shift = 1 elseif lostStatuses[before] and not lostStatuses[after] then correction.shift = -1 end
  if correction.shift ~= 0 and redis.call('HGET', leadKey, 'learnt' .. marks) == '1' then
    for i = 1, 2 do
      local movedField = 'learnMoved' .. i .. marks
      if correction.shift > 0 then
        correction.moved[i] = 1
        redis.call('HSET', leadKey, movedField, '1')
      else
        correction.moved[i] = tonumber(redis.call('HGET', leadKey, movedField)) or 1
        redis.call('HDEL', leadKey, movedField)
      end
    end
  else
    correction.shift = 0
  end
  if not lostStatuses[after] and not lostStatuses[before] then correction.priceDelta = newPayout - oldPayout end
  if correction.shift == 0 and correction.priceDelta == 0 then return nil end
  return correction
end

-- Destination half: fades older evidence by `keep` and adds one observation, overall and for the geo.
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

-- Destination half: the learnt price follows every sale (an average fading by `priceKeep` per sale).
local function learnPrice(learntKey, payout, priceKeep)
  local price = tonumber(redis.call('HGET', learntKey, 'price'))
  if price then price = price * priceKeep + payout * (1 - priceKeep) else price = payout end
  redis.call('HSET', learntKey, 'price', string.format('%.6f', price))
end

-- Destination half of postbackCorrection. Returns what a loss moved, overall and for the geo.
local function applyCorrection(learntKey, correction, priceKeep)
  local movedBy = {}
  if correction.shift ~= 0 then
    for i, prefix in ipairs({'', 'g:' .. correction.geo .. ':'}) do
      local a = tonumber(redis.call('HGET', learntKey, prefix .. 'a')) or 1
      local b = tonumber(redis.call('HGET', learntKey, prefix .. 'b')) or 1
      local moved
      if correction.shift > 0 then moved = math.min(correction.moved[i], a - 1) else moved = -math.min(correction.moved[i], b - 1) end
      movedBy[i] = string.format('%.6f', moved)
      redis.call('HSET', learntKey, prefix .. 'a', string.format('%.6f', a - moved), prefix .. 'b', string.format('%.6f', b + moved))
    end
  end
  local price = tonumber(redis.call('HGET', learntKey, 'price'))
  if correction.priceDelta ~= 0 and price then
    redis.call('HSET', learntKey, 'price', string.format('%.6f', math.max(0, price + correction.priceDelta * (1 - priceKeep))))
  end
  return movedBy
end
