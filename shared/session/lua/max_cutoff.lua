local cur = tonumber(redis.call('HGET', KEYS[1], 'at') or '0')
local at = tonumber(ARGV[1])
if at > cur or (at == cur and ARGV[2] == 'revoked') then
  redis.call('HSET', KEYS[1], 'at', ARGV[1], 'reason', ARGV[2])
end
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
