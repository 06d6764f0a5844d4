-- cache_purge_tags: sets the versions of one namespace's purged tags, all at once. Every tag
-- key shares the namespace's hash tag {<ns>}: one slot. A version is kept `keep` ms (the
-- namespace's longest entry lifetime), after which it may expire and read as 0 again.
--
-- KEYS[1] anp:c:{<ns>}:t:<tag>  string: the first tag's version; every further KEYS[i] is
--                               another tag of the same namespace
-- ARGV[1] keep, ms (at least 1)
-- ARGV[1 + i] the new version of KEYS[i] (decimal, non-zero)
-- Returns: the number of tags set.

for i = 1, #KEYS do
  redis.call('SET', KEYS[i], ARGV[i + 1], 'PX', ARGV[1])
end
return #KEYS
