local opc = redis.call('HGETALL', KEYS[1])
local dvc = redis.call('HGETALL', KEYS[2])
local id = redis.call('GET', KEYS[3])
local cur = false
local alive = 0
if id then
  local score = redis.call('ZSCORE', KEYS[4], id)
  if score and tonumber(score) > tonumber(ARGV[4]) then
    cur = redis.call('GETEX', ARGV[2] .. id, 'EX', ARGV[6])
    if cur then
      alive = 1
      redis.call('EXPIRE', KEYS[3], ARGV[1])
      redis.call('ZADD', KEYS[4], 'XX', 'GT', ARGV[5], id)
      redis.call('EXPIRE', KEYS[5], ARGV[7])
    end
  else
    cur = redis.call('GET', ARGV[2] .. id)
  end
end
local named = false
if ARGV[3] ~= '' and ARGV[3] ~= id then named = redis.call('GET', ARGV[2] .. ARGV[3]) end
return {opc, dvc, id, cur, named, alive}
