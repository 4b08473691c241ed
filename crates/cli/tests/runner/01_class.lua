class "Animal"
function Animal:__init(name) self.name = name end
function Animal:speak() return self.name .. " makes a sound" end
function Animal:kind() return "animal" end
function Animal:__tostring() return "Animal(" .. self.name .. ")" end
class "Dog" (Animal)
function Dog:__init(name) Animal.__init(self, name); self.dog = true end
function Dog:speak() return self.name .. " barks" end
local d = Dog("rex")
assert(d:speak() == "rex barks")
assert(d:kind() == "animal", "method lookup through the base")
assert(d.dog and d.name == "rex", "Base.__init(self, ...)")
assert(tostring(d) == "Animal(rex)", "__tostring honoured: " .. tostring(d))
-- A class as its own base: `class "Dog"` has made a new, empty Dog before
-- `(Dog)` is read, so the base is that new class itself and is ignored.
local old_dog = Dog
class "Dog" (Dog)
assert(Dog ~= old_dog and type(Dog) == "Dog class")
local fresh = Dog()
assert(type(fresh) == "Dog" and fresh.speak == nil and fresh.kind == nil, "no methods, no base")
assert(d:speak() == "rex barks", "instances of the earlier Dog keep their class")
-- instances as server notifiers get their callbacks as methods
class "Handler"
function Handler:__init() self.got = nil end
function Handler:socket_message(socket, msg) self.got = msg end
local h = Handler()
local server = assert(renoise.Socket.create_server("127.0.0.1", 0, renoise.Socket.PROTOCOL_UDP))
server:run(h)
local c = assert(renoise.Socket.create_client("127.0.0.1", server.local_port, renoise.Socket.PROTOCOL_UDP))
c:send("hi")
server:wait(1000)
assert(h.got == "hi", "callback called as a method: " .. tostring(h.got))
server:stop() server:close() c:close()
-- __len: luabind instances are userdata, so #obj calls it in Lua 5.1 too
-- (cLib's cValue); fields, properties, methods and bases work the same.
class "Bag"
function Bag:__init(...)
  self.items = { ... }
  self.size = property(function(b) return #b.items end)
end
function Bag:__len() return #self.items end
function Bag:add(x) self.items[#self.items + 1] = x end
class "NamedBag" (Bag)
function NamedBag:__init(name, ...)
  Bag.__init(self, ...)
  self.name = name
end
function NamedBag:__tostring() return self.name .. "(" .. #self .. ")" end
local b = Bag(1, 2, 3)
assert(#b == 3 and b.size == 3, tostring(#b))
b:add(4)
assert(#b == 4 and b.items[4] == 4 and b.missing == nil)
local ok, e = pcall(function() b.size = 1 end)
assert(not ok and e:find("read-only", 1, true), e)
local nb = NamedBag("n", "a")
assert(#nb == 1 and nb.name == "n" and tostring(nb) == "n(1)" and type(nb) == "NamedBag", tostring(nb))
assert(type(b) == "Bag" and #Bag() == 0)
class "BagHandler" (Bag)
function BagHandler:socket_message(socket, msg) self:add(msg) end
local bh = BagHandler()
server = assert(renoise.Socket.create_server("127.0.0.1", 0, renoise.Socket.PROTOCOL_UDP))
server:run(bh)
c = assert(renoise.Socket.create_client("127.0.0.1", server.local_port, renoise.Socket.PROTOCOL_UDP))
c:send("x")
server:wait(1000)
assert(#bh == 1 and bh.items[1] == "x", "a __len instance as a notifier: " .. #bh)
server:stop() server:close() c:close()
-- Without __eq, instances compare by identity (no error)
class "Plain"
local pa, pb = Plain(), Plain()
assert(pa == pa and not (pa == pb) and pa ~= pb)
local ba, bb = Bag(), Bag()
assert(ba == ba and ba ~= bb)
-- __finalize runs when an instance is collected (luabind's hook; classes
-- count their instances with it), also for a userdata instance.
class "Counted"
Counted.instances = 0
function Counted:__init() Counted.instances = Counted.instances + 1 end
function Counted:__finalize() Counted.instances = Counted.instances - 1 end
class "CountedBag" (Counted)
function CountedBag:__len() return 0 end
local keep = Counted()
do
  local a, b, c = Counted(), Counted(), CountedBag()
  assert(Counted.instances == 4)
end
collectgarbage() collectgarbage()
assert(Counted.instances == 1, "instances left: " .. Counted.instances)
assert(keep ~= nil)
keep = nil
collectgarbage() collectgarbage()
assert(Counted.instances == 0, "instances left: " .. Counted.instances)
class "BadFinal"
function BadFinal:__finalize() error("finalizer error") end
(function() BadFinal() end)()
collectgarbage() collectgarbage()
-- class "X" defines the global X even when the caller runs in another
-- environment (as luabind's lua_setglobal in Renoise: "class defs are
-- always global"): a chunk under setfenv or with its own _ENV
local env = setmetatable({}, { __index = _G })
local code = 'class "Inner"; function Inner:__init() self.x = 1 end; return Inner'
local f
if rawget(_G, "setfenv") then f = loadstring(code); setfenv(f, env) else f = load(code, "inner", "t", env) end
local Inner = f()
assert(rawget(_G, "Inner") == Inner and rawget(env, "Inner") == nil, "a class is global wherever it is declared")
assert(Inner().x == 1 and type(Inner()) == "Inner")
print("ok")
