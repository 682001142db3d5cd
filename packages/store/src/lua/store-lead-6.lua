--[[
  Stores a new lead atomically in its lead's slot, unless its dedupe fields were seen before:
  record, first event, dedupe mark and intake outbox entry, or nothing at all. A deduped lead's
  id carries its dedupe digest's bucket, so the dedupe key shares the lead's slot (contract §12).
  An idempotency key lives in a slot of its own: its claim and answer are steps of their own
  (idempotency-claim-1.lua, idempotency-answer-1.lua), and a claim taken over from a request that
  stalled fences that request's lead id first (lead-fence-1.lua), so this step refuses it: one
  lead per idempotency key.

  KEYS[1] the dedupe key (used only when `dedupe`; any key of the lead's slot otherwise)
  KEYS[2] the lead's state hash
  KEYS[3] the lead's events list
  KEYS[4] the intake's outbox of the lead's bucket (sorted set by arrival): stored, not yet picked up by a worker
  KEYS[5] the lead's data (its fields as JSON)
  KEYS[6] the ledger's change stream of the lead's bucket (appended to only when `ledgerOn`)

  ARGV[1] JSON:
    leadId, createdAt (ms, as text), retentionMs, dedupe, dedupeTtlMs,
    data (the lead's fields, JSON text), supplier, quality (text), phoneNational, source, geo
      (source and geo are kept in the state hash for postback metrics and learning),
    receivedEvent (JSON text), ledgerRecord (JSON text: the lead for the ledger, with the digests
    search matches on), ledgerOn

  Returns {'accepted'} | {'duplicate', original lead id} | {'fenced'} (the id was fenced, or exists)
]]
--- @include "includes/events"
--- @include "includes/ledger"
local dedupeKey, leadKey, eventsKey, outboxKey, dataKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local args = cjson.decode(ARGV[1])
local ledgerKey = args.ledgerOn and KEYS[6] or ''

if redis.call('EXISTS', leadKey) == 1 then
  -- This very store, run before with its reply lost (a client resends a command whose connection
  -- dropped): the lead is stored. Anything else under the id is a fence.
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
