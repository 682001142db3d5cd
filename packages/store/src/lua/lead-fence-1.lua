--[[
  Fences a lead id that a stale idempotency claim names (idempotency-claim-1.lua), in the lead's
  slot: if the lead was stored after all, it is the key's lead ('stored'); otherwise the id is
  marked so that its late store refuses it (store-lead-6.lua: the key exists), and the claim may be
  taken over ('fenced'). The mark expires with the idempotency window.

  KEYS[1] the lead's state hash

  ARGV[1] JSON: ttlMs

  Returns 'stored' or 'fenced'.
]]
local args = cjson.decode(ARGV[1])
if redis.call('HEXISTS', KEYS[1], 'supplier') == 1 then return 'stored' end
redis.call('HSET', KEYS[1], 'fenced', '1')
redis.call('PEXPIRE', KEYS[1], args.ttlMs)
return 'fenced'
