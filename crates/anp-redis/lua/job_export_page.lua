-- job_export_page: one step of an export opened by job_export_begin: the next `count` job ids
-- of the queue (by id, after a cursor) and each job as it was when the export began (its
-- pre-image when it changed since; nothing when it was created since). Also keeps the export
-- hash alive.
--
-- KEYS[1] anp:{<queue>}:jobs    hash: job records, args, errors, unique keys
-- KEYS[2] anp:{<queue>}:ids     zset: every job id (score 0), ordered by id
-- KEYS[3] anp:{<queue>}:export  hash: `~token` and the pre-images of changed jobs
-- KEYS[4] anp:{<queue>}:leases     hash: running jobs' leases (lib.lua, LEASES)
-- ARGV[1] the export's token
-- ARGV[2] ttl, ms (see job_export_begin)
-- ARGV[3] cursor: the last id of the previous step ('' to start)
-- ARGV[4] count: ids per step
-- Returns: {last id examined ('' when done), {{id, record, args, errors, unique key}, ...}}.
-- Errors:  ANP_EXPORT_LOST when the export hash expired or belongs to another export.

local jobs, ids, export = KEYS[1], KEYS[2], KEYS[3]
leases_open(KEYS[4])
if redis.call('HGET', export, '~token') ~= ARGV[1] then
  return redis.error_reply('ANP_EXPORT_LOST the export hash expired or was replaced')
end
redis.call('PEXPIRE', export, ARGV[2])
local from = '-'
if ARGV[3] ~= '' then
  from = '(' .. ARGV[3]
end
local count = tonumber(ARGV[4])
local page = redis.call('ZRANGEBYLEX', ids, from, '+', 'LIMIT', 0, count)
local out = {}
for _, id in ipairs(page) do
  local pre = redis.call('HGET', export, id)
  if not pre then
    out[#out + 1] = job_reply(jobs, id)
  elseif pre ~= '-' then
    local g = redis.call('HMGET', export, id .. ':args', id .. ':errors', id .. ':unique')
    out[#out + 1] = { id, pre, g[1], g[2], g[3] }
  end
end
local last = ''
if #page == count then
  last = page[#page]
end
return { last, out }
