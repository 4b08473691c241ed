-- A notifier removed by an earlier one of the same firing is not called;
-- one added meanwhile waits for the next firing.
local o = renoise.Document.ObservableNumber(0)
local calls = {}
local function b() calls[#calls + 1] = "b" end
local function c() calls[#calls + 1] = "c" end
local function a()
  calls[#calls + 1] = "a"
  if o:has_notifier(b) then o:remove_notifier(b) end
  if not o:has_notifier(c) then o:add_notifier(c) end
end
o:add_notifier(a)
o:add_notifier(b)
o.value = 1
assert(table.concat(calls, ",") == "a", table.concat(calls, ","))
o.value = 2
assert(table.concat(calls, ",") == "a,a,c", table.concat(calls, ","))
print("ok")
