--[[
  Gives back the cap slot a lead holds at a destination (a reservation that did not end in a
  sale): each counter the reservation incremented is decremented, and the hold is forgotten.
  Holds are recorded on the lead as `cap:<destination>` = the counter keys joined by '|'. Those
  keys were passed to the script that reserved them; this one only reads them back.
]]
local function releaseCapSlot(leadKey, destination)
  local holdField = 'cap:' .. destination
  local held = redis.call('HGET', leadKey, holdField)
  if held then
    for counterKey in string.gmatch(held, '[^|]+') do
      if (tonumber(redis.call('GET', counterKey)) or 0) > 0 then redis.call('DECR', counterKey) end
    end
    redis.call('HDEL', leadKey, holdField)
  end
end
