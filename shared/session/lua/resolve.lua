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
local now = tonumber(ARGV[4])
local lim = redis.call('HMGET', KEYS[8], 'devicePerSecond', 'deviceBurst', 'tenantPerSecond', 'at')
local dps = tonumber(lim[1]) or tonumber(ARGV[8])
local dburst = tonumber(lim[2]) or tonumber(ARGV[9])
local tps = tonumber(lim[3]) or tonumber(ARGV[10])
local tburst = math.max(tps, dburst)
local function fill(key, rate, burst)
  local b = redis.call('HMGET', key, 'tokens', 'at')
  local tokens, at = tonumber(b[1]), tonumber(b[2])
  if not tokens or not at then return burst, now end
  if now > at then
    tokens = tokens + (now - at) * rate / 1000
    at = now
  end
  return math.min(tokens, burst), at
end
local function take(key, tokens, at, rate, burst)
  redis.call('HSET', key, 'tokens', tokens - 1, 'at', at)
  redis.call('PEXPIRE', key, math.ceil((burst - tokens + 1) * 1000 / rate) + 1000)
end
local limited, wait = 0, 0
local dt, dat = fill(KEYS[6], dps, dburst)
if dt < 1 then
  limited, wait = 1, math.ceil((1 - dt) * 1000 / dps)
else
  local tt, tat = fill(KEYS[7], tps, tburst)
  if tt < 1 then
    limited, wait = 2, math.ceil((1 - tt) * 1000 / tps)
  else
    take(KEYS[6], dt, dat, dps, dburst)
    take(KEYS[7], tt, tat, tps, tburst)
  end
end
return {opc, dvc, id, cur, named, alive, limited, wait, lim[4]}
