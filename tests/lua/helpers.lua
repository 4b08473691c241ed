-- Shared helpers for the renoise_socket Lua test suite (busted spec files).
--
-- The module is loaded with require("renoise_socket"); tests/lua/run.sh sets
-- LUA_CPATH to target/lua/<lua51|luajit|lua54>/?.so;; so the right build is
-- found for each interpreter. Peers are tests/lua/peer.py processes started
-- with io.popen; each has a bounded lifetime and is killed by H.cleanup().
--
-- Timing uses lua-system (a dependency of Debian's lua-busted, so it is
-- always there when busted is).

local system = require("system")

local H = {}

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
H.dir = here
H.peer_script = here .. "/peer.py"
H.python = os.getenv("RS_PYTHON") or "python3"

H.is54 = _VERSION == "Lua 5.4"
H.is_jit = type(rawget(_G, "jit")) == "table"

function H.rs()
  return require("renoise_socket")
end

function H.now()
  return system.monotime()
end

function H.sleep(ms)
  system.sleep(ms / 1000)
end

-- Time a call: returns elapsed seconds, then the call's first results.
local unpack = table.unpack or unpack
function H.timed(fn, ...)
  local t0 = H.now()
  local r = { fn(...) }
  return H.now() - t0, unpack(r, 1, 4)
end

-- The interpreter running this suite, for subprocess tests.
function H.interpreter()
  local env = os.getenv("RS_LUA")
  if env and env ~= "" then return env end
  if H.is_jit then return "luajit" end
  if _VERSION == "Lua 5.4" then return "lua5.4" end
  return "lua5.1"
end

local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end
H.shell_quote = shell_quote

-- Runs scenarios/NAME in a child process of this interpreter, with the
-- words of ARGS (a string) and after the shell commands PREFIX (such as
-- "ulimit -n 32 &&"), for at most 30 s (or SECONDS). Returns its output
-- (stdout and stderr) and its exit status, which io.popen's close does not
-- give in Lua 5.1.
function H.scenario(name, args, prefix, seconds)
  local cmd = ("%s timeout %d %s %s %s 2>&1; echo \"status=$?\""):format(prefix or "",
    seconds or 30, H.interpreter(), shell_quote(here .. "/scenarios/" .. name), args or "")
  local p = assert(io.popen(cmd))
  local out = p:read("*a")
  p:close()
  local body, status = out:match("^(.-)status=(%d+)\n?$")
  return body or out, tonumber(status)
end

function H.hex_decode(hex)
  return (hex:gsub("%x%x", function(h) return string.char(tonumber(h, 16)) end))
end

function H.hex_encode(s)
  return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

