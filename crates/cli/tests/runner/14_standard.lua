-- Renoise's changes to the standard library (definitions' standard.lua):
-- os.tmpname(extension), os.clock as a wall-clock timer, the dB helpers,
-- debug.start / stop, the Libraries path, app():install_tool.

-- os.tmpname: new empty files in one private folder, with the extension.
local a, b = os.tmpname(), os.tmpname("wav")
local c, d = os.tmpname(".aiff"), os.tmpname("")
assert(a:find("%.tmp$"), a)
assert(b:find("%.wav$") and not b:find("%.%.wav$"), b)
assert(c:find("%.aiff$") and not c:find("%.%.aiff$"), c)
assert(not d:find("%.[^/]*$"), d)
assert(a ~= b and b ~= c and c ~= d)
local folder = a:match("^(.*)/[^/]*$")
assert(b:match("^(.*)/[^/]*$") == folder)
assert(io.stat(a).size == 0 and io.stat(a).mode == 600, "os.tmpname makes the file")
local st = assert(io.stat(folder))
assert(st.type == "directory" and st.mode == 700, st.mode)
local f = assert(io.open(b, "wb")) f:write("RIFF") f:close()
assert(io.exists(b))
local ok, e = pcall(os.tmpname, 5)
assert(not ok and e:find("bad argument #1 to 'tmpname' %(string expected, got number%)"), e)
-- The folder goes when the run ends: the test that runs this file checks,
-- from the path printed here.
print("tmpfolder " .. folder)

-- os.clock: wall time in seconds, moving while the script sleeps in a
-- receive (plain Lua's CPU clock would hardly move).
local sock = renoise.Socket
local server = assert(sock.create_server("127.0.0.1", 0, sock.PROTOCOL_TCP))
local client = assert(sock.create_client("127.0.0.1", server.local_port))
local t0 = os.clock()
assert(select(2, client:receive("*line", 300)) == "timeout")
local waited = os.clock() - t0
assert(waited >= 0.25 and waited < 5, waited)
client:close() server:close()

-- dB helpers, with the values of Renoise's reference.
assert(math.infdb == -200)
assert(math.lin2db(1.0) == 0 and math.lin2db(0.0) == -200 and math.lin2db(-1) == -200)
assert(math.abs(math.lin2db(2) - 6.0205999132796) < 1e-9, math.lin2db(2))
assert(math.lin2db(1e-20) == -200)
assert(math.db2lin(math.infdb) == 0 and math.db2lin(-300) == 0 and math.db2lin(0) == 1)
assert(math.abs(math.db2lin(6.0) - 1.9952623149689) < 1e-9, math.db2lin(6.0))
ok, e = pcall(math.lin2db, "x")
assert(not ok and e:find("bad argument #1 to 'lin2db'"), e)

-- debug.start / stop: no debugger here, the script goes on.
debug.start()
debug.stop()
-- With a remdebug on package.path (here a stand-in that records its
-- calls), they are its session's start and stop, as in Renoise.
local lib = folder .. "/lib"
assert(os.execute("mkdir -p '" .. lib .. "/remdebug'"))
f = assert(io.open(lib .. "/remdebug/session.lua", "w"))
f:write("local M = { calls = {} }\n",
  "function M.start(editor) M.calls[#M.calls + 1] = 'start ' .. tostring(editor) end\n",
  "function M.stop() M.calls[#M.calls + 1] = 'stop' end\n",
  "return M\n")
f:close()
local saved_path = package.path
package.path = lib .. "/?.lua;" .. package.path
debug.start("an editor")
debug.stop()
local calls = require("remdebug.session").calls
assert(calls[1] == "start an editor" and calls[2] == "stop" and #calls == 2, table.concat(calls, ","))
package.path = saved_path

-- The Libraries folder is on the path, relative to the tool, then the
-- shared Scripts/Libraries beside the Tools folder, last.
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$")
local tail = ";Libraries/?.lua;" .. here .. "/../../Libraries/?.lua"
assert(package.path:sub(-#tail) == tail, package.path)

-- install_tool / uninstall_tool: messages, nothing installed.
renoise.app():install_tool("/tmp/Some.xrnx")
renoise.app():uninstall_tool("/tmp/Some.xrnx")
print("ok")
