-- renoise_socket's LuaJIT fast path, installed by the module itself when it
-- is built for LuaJIT and the `ffi` library is there (see jit.rs).
--
-- `receive` and `send` of SocketClient objects become Lua functions that
-- call the module's `extern "C"` functions through the FFI, so a loop that
-- calls `c:receive(...)` is compiled by the JIT as a whole instead of
-- stopping at a classic C function call. Only the common shapes take the
-- fast path (an open client of `create_client`, a mode of '*line', '*all'
-- or a number, a number timeout, a string message); everything else, every
-- argument error included, is handed to the classic C function, so
-- behaviour and messages are exactly the same.
local methods, clients, c_receive, c_send, p_receive, p_send, mt, out_size = ...
local ffi = require("ffi")
-- An anonymous struct: a type of its own, which no `ffi.cdef` of the
-- program can clash with (a typedef of the same name would be taken).
-- `message` (jit.rs `Msg`) holds an error message; only Rust reads it.
local io_t = ffi.typeof([[struct { const char *ptr; size_t len; int busy; void *owner;
  struct { uint8_t buf[512]; size_t len; } message; }]])
local receive_fn = ffi.cast(ffi.typeof("int (*)(void *, int, double, double, $ *)", io_t), p_receive)
local send_fn = ffi.cast(ffi.typeof("int (*)(void *, const char *, size_t, $ *)", io_t), p_send)
-- jit.rs `Out`, returned to the module (its classic functions read
-- `busy`); `busy` is set with each result and cleared here once the string
-- is made (a finalizer run meanwhile must not overwrite ptr / len: see
-- jit.rs). A struct of the shim's own, not a pointer: its fields are then
-- at fixed offsets in compiled code.
local out = io_t()
-- A stand-in `ffi` (a mock, a sandbox's) that made something else: the
-- classic methods stay. (Rust writes into `out`: it must be this struct.)
if type(out) ~= "cdata" or ffi.sizeof(out) ~= out_size then
  return nil
end
local str, type, select = ffi.string, type, select

-- Status codes of the C functions (jit.rs).
-- 0: done (out = the bytes), 1: timeout, 2: failed (out = the message),
-- 3: not handled here, call the classic function.

-- Varargs, so that the classic function sees exactly the arguments given
-- (its messages tell a missing argument from a nil one).
function methods.receive(...)
  local self, mode, timeout = ...
  if clients[self] and type(timeout) == "number" and out.busy == 0 and select("#", ...) == 3 then
    local kind, n
    if mode == "*line" or mode == "*l" then
      kind, n = 0, 0
    elseif mode == "*all" or mode == "*a" then
      kind, n = 1, 0
    elseif type(mode) == "number" then
      kind, n = 2, mode
    end
    if kind then
      local st = receive_fn(self, kind, n, timeout, out)
      if st == 0 then
        local s = str(out.ptr, out.len)
        out.busy = 0
        return s
      end
      if st == 1 then return nil, "timeout" end
      if st == 2 then
        local m = str(out.ptr, out.len)
        out.busy = 0
        return nil, m
      end
    end
  end
  return c_receive(...)
end

function methods.send(...)
  local self, data = ...
  if clients[self] and type(data) == "string" and out.busy == 0 and select("#", ...) == 2 then
    local st = send_fn(self, data, #data, out)
    if st == 0 then return true end
    if st == 2 then
      local m = str(out.ptr, out.len)
      out.busy = 0
      return false, m
    end
  end
  return c_send(...)
end

-- `c:receive(...)` looks the method up through `__index` first. The
-- classic `__index` is a C function, at which a trace ends: a loop written
-- as `c:receive(...)` then left compiled code on every turn and ran slower
-- than with the JIT off. A Lua `__index` is compiled with the loop; it asks
-- the C one only for the properties.
local c_index = mt.__index
mt.__index = function(self, key)
  local m = methods[key]
  if m ~= nil then return m end
  return c_index(self, key)
end

return out
