-- The switch is a declared global, true: code may read it to save it.
assert(_G._STRICT == true)
local saved = _G._STRICT
local ok, err = pcall(function() return not_declared end)
assert(not ok and err:find("variable 'not_declared' is not declared", 1, true), err)
declared_nil = nil
assert(declared_nil == nil, "assigning nil declares")
_G._STRICT = false
assert(also_not_declared == nil)
_G._STRICT = saved
assert(not pcall(function() return still_not_declared end))
print("ok")
