--[[
  Stores a new lead in its lead's slot, unless its dedupe fields were seen before: record, first
  event, dedupe mark, ledger entry and intake outbox entry, or nothing at all. Used by
  store-lead-6.lua and store-lead-idempotent-7.lua, whose headers name the keys and arguments.
  Returns {'accepted'} | {'duplicate', original lead id} | {'fenced'} (the id was fenced, or exists)
]]
--- @include "includes/events"
--- @include "includes/ledger"

local function storeLead(dedupeKey, leadKey, eventsKey, outboxKey, dataKey, ledgerKey, args)
  if redis.call('EXISTS', leadKey) == 1 then
    -- This very store, run before with its reply lost (a client resends a command whose
    -- connection dropped): the lead is stored. Anything else under the id is a fence.
    local stored = redis.call('HMGET', leadKey, 'supplier', 'createdAt')
    if stored[1] == args.supplier and stored[2] == args.createdAt then return {'accepted'} end
    return {'fenced'}
  end
  if args.dedupe then
    local original = redis.call('GET', dedupeKey)
    if original then return {'duplicate', original} end
    redis.call('SET', dedupeKey, args.leadId, 'PX', args.dedupeTtlMs)
  end
  redis.call('HSET', leadKey, 'supplier', args.supplier, 'status', 'queued', 'quality', args.quality,
    'createdAt', args.createdAt, 'phoneNational', args.phoneNational, 'source', args.source, 'geo', args.geo, 'seq', 0)
  redis.call('PEXPIRE', leadKey, args.retentionMs)
  redis.call('SET', dataKey, args.data, 'PX', args.retentionMs)
  local seq = pushEvent(leadKey, eventsKey, args.receivedEvent)
  redis.call('PEXPIRE', eventsKey, args.retentionMs)
  appendToLedger(ledgerKey, leadKey, args.leadId, seq, args.receivedEvent, args.ledgerRecord)
  redis.call('ZADD', outboxKey, args.createdAt, args.leadId)
  return {'accepted'}
end
