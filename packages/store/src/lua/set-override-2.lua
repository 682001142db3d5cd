--[[
  Changes an operator's live override of one destination (contract §11), records the change for
  the ledger's audit events, and tells every process to read the overrides again: one step, so an
  override is never in force without its audit entry, nor announced before it is stored.

  KEYS[1] the overrides hash (field: destination id; value: the override as JSON)
  KEYS[2] the ledger's audit stream (written only when `ledgerOn`)

  ARGV[1] JSON:
    destination  the destination's id
    paused       true (pause), false (resume), or absent (unchanged)
    caps         an object (period -> limit, or null for no cap: merged into the current caps),
                 false (drop every cap override), or absent (unchanged)
    action       the audit event's action (`destination.pause`, ...)
    at           ISO time of the change
    channel      the pub/sub channel of live operations
    auditMax     about how many audit entries may wait for the ledger
    ledgerOn     whether the install runs a ledger

  Returns the destination's override after the change, as JSON ('{}' when it has none).
]]
local args = cjson.decode(ARGV[1])
local current = redis.call('HGET', KEYS[1], args.destination)
local override = current and cjson.decode(current) or {}

if args.paused == true then
  override.paused = true
elseif args.paused == false then
  override.paused = nil
end

if args.caps == false then
  override.caps = nil
elseif type(args.caps) == 'table' then
  local caps = override.caps or {}
  for period, limit in pairs(args.caps) do caps[period] = limit end
  override.caps = caps
end

local encoded = '{}'
if next(override) == nil then
  redis.call('HDEL', KEYS[1], args.destination)
else
  encoded = cjson.encode(override)
  redis.call('HSET', KEYS[1], args.destination, encoded)
end

if args.ledgerOn then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', args.auditMax, '*',
    'action', args.action, 'target', args.destination, 'details', cjson.encode({ override = override, change = { paused = args.paused, caps = args.caps } }), 'at', args.at)
end
redis.call('PUBLISH', args.channel, 'overrides')
return encoded
