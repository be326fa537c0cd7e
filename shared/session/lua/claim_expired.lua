local out = {}
local want = tonumber(ARGV[2]) * 2
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0, ARGV[4])
for i = 1, #due, 2 do
  if #out >= want then break end
  local lease = redis.call('ZSCORE', KEYS[2], due[i])
  if not lease or tonumber(lease) <= tonumber(ARGV[1]) then
    redis.call('ZADD', KEYS[2], ARGV[3], due[i])
    out[#out + 1] = due[i]
    out[#out + 1] = due[i + 1]
  end
end
return out
