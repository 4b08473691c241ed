-- Renoise's table extensions and the extras (RUNNER.md items 8, 10, 11).
local host = ...
local fail = host.fail -- raises at the tool's line (class.lua)

renoise = renoise or {}
renoise.RENOISE_VERSION = "3.4.4"
renoise.API_VERSION = 6.1
-- The constants of Renoise's device parameters that network tools use
-- (GlobalMidiActions' helpers); there are no devices here.
renoise.DeviceParameter = { POLARITY_UNIPOLAR = 1, POLARITY_BIPOLAR = 2 }

-- Lua 5.1 dialect helpers some builds leave out.
math.mod = math.mod or math.fmod
table.getn = table.getn or function(t) return #t end
unpack = unpack or table.unpack
-- Newer tools (Renoise's API 6.2 examples) call table.unpack, which Lua 5.1
-- lacks.
table.unpack = table.unpack or unpack
loadstring = loadstring or load

-- bit (LuaBitOp), as a global and as require("bit"): LuaJIT's own where
-- the interpreter has it, else the host's functions behind LuaBitOp's
-- argument checks (numbers, or strings that convert, as luaL_checknumber
-- takes them; its messages).
if not (type(bit) == "table" and bit.tobit) then
  local arity = {
    tobit = 1, bnot = 1, bswap = 1, band = 1, bor = 1, bxor = 1, tohex = 1,
    lshift = 2, rshift = 2, arshift = 2, rol = 2, ror = 2,
  }
  local lib = {}
  for name, f in pairs(host.bit) do
    local need = arity[name]
    lib[name] = function(...)
      local n = select("#", ...)
      local args = { ... }
      for i = 1, math.max(n, need) do
        local v = args[i]
        if type(v) ~= "number" then
          local x = type(v) == "string" and tonumber(v)
          if not x and (i <= need or v ~= nil) then
            local got = (v == nil and i > n) and "no value" or type(v)
            fail(("bad argument #%d to '%s' (number expected, got %s)"):format(i, name, got))
          end
          args[i] = x or nil
        end
      end
      return f(unpack(args, 1, n))
    end
  end
  bit = lib
end
package.loaded.bit = bit

-- Argument `i` of `fname` must be a `want`: Lua's own message if not,
-- naming the caller's line.
local function check(fname, i, v, want)
  if type(v) ~= want then
    fail(("bad argument #%d to '%s' (%s expected, got %s)"):format(i, fname, want, type(v)))
  end
end

-- os / io extras

function os.platform() return host.platform() end
function os.currentdir() return host.cwd() end
function io.exists(path)
  check("exists", 1, path, "string")
  return host.stat(path) ~= nil
end

-- io.stat(path): Renoise's fields (type, size, dev, ino, mode as io.chmod
-- takes it, nlink, uid, gid, rdev, atime, mtime, ctime), or nil, message,
-- error number.
function io.stat(path)
  check("stat", 1, path, "string")
  return host.stat(path)
end

-- io.chmod(path, mode): mode in octal digits written as a number (755).
function io.chmod(path, mode)
  check("chmod", 1, path, "string")
  check("chmod", 2, mode, "number")
  return host.chmod(path, mode)
end

-- os.tmpname([extension]): as in Renoise, a file in a temporary folder of
-- the run's own, removed when the run ends (made empty, as plain Lua makes
-- it); extension ".tmp" by default, "wav" and ".wav" alike.
function os.tmpname(extension)
  if extension == nil then return host.tmpname(".tmp") end
  check("tmpname", 1, extension, "string")
  if extension ~= "" and extension:sub(1, 1) ~= "." then
    extension = "." .. extension
  end
  return host.tmpname(extension)
end

-- os.clock(): Renoise's high precision timer, in seconds; wall time (since
-- the run started), not the CPU time of plain Lua, which stands still while
-- a tool waits for its sockets.
function os.clock() return host.now() end

-- os.exit leaves without returning to the runner: the temporary folder
-- goes first.
local exit = os.exit
function os.exit(code, ...)
  -- Booleans as Lua 5.2+ and LuaJIT take them; anything else that is not
  -- a number is the tool's mistake, at its line.
  if code == true then code = 0 elseif code == false then code = 1 end
  if code ~= nil and not tonumber(code) then
    fail("bad argument #1 to 'exit' (number expected, got " .. type(code) .. ")")
  end
  -- A --set / --press never done: the run must not pass silently.
  local left = host.actions_left()
  host.cleanup()
  if left then
    io.stderr:write("renoise-socket: error: ", left, " (the script called os.exit first)\n")
    return exit(1)
  end
  return exit(code, ...)
end

-- debug.start() / debug.stop(): Renoise's shortcuts to its remote
-- debugger, remdebug.session.start() / stop(). Renoise ships remdebug in
-- its Libraries folder; this runner does not. Where a copy is on
-- package.path (a tool's own Libraries folder, LUA_PATH) it is started as
-- in Renoise; else a note, and the script goes on.
local function have_remdebug()
  for template in package.path:gmatch("[^;]+") do
    local f = io.open((template:gsub("%?", "remdebug/session")), "r")
    if f then
      f:close()
      return true
    end
  end
  return false
end
function debug.start(...)
  if have_remdebug() then return require("remdebug.session").start(...) end
  if not host.quiet then
    io.stderr:write("[renoise-socket] debug.start(): no remote debugger outside Renoise ",
      "(remdebug is not on package.path)\n")
  end
end
function debug.stop(...)
  if have_remdebug() then return require("remdebug.session").stop(...) end
end

-- Renoise's dB helpers (db2fader / fader2db are left out: Renoise's fader
-- curve is not published).
math.infdb = -200
local log10 = math.log10 or function(x) return math.log(x, 10) end
function math.lin2db(n)
  check("lin2db", 1, n, "number")
  if n <= 0 then return math.infdb end
  return math.max(20 * log10(n), math.infdb)
