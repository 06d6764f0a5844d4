-- KEYS: jobs, avail ; ARGV: n, now
local n, now = tonumber(ARGV[1]), ARGV[2]
for c = 1, n, 250 do
  local kv, z = {}, {}
  for i = c, math.min(n, c + 249) do
    local id = string.format('0193%028d', i)
    kv[#kv+1] = id; kv[#kv+1] = '0 0 25 ' .. now .. ' ' .. now .. ' - - noop'
    kv[#kv+1] = id .. ':a'; kv[#kv+1] = '{"i":' .. i .. '}'
    z[#z+1] = string.sub(now, 1, 13); z[#z+1] = id
  end
  redis.call('HSET', KEYS[1], unpack(kv))
  redis.call('ZADD', KEYS[2], unpack(z))
end
return n
