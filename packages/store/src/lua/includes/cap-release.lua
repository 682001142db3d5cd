--[[
  Gives back the cap slot a lead holds at a destination (a reservation that did not end in a
  sale): each counter the reservation incremented is decremented, and the hold is forgotten.
  Holds are recorded on the lead as `cap:<destination>` = the counters' periods joined by '|'
  (`h:2026-12-01T15|d:2026-12-01|t`): short, so the lead's hash stays a listpack (a value over
  hash-max-listpack-value, 64 bytes, turns the whole hash into a hashtable, for good, at about
  twice the memory). A counter's key is `<prefix>:cap:<destination>:<period>`, the prefix the
  lead's own key has (`<prefix>:lead:<id>`). A hold written before (the keys themselves, joined by
  '|') is still read as it was.
]]
local function capCounterKeys(leadKey, destination, held)
  local keys = {}
  local prefix = string.match(leadKey, '^(.*):lead:[^:]+$')
  for part in string.gmatch(held, '[^|]+') do
    if string.find(part, ':cap:', 1, true) then
      keys[#keys + 1] = part
    elseif prefix then
      keys[#keys + 1] = prefix .. ':cap:' .. destination .. ':' .. part
    end
  end
  return keys
end

local function releaseCapSlot(leadKey, destination)
  local holdField = 'cap:' .. destination
  local held = redis.call('HGET', leadKey, holdField)
  if held then
    for _, counterKey in ipairs(capCounterKeys(leadKey, destination, held)) do
      if (tonumber(redis.call('GET', counterKey)) or 0) > 0 then redis.call('DECR', counterKey) end
    end
    redis.call('HDEL', leadKey, holdField)
  end
end
