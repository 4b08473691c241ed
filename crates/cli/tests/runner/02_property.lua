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
-- A property of the class (luabind's `A.x = property(A.get_x, A.set_x)`),
-- inherited too.
class "Gauge"
function Gauge:__init() self._level = 2 end
function Gauge:get_level() return self._level end
function Gauge:set_level(x) self._level = x * 2 end
Gauge.level = property(Gauge.get_level, Gauge.set_level)
Gauge.name = property(function() return "gauge" end)
class "BigGauge" (Gauge)
local g = BigGauge()
assert(g.level == 2 and g.name == "gauge")
g.level = 4
assert(g._level == 8 and g.level == 8)
local ro_ok, ro_err = pcall(function() g.name = "x" end)
assert(not ro_ok and ro_err:find("read-only", 1, true), ro_err)
g.other = 1
assert(rawget(g, "other") == 1)
-- A nil getter is taken, as luabind takes it (xLib's xMessage makes one of
-- methods it never defined): building works, reading that field fails.
class "Sparse"
function Sparse:__init()
  self.line_fraction = property(self.get_line_fraction, self.set_line_fraction)
  self.x = 1
end
local sp = Sparse()
assert(sp.x == 1)
local nil_ok, nil_err = pcall(function() return sp.line_fraction end)
assert(not nil_ok and nil_err:find("property 'line_fraction' of Sparse has no getter", 1, true), nil_err)
local w_ok, w_err = pcall(function() sp.line_fraction = 1 end)
assert(not w_ok and w_err:find("read-only", 1, true), w_err)
assert(not pcall(property, 5), "a getter that is no function nor nil")
print("ok")
