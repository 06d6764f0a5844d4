-- cache_generation_move: moves a namespace to another generation (a deploy or a rollback).
-- Generation and metadata share the namespace's hash tag {<ns>}: one slot.
--
-- KEYS[1] anp:c:{<ns>}:gen   string: the current generation (absent: 0)
-- KEYS[2] anp:c:{<ns>}:meta  hash: deploy (1/0), history (JSON array of generations, oldest
--                            first), max (highest generation ever used)
-- ARGV[1] 'next': to max + 1, pushing the current generation on the history;
--         'previous': back to the newest generation of the history, which is popped
-- Returns: {generation, history (JSON text), deploy flag ('1' or '0')}.
--          Error ANP_NOT_FOUND: the namespace was never registered (no metadata).
--          Error ANP_CONFLICT: 'previous' with an empty history.

if redis.call('EXISTS', KEYS[2]) == 0 then
  return redis.error_reply('ANP_NOT_FOUND namespace not registered')
end
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local meta = redis.call('HMGET', KEYS[2], 'history', 'max', 'deploy')
local history = cjson.decode(meta[1] or '[]')
local max = tonumber(meta[2] or '0')
if current > max then
  max = current
end
local target
if ARGV[1] == 'next' then
  history[#history + 1] = current
  max = max + 1
  target = max
elseif ARGV[1] == 'previous' then
  if #history == 0 then
    return redis.error_reply('ANP_CONFLICT empty history')
  end
  target = table.remove(history)
else
  return redis.error_reply('ANP_INVALID ' .. tostring(ARGV[1]))
end
-- Written by hand: cjson encodes an empty table as {} and large numbers with exponents.
local parts = {}
for i, g in ipairs(history) do
  parts[i] = string.format('%d', g)
end
local text = '[' .. table.concat(parts, ',') .. ']'
redis.call('SET', KEYS[1], string.format('%d', target))
redis.call('HSET', KEYS[2], 'history', text, 'max', string.format('%d', max))
return {string.format('%d', target), text, meta[3] or '0'}
