--[[
  Fixes a lead's delivery plan (route and ordered candidates) unless one exists, and records the
  `routed` event when this call set it: a re-run of the route step never takes another path.
  A shared auction's plan (contract §9) opens its lanes with it: `lanes` counts those still running.

  KEYS[1] the lead's state hash
  KEYS[2] the lead's events list
  KEYS[3] the ledger's change stream of the lead's bucket (appended to only when `ledgerOn`)

  ARGV[1] JSON: leadId, plan (JSON text), routedEvent (JSON text), lanes (0 for an exclusive lead), ledgerOn

  Returns the plan in force (JSON text).
]]
--- @include "includes/events"
--- @include "includes/ledger"
local leadKey, eventsKey = KEYS[1], KEYS[2]
local args = cjson.decode(ARGV[1])
local ledgerKey = args.ledgerOn and KEYS[3] or ''

local previous = redis.call('HGET', leadKey, 'plan')
if previous then return previous end
redis.call('HSET', leadKey, 'plan', args.plan)
if args.lanes > 0 then redis.call('HSET', leadKey, 'lanes', args.lanes) end
local seq = pushEvent(leadKey, eventsKey, args.routedEvent)
appendToLedger(ledgerKey, leadKey, args.leadId, seq, args.routedEvent)
return args.plan
