-- Lua 5.1 functions the runner provides on every interpreter build
assert(loadstring("return 1")() == 1)
assert(unpack({ 1, 2 }) == 1 and table.getn({ 1, 2, 3 }) == 3 and math.mod(7, 3) == 1)
-- and the newer spelling, on Lua 5.1 too
assert(select(2, table.unpack({ 1, 2 })) == 2)
print("ok")
