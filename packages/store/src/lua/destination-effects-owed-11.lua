--[[
  destination-effects-10.lua, and the owed entry cleared in the same step: used on one Redis, where
  the lead's bucket and the destination share the node (on a Redis Cluster the entry is cleared by
  a call of its own, in the lead's slot). Applies a destination effect a lead's step owes
  (includes/owed.lua): the try's circuit verdict, what best_revenue learns from an answer or a
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
  KEYS[11] the owed effects of the lead's bucket, from which the entry is cleared

  ARGV[1] JSON: effect (the owed entry, JSON text: id, lead, destination, and any of circuit
    {verdict, nowMs, threshold, cooldownMs}, observe {geo, success, keep}, price {payout, keep},
    correction {geo, shift, moved, priceDelta, priceKeep}, day {field, day, ttlMs},
    hold {value, consume}), nowMs, receiptWindowMs

  Returns {circuit change (1 opened, -1 closed, 0), 'applied' or 'seen'}, and for a loss that
  moved learnt counts, how much it moved overall and for the geo (the lead keeps them).
]]
--- @include "includes/destination-effects"
local args = cjson.decode(ARGV[1])
local reply = applyDestinationEffect(KEYS, args)
-- Applied now or seen before (a replay): either way nothing is owed any more.
redis.call('ZREM', KEYS[11], args.effect)
return reply
