--[[
  Fixes a lead's delivery plan (route and ordered candidates) unless one exists, and records the
  `routed` event when this call set it: a re-run of the route step never takes another path.

  KEYS[1] the lead's state hash
  KEYS[2] the lead's events list

  ARGV[1] JSON: plan (JSON text), routedEvent (JSON text)

  Returns the plan in force (JSON text).
]]
local leadKey, eventsKey = KEYS[1], KEYS[2]
local args = cjson.decode(ARGV[1])

local previous = redis.call('HGET', leadKey, 'plan')
if previous then return previous end
redis.call('HSET', leadKey, 'plan', args.plan)
redis.call('RPUSH', eventsKey, args.routedEvent)
return args.plan
