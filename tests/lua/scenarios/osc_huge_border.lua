-- Run by osc_spec.lua in a child interpreter started under a low
-- `ulimit -v`: an arguments table of some 30 entries whose length (`#t`,
-- a border found by doubling) is over 600 million. Message() must raise
-- at the first hole, not size anything by that length. Prints the error.
local rs = require("renoise_socket")
local a = "{ tag = 'i', value = 1 }"
local parts = { a, a, a, a }
local k = 5
while k <= 5 * 2 ^ 27 do
  parts[#parts + 1] = ("[%d] = %s"):format(k, a)
  k = k * 2
end
local t = assert((loadstring or load)("return { " .. table.concat(parts, ", ") .. " }"))()
-- (Lua 5.4 finds a small border in this table; 5.1 and LuaJIT the huge one.)
local ok, e = pcall(rs.Osc.Message, "/x", t)
print(tostring(ok) .. "|" .. #t .. "|" .. tostring(e))
