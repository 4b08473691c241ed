-- Run by module_shape_spec.lua in a child interpreter, once for each k:
-- the first `require("renoise_socket")` of the process under a call hook
-- that raises at its k-th call. mlua's setup of the state used to see
-- such an error, panic and abort the interpreter; now the hook is off
-- while the module opens, and on again afterwards.
--   hook_error_in_require.lua K
-- Prints: k=<K> result=<ok: the module; failed: the hook's own error;
--   other: anything else> after=<calls the hook saw after the load>
--   sample=<the other error>
local k = tonumber(arg[1])
local calls = 0
local function hook()
  calls = calls + 1
  if calls == k then error("hook at call " .. k, 0) end
end
-- Set inside the protected function, so that the hook's own `sethook`
-- calls count the same way for every k.
local good, got = pcall(function()
  debug.sethook(hook, "c")
  local m = require("renoise_socket")
  debug.sethook()
  return m
end)
debug.sethook()
local result, sample = "other", ""
if good and type(got) == "table" and got.Socket then
  result = "ok"
elseif not good and got == "hook at call " .. k then
  result = "failed"
else
  sample = ("%q"):format(tostring(got):sub(1, 60))
end
-- The hook is on again after a load: it still sees calls.
local after = 0
package.loaded.renoise_socket = nil -- (Lua 5.1 keeps a failed load's mark)
debug.sethook(function() after = after + 1 end, "c")
require("renoise_socket")
debug.sethook()
print(("k=%d result=%s after=%d sample=%s"):format(k, result, after, sample))
