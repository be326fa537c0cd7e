local out = {}
local stale = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, id in ipairs(stale) do
  redis.call('ZADD', KEYS[2], ARGV[3], id)
  out[#out + 1] = id
  out[#out + 1] = '0'
end
local n = tonumber(ARGV[2]) - #stale
if n > 0 then
  local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0, n)
  for i = 1, #due, 2 do
    redis.call('ZREM', KEYS[1], due[i])
    redis.call('ZADD', KEYS[2], ARGV[3], due[i])
    out[#out + 1] = due[i]
    out[#out + 1] = due[i + 1]
  end
end
return out
