--[[
  A destination effect a lead's step owes (contract §12): what the step changes in the
  destination's slot (circuit, learning, day counts, a cap hold to settle), which one Lua step of
  the lead cannot touch on a Redis Cluster. The lead's step writes it to its bucket's `owed` set
  (in the lead's slot) with everything else it does, and returns it; the caller applies it at
  once in the destination's slot (destination-effects-10.lua) and then removes it. Housekeeping
  replays an entry a crash left behind; the destination keeps a receipt of each effect it applied
  (by `id`: the lead and the event's seq), so a replay applies nothing twice.
]]
local function oweEffect(owedKey, nowMs, effect)
  local text = cjson.encode(effect)
  redis.call('ZADD', owedKey, nowMs, text)
  return text
end
