--[[
  Appends a refused postback's event to a lead's history, up to `bound` refused postbacks per lead
  (counted in the lead's `refusedPostbacks`), so a buyer that repeats itself cannot grow the history
  without limit. Returns whether the event was recorded.
]]
local function recordRefusedPostback(leadKey, eventsKey, eventJson, bound)
  if redis.call('HINCRBY', leadKey, 'refusedPostbacks', 1) > bound then return false end
  redis.call('RPUSH', eventsKey, eventJson)
  return true
end
