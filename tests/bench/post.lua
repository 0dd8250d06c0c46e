-- wrk script: POST /registries with a name unique per thread and request.
-- `tid` is a global set in each thread's Lua state by setup().
local counter = 0
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

request = function()
  counter = counter + 1
  local body = string.format(
    '{"name":"bench-%d-%d","server":"ghcr.io","username":"bench","password":"bench-password"}',
    tid or 0, counter)
  return wrk.format("POST", "/registries", nil, body)
end
