-- cache_write: the fenced write that ends a computation. Stores the entry only while the key's
-- compute lease still holds the writer's token, and gives the lease up in the same step, so a
-- computation that stalled past its lease never overwrites a newer value. (An unfenced write is
-- a plain SET … PX, no script.) Entry and lease share the hash tag {<key>}: one slot.
--
-- KEYS[1] anp:c:<ns>:<gen>:e:{<key>}  string: the envelope
-- KEYS[2] anp:c:<ns>:<gen>:l:{<key>}  string: the compute lease token
-- ARGV[1] the writer's lease token (decimal)
-- ARGV[2] how long the entry is kept, ms (at least 1)
-- ARGV[3] the envelope bytes
-- Returns: 1 stored (lease released), 0 not stored (the lease expired or another holds it).

if redis.call('GET', KEYS[2]) ~= ARGV[1] then
  return 0
end
redis.call('DEL', KEYS[2])
redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[2])
return 1