end
function math.db2lin(n)
  check("db2lin", 1, n, "number")
  if n <= math.infdb then return 0 end
  return 10 ^ (n / 20)
end

-- ripairs(t): ipairs from the last element down to the first.
local function ripairs_next(t, i)
  i = i - 1
  if i > 0 then return i, t[i] end
end
function ripairs(t)
  return ripairs_next, t, #t + 1
end

-- A wildcard ("*.wav", "take?.txt") as a Lua pattern, matched without
-- regard to case (as file dialogs do on every system Renoise runs on).
local function wildcard_pattern(w)
  local p = w:lower():gsub("[%^%$%(%)%%%.%[%]%+%-]", "%%%0"):gsub("%*", ".*"):gsub("%?", ".")
  return "^" .. p .. "$"
end

-- os.filenames(path [, wildcards]) / os.dirnames(path): the names (not
-- paths) in a folder, sorted; a folder that cannot be read raises, as in
-- Renoise.
function os.filenames(path, wildcards)
  check("filenames", 1, path, "string")
  local files, err = host.list_dir(path)
  if not files then fail(err) end
  if type(wildcards) == "string" then wildcards = { wildcards } end
  if wildcards == nil then return files end
  check("filenames", 2, wildcards, "table")
  if #wildcards == 0 then return files end
  local patterns = {}
  for i, w in ipairs(wildcards) do
    check("filenames", 2, w, "string")
    patterns[i] = wildcard_pattern(w)
  end
  local out = {}
  for _, name in ipairs(files) do
    local lower = name:lower()
    for _, p in ipairs(patterns) do
      if lower:find(p) then
        out[#out + 1] = name
        break
      end
    end
  end
  return out
end

function os.dirnames(path)
  check("dirnames", 1, path, "string")
  local files, dirs = host.list_dir(path)
  if not files then fail(dirs) end
  return dirs
end

-- os.mkdir(path) / os.move(src, dest): true, or nil and a message.
function os.mkdir(path)
  check("mkdir", 1, path, "string")
  return host.mkdir(path)
end

function os.move(src, dest)
  check("move", 1, src, "string")
  check("move", 2, dest, "string")
  return host.move(src, dest)
end

-- table extensions, with the semantics of Renoise's own Extensions/table.lua
-- (tools depend on them: find works on any table, copy keeps the metatable,
-- clear is recursive, is_empty(nil) is true).
function table.new() return table.create({}) end
function table.create(t)
  if t ~= nil then check("table.create", 1, t, "table") end
  return setmetatable(t or {}, { __index = table })
end
function table.is_empty(t) return t == nil or next(t) == nil end
function table.count(t)
  check("table.count", 1, t, "table")
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n
end
-- The key of the first element equal to `value`, counting elements in
-- pairs() order from `start_index` (so {a=1, b=2} finds "b" for 2, and an
-- array is searched from that position, since pairs walks it in order).
function table.find(t, value, start_index)
  check("table.find", 1, t, "table")
  local from, n = start_index or 1, 0
  for k, v in pairs(t) do
    n = n + 1
    if n >= from and v == value then return k end
  end
  return nil
end
function table.keys(t)
  check("table.keys", 1, t, "table")
  local r = {}
  for k in pairs(t) do r[#r + 1] = k end
  return r
end
function table.values(t)
  check("table.values", 1, t, "table")
  local r = {}
  for _, v in pairs(t) do r[#r + 1] = v end
  return r
end
function table.copy(t)
  check("table.copy", 1, t, "table")
  local r = {}
  for k, v in pairs(t) do r[k] = v end
  return setmetatable(r, getmetatable(t))
end
function table.rcopy(t)
  check("table.rcopy", 1, t, "table")
  local seen = {}
  local function copy(v)
    if type(v) ~= "table" then return v end
    if seen[v] then return seen[v] end
    local r = {}
    seen[v] = r
    for k, x in pairs(v) do r[copy(k)] = copy(x) end
    return setmetatable(r, getmetatable(v))
  end
  return copy(t)
end
-- Recursive: nested tables are emptied too (each once, cycles included).
function table.clear(t, cleared)
  check("table.clear", 1, t, "table")
  cleared = cleared or {}
  for k, v in pairs(t) do
    if type(v) == "table" and not cleared[v] then
      cleared[v] = true
      table.clear(v, cleared)
    end
    t[k] = nil
  end
end

-- rprint / oprint
local function rprint_inner(value, indent, seen)
  if type(value) ~= "table" or seen[value] then
    return
  end
  seen[value] = true
  local keys = {}
  for k in pairs(value) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  for _, k in ipairs(keys) do
    local v = value[k]
    print(indent .. "[" .. tostring(k) .. "] => " .. tostring(v))
    if type(v) == "table" then rprint_inner(v, indent .. "  ", seen) end
  end
end
function rprint(value)
  if type(value) == "table" then
    rprint_inner(value, "", {})
  else
    print(tostring(value))
  end
end
-- oprint(object): Renoise's dump of an object's properties and methods,
-- what objinfo says.
function oprint(value)
  print(objinfo(value))
end
