class "Thing"
assert(type(Thing) == "Thing class")
assert(type(Thing()) == "Thing")
assert(type(renoise.Osc.Message("/a")) == "Message")
assert(type(renoise.Osc.Bundle(0, renoise.Osc.Message("/a"))) == "Bundle")
assert(type({}) == "table" and type(1) == "number" and type("s") == "string" and type(nil) == "nil")
assert(type(print) == "function")
-- Renoise's API objects are class instances: type() names their class.
local server = renoise.Socket.create_server("127.0.0.1", 0)
local client = renoise.Socket.create_client("127.0.0.1", server.local_port)
assert(type(server) == "SocketServer" and type(client) == "SocketClient", type(client))
client:close()
server:close()
-- So are the tool, the app and the observables (xStream and cLib branch on
-- type(x) == "ObservableNumber").
local D = renoise.Document
local names = {
  { D.ObservableNumber(1), "ObservableNumber" }, { D.ObservableBoolean(true), "ObservableBoolean" },
  { D.ObservableString("s"), "ObservableString" }, { D.ObservableBang(), "ObservableBang" },
  { D.ObservableNumberList(), "ObservableNumberList" }, { D.ObservableStringList({ "a" }), "ObservableStringList" },
  { D.ObservableBooleanList(), "ObservableBooleanList" },
  { renoise.tool(), "ScriptingTool" }, { renoise.app(), "Application" },
  { renoise.tool().app_idle_observable, "Observable" },
}
for _, pair in ipairs(names) do
  assert(type(pair[1]) == pair[2], pair[2] .. ": " .. type(pair[1]))
end
-- rcopy keeps an API object by reference, as it does Renoise's userdata.
local t = table.rcopy({ n = names[1][1] })
assert(rawequal(t.n, names[1][1]))
assert(type(io.stdout) == "userdata" and type(coroutine.create(function() end)) == "thread")
local ok, e = pcall(type)
assert(not ok and e:find("bad argument #1 to 'type' (value expected)", 1, true), e)
print("ok")