-- bytes i % 256 for i = 0 .. n-1, as peer.py's sendrange:N
function H.range_bytes(n)
  local t = {}
  for i = 0, n - 1 do t[#t + 1] = string.char(i % 256) end
  return table.concat(t)
end

---------------------------------------------------------------------------
-- Peers

local live = {}

local Peer = {}
Peer.__index = Peer

-- Next stdout line of the peer (blocks at most until the peer's lifetime ends).
function Peer:line()
  return self.handle:read("*l")
end

-- Read lines until one starts with `prefix`; returns the rest of that line.
-- Fails the test if the peer ends first.
function Peer:expect(prefix)
  while true do
    local l = self:line()
    if l == nil then
      error("peer ended before printing '" .. prefix .. "'", 2)
    end
    if l:sub(1, #prefix) == prefix then
      return l:sub(#prefix + 1):gsub("^ ", "")
    end
  end
end

-- The bytes a peer reported with a "data <hex>" line.
function Peer:data()
  return H.hex_decode(self:expect("data"))
end

function Peer:kill()
  if self.handle then
    os.execute("kill " .. self.pid .. " 2>/dev/null")
    self.handle:close()
    self.handle = nil
  end
end

local function start(args, lifetime)
  local cmd = "exec " .. H.python .. " " .. shell_quote(H.peer_script) .. " --lifetime " .. lifetime
  for _, a in ipairs(args) do cmd = cmd .. " " .. shell_quote(a) end
  local log = os.getenv("RS_PEER_LOG")
  if log and log ~= "" then cmd = cmd .. " 2>>" .. shell_quote(log) end
  local handle = assert(io.popen(cmd, "r"))
  local port = handle:read("*l")
  local pid = handle:read("*l")
  if not (port and tonumber(port) and pid) then
    handle:close()
    error("peer.py did not start: " .. cmd, 3)
  end
  local p = setmetatable({
    port = tonumber(port),
    pid = tonumber(pid:match("%d+")),
    handle = handle,
  }, Peer)
  live[#live + 1] = p
  return p
end

-- Start a scripted peer. steps: list of peer.py steps. opts: udp, ipv6,
-- lifetime (seconds, default 10), rcvbuf.
function H.peer(steps, opts)
  opts = opts or {}
  local args = {}
  if opts.udp then args[#args + 1] = "--udp" end
  if opts.ipv6 then args[#args + 1] = "--ipv6" end
  if opts.rcvbuf then args[#args + 1] = "--rcvbuf"; args[#args + 1] = tostring(opts.rcvbuf) end
  for _, s in ipairs(steps or {}) do args[#args + 1] = s end
  return start(args, opts.lifetime or 10)
end

-- A port nothing listens on (bound, then closed): connecting is refused.
function H.free_port(udp)
  local cmd = H.python .. " " .. shell_quote(H.peer_script) .. " --free-port" .. (udp and " --udp" or "")
  local h = assert(io.popen(cmd, "r"))
  local port = tonumber(h:read("*l"))
  h:close()
  assert(port, "peer.py --free-port failed")
  return port
end

-- A TCP listener whose accept queue is full: a connect to it times out.
function H.backlog_target(lifetime)
  return start({ "--fill-backlog" }, lifetime or 10)
end

-- Python's own http.server serving dir on 127.0.0.1.
function H.http_server(dir, lifetime)
  return start({ "--http-dir", dir }, lifetime or 10)
end

function H.cleanup()
  for i = #live, 1, -1 do
    live[i]:kill()
    live[i] = nil
  end
end

---------------------------------------------------------------------------
-- Clients

-- Connect a TCP (or opts.udp) client to a peer; fails the test if it can't.
function H.connect(peer, opts)
  opts = opts or {}
  local rs = H.rs()
  local host = opts.host or (opts.ipv6 and "::1" or "127.0.0.1")
  local proto = opts.udp and rs.Socket.PROTOCOL_UDP or rs.Socket.PROTOCOL_TCP
  local c, e = rs.Socket.create_client(host, peer.port, proto, opts.timeout or 2000, opts.options)
  assert(c, "create_client failed: " .. tostring(e))
  return c
end

-- Receive until `pred(acc)` is true, "disconnected" or the overall bound.
-- Returns the concatenation and the last error.
function H.receive_all_until_closed(c, timeout_ms, max_calls)
  local parts, e = {}, nil
  for _ = 1, max_calls or 1000 do
    local s, err = c:receive("*all", timeout_ms)
    if s then parts[#parts + 1] = s else
      e = err
      if err ~= "timeout" then break end
    end
  end
  return table.concat(parts), e
end

-- Set of the socket inodes ("socket:[123]") this process holds (Linux).
function H.sockets()
  local h = assert(io.popen("for f in /proc/$PPID/fd/*; do readlink \"$f\"; done 2>/dev/null", "r"))
  local set = {}
  for l in h:lines() do
    if l:find("^socket:") then set[l] = true end
  end
  h:close()
  return set
end

-- The sockets in `after` that were not in `before`.
function H.new_sockets(before, after)
  local t = {}
  for k in pairs(after) do if not before[k] then t[#t + 1] = k end end
  return t
end

---------------------------------------------------------------------------
-- Raised errors

-- Calls fn, asserts that it raises, returns the error as a string.
function H.raises(fn, ...)
  local ok, e = pcall(fn, ...)
  assert(not ok, "expected an error to be raised, but the call returned " .. tostring(e))
  return tostring(e), e
end

-- Asserts that fn raises a Lua-style argument error naming argument n of
-- function fname: "bad argument #n to 'fname'".
function H.assert_arg_error(n, fname, fn, ...)
  local msg = H.raises(fn, ...)
  local want = "bad argument #" .. n .. " to '" .. fname .. "'"
  assert(msg:find(want, 1, true),
    "expected an error containing \"" .. want .. "\", got: " .. msg)
  return msg
end

function H.assert_closed_error(fn, ...)
  local msg = H.raises(fn, ...)
  assert(msg:find("socket is closed", 1, true),
    "expected \"socket is closed\", got: " .. msg)
  return msg
end

return H
