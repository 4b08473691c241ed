class "Box"
function Box:__init()
  self._v = 1
  self.v = property(function(s) return s._v * 10 end, function(s, x) s._v = x end)
  self.ro = property(function() return "fixed" end)
end
local b = Box()
assert(b.v == 10)
b.v = 5
assert(b._v == 5 and b.v == 50)
assert(b.ro == "fixed")
assert(not pcall(function() b.ro = 1 end), "read-only property")
print("ok")
