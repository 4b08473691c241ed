-- Run by osc_spec.lua in a child interpreter started under a low
-- `ulimit -v`: builds OSC messages holding K arguments that are one Lua
-- string of N bytes (the module copies each, then encodes them all: more
-- than the memory left), decodes one, and goes on afterwards.
--   osc_out_of_memory.lua N K
-- Prints one line per step: <step> ok|memory|other <message>, then "done".
local rs = require("renoise_socket")
local Osc = rs.Osc
local n, k = tonumber(arg[1]), tonumber(arg[2])

local function step(name, f)
  local ok, e = pcall(f)
  local kind = ok and "ok" or (tostring(e):find("memory") and "memory" or "other")
  print(("%s %s %s"):format(name, kind, ok and "" or tostring(e)))
end

local big = string.rep("x", n)
local function args(tag)
  local t = {}
  for i = 1, k do t[i] = { tag = tag, value = big } end
  return t
end
step("message", function() return Osc.Message("/big", args("b")) end)
step("string", function() return Osc.Message("/big", args("s")) end)
big = nil
collectgarbage()
collectgarbage()
-- The encoding of such a message, made by hand: a blob's size, then it.
local size = string.char(math.floor(n / 2 ^ 24) % 256, math.floor(n / 2 ^ 16) % 256,
  math.floor(n / 2 ^ 8) % 256, n % 256)
step("decode", function()
  local m, e = Osc.from_binary_data("/big\0\0\0\0,b\0\0" .. size .. string.rep("x", n))
  if not m then error(e) end
  return m
end)
collectgarbage()
collectgarbage()
-- Memory back: small ones work.
local m = Osc.Message("/small", { { tag = "b", value = "abc" } })
print("small " .. (Osc.from_binary_data(m.binary_data).arguments[1].value == "abc" and "ok" or "bad"))
print("done")
