local opc = redis.call('HGETALL', KEYS[1])
local dvc = redis.call('HGETALL', KEYS[2])
local id = redis.call('GETEX', KEYS[3], 'EX', ARGV[1])
local cur = false
if id then cur = redis.call('GETEX', ARGV[2] .. id, 'EX', ARGV[1]) end
local named = false
if ARGV[3] ~= '' and ARGV[3] ~= id then named = redis.call('GET', ARGV[2] .. ARGV[3]) end
return {opc, dvc, id, cur, named}
