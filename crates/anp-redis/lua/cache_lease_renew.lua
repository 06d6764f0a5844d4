-- cache_lease_renew: extends a compute lease while its holder is still computing.
--
-- KEYS[1] anp:c:<ns>:<gen>:l:{<key>}  string: the compute lease token
-- ARGV[1] the holder's token (decimal)
-- ARGV[2] new lease length from now, ms (at least 1)
-- Returns: 1 extended, 0 the token no longer holds the lease (nothing changed).

if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
