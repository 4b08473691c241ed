-- Run by receive_line_spec.lua in a child interpreter started under a low
-- `ulimit -v`: reads a line far longer than the memory the process may
-- have, then what is buffered with "*all".
--   out_of_memory.lua PORT
-- Prints: err=<message> open=<is_open> all=<bytes "*all" gave> x=<all x?>
local rs = require("renoise_socket")
local S = rs.Socket
local c = assert(S.create_client("127.0.0.1", tonumber(arg[1]), S.PROTOCOL_TCP, 2000,
  { max_line_length = 2 ^ 30 }))
local line, err
for _ = 1, 1000 do
  line, err = c:receive("*line", 5000)
  if err ~= "timeout" then break end
end
local all = c:receive("*all", 5000) or ""
print(("err=%s open=%s all=%d x=%s"):format(tostring(err), tostring(c.is_open), #all,
  tostring(all:find("^x+$") ~= nil)))
