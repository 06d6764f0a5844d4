-- cache_lease_release: gives a compute lease up (the computation failed), only if the caller
-- still holds it: a lease taken over by another process is left alone.
--
-- KEYS[1] anp:c:<ns>:<gen>:l:{<key>}  string: the compute lease token
-- ARGV[1] the holder's token (decimal)
-- Returns: 1 released, 0 the token did not hold the lease.

if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('DEL', KEYS[1])
return 1
