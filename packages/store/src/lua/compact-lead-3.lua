--[[
  Compacts a final lead whose changes are all in the ledger (contract §10): its fields (data key)
  and its history (events list) go, and its state hash keeps only what later steps read: status,
  sale and money (postbacks), supplier, source, geo and the click id (postbacks' metrics and
  supplier notifications), learning marks (postbacks correct what a sale taught), the
  refused-postback count, the round (the failed-jobs sweep and job re-runs read it), and, for an
  unsold lead, the answer count a redelivery's learning reads.
  Route and soldAt go: the ledger has them, and a compacted lead's later changes send only the
  fields its hash has (includes/ledger.lua).
  `compacted` records the last event the ledger holds: events after it (a later postback) go to
  a new list, and a read joins the two.

  Only when nothing happened since the ledger stored event `seq`: a newer change is compacted once
  the ledger has it too. Only a final lead: one still being routed needs all of it. Cap markers
  of destinations that did not buy the lead go: a hold a crash left there is then given back by
  the cap sweeper (cap-check-1.lua: no marker names it). A buyer's marker stays: it names its
  sale's hold, which the sweeper must know for the sale's.

  KEYS[1] the lead's state hash
  KEYS[2] the lead's data (its fields as JSON)
  KEYS[3] the lead's events list

  ARGV[1] JSON: seq (the last event the ledger holds), finalStatuses ([status]), keep ([field]),
    keepPrefixes ([prefix]: fields kept by the start of their name), keepIfUnsold ([field]: what
    only a redelivery reads)

  Returns 'compacted', 'missing', 'newer' (a change since seq), 'not_final', or 'delivering' (a
  shared lead, `delivered`, whose other lanes still run).
]]
local leadKey, dataKey, eventsKey = KEYS[1], KEYS[2], KEYS[3]
local args = cjson.decode(ARGV[1])

local seq = redis.call('HGET', leadKey, 'seq')
if not seq then return 'missing' end
if tonumber(seq) ~= tonumber(args.seq) then return 'newer' end
local status = redis.call('HGET', leadKey, 'status')
local final = false
for _, s in ipairs(args.finalStatuses) do
  if s == status then final = true end
end
if not final then return 'not_final' end
-- A shared lead is `delivered` from its first sale while its other lanes may still deliver.
-- Its last lane may end without a change the ledger hears of: the caller schedules it again.
if (tonumber(redis.call('HGET', leadKey, 'lanes')) or 0) > 0 then return 'delivering' end

local data = redis.call('GET', dataKey)
if data then
  local ok, decoded = pcall(cjson.decode, data)
  if ok and type(decoded) == 'table' and type(decoded.click_id) == 'string' and decoded.click_id ~= '' then
    redis.call('HSET', leadKey, 'clickId', decoded.click_id)
  end
end
local keep = {}
for _, field in ipairs(args.keep) do keep[field] = true end
-- A buyer's cap marker names its sale's hold, which the sale's owed effect (or the cap sweeper)
-- consumes: kept, so a hold a crash left unsettled is known for the sale's, not given back.
local buyer = redis.call('HGET', leadKey, 'destination')
if buyer then keep['cap:' .. buyer] = true end
local fields = redis.call('HKEYS', leadKey)
for _, field in ipairs(fields) do
  if string.sub(field, 1, 5) == 'sale:' then keep['cap:' .. string.sub(field, 6)] = true end
end
if status == 'unsold' then
  for _, field in ipairs(args.keepIfUnsold) do keep[field] = true end
end
local drop = {}
for _, field in ipairs(fields) do
  local kept = keep[field]
  for _, prefix in ipairs(args.keepPrefixes) do
    if string.sub(field, 1, string.len(prefix)) == prefix then kept = true end
  end
  if not kept then drop[#drop + 1] = field end
end
if #drop > 0 then redis.call('HDEL', leadKey, unpack(drop)) end
redis.call('HSET', leadKey, 'compacted', seq)
redis.call('DEL', dataKey, eventsKey)
return 'compacted'
