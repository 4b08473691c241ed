-- Module shape: require("renoise_socket"), rs.Socket, rs.install().
package.path = (debug.getinfo(1, "S").source:match("^@(.*)/") or ".") .. "/?.lua;" .. package.path
local H = require("helpers")

describe("module shape", function()
  local rs = H.rs()

  it("require returns a table with a Socket table", function()
    assert.is_table(rs)
    assert.is_table(rs.Socket)
  end)

  it("has PROTOCOL_TCP == 1 and PROTOCOL_UDP == 2", function()
    assert.are.equal(1, rs.Socket.PROTOCOL_TCP)
    assert.are.equal(2, rs.Socket.PROTOCOL_UDP)
  end)

  it("has create_client as a function", function()
    assert.is_function(rs.Socket.create_client)
  end)

  it("has install as a function", function()
    assert.is_function(rs.install)
  end)

  it("a debug hook that raises while the module opens does not abort the interpreter", function()
    -- A call hook raising at the k-th call of the process's first
    -- require: mlua used to panic in its setup of the state and abort.
    -- Now the hook's error comes out of require as it was raised, or the
    -- hook (off while the module opens) never sees the module's calls;
    -- either way it is on again afterwards.
    local seen = {}
    for k = 1, 30 do
      local out, status = H.scenario("hook_error_in_require.lua", tostring(k), nil, 20)
      assert.are.equal(0, status, "k=" .. k .. ": " .. out)
      local result, after = out:match("result=(%a+) after=(%d+)")
      assert.is_truthy(result, out)
      assert.are_not.equal("other", result, out)
      assert.are_not.equal("0", after, "the hook was not on again: " .. out)
      seen[result] = true
    end
    assert.is_true(seen.ok and seen.failed, "both outcomes occurred")
  end)

  it("require twice returns the same module", function()
    assert.are.equal(rs, require("renoise_socket"))
  end)
end)

describe("rs.install()", function()
  local rs = H.rs()
  local saved

  before_each(function() saved = rawget(_G, "renoise"); rawset(_G, "renoise", nil) end)
  after_each(function() rawset(_G, "renoise", saved) end)

  it("creates a global renoise table holding Socket", function()
    rs.install()
    local r = rawget(_G, "renoise")
    assert.is_table(r)
    assert.is_table(r.Socket)
    assert.are.equal(1, r.Socket.PROTOCOL_TCP)
    assert.are.equal(2, r.Socket.PROTOCOL_UDP)
    assert.is_function(r.Socket.create_client)
  end)

  it("keeps an existing renoise table and its other fields", function()
    local existing = { tool = "keep me", API_VERSION = 6.1, app = function() return "app" end }
    rawset(_G, "renoise", existing)
    rs.install()
    local r = rawget(_G, "renoise")
    assert.are.equal(existing, r) -- the very same table, not a copy
    assert.are.equal("keep me", r.tool)
    assert.are.equal(6.1, r.API_VERSION)
    assert.are.equal("app", r.app())
    assert.is_function(r.Socket.create_client)
  end)

  it("can be called twice", function()
    rs.install()
    local first = rawget(_G, "renoise")
    rs.install()
    assert.are.equal(first, rawget(_G, "renoise"))
    assert.is_function(rawget(_G, "renoise").Socket.create_client)
  end)

  it("lets Renoise-style code run: renoise.Socket.create_client(...)", function()
    rs.install()
    local peer = H.peer({ "send:hi\\n", "hold" })
    local c = renoise.Socket.create_client("127.0.0.1", peer.port, renoise.Socket.PROTOCOL_TCP, 2000)
    assert.is_not_nil(c)
    assert.are.equal("hi", c:receive("*line", 2000))
    c:close()
    H.cleanup()
  end)
end)

-- Under LuaJIT the module's fast path exists so that receive loops compile.
-- A loop written the usual way, `c:receive(...)`, looks the method up
-- through the client's __index: when that was a C function, the loop's
-- traces ended there and never closed into a loop (the loop then ran
-- slower than with the JIT off). What is pinned is the trace's shape, not
-- a time.
if H.is_jit then
  describe("under LuaJIT", function()
    after_each(function() H.cleanup() end)

    it("a loop of c:receive(...) compiles into a looping trace", function()
      local peer = H.peer({ "sendlines:3000:16", "wait_eof" })
      local c = H.connect(peer)
      local jit_util = require("jit.util")
      local links = {}
      local function loop()
        local n = 0
        while true do
          local l = c:receive("*line", 2000)
          if not l then break end
          n = n + 1
          if n == 3000 then break end
        end
        return n
      end
      jit.flush()
      jit.attach(function(what, tr, func)
        if what == "stop" and func == loop then
          links[#links + 1] = jit_util.traceinfo(tr).linktype
        end
      end, "trace")
      local ok, n = pcall(loop)
      jit.attach(function() end)
      assert.is_true(ok, tostring(n))
      assert.are.equal(3000, n)
      assert.is_truthy(table.concat(links, " "):find("loop", 1, true),
        "traces of the loop: " .. table.concat(links, " "))
      -- The properties still come from the C __index.
      assert.is_true(c.is_open)
      assert.are.equal(peer.port, c.peer_port)
      assert.is_nil(c.no_such_field)
      c:close()
    end)

    it("a stand-in ffi module keeps the classic methods; a program's own typedef does not clash", function()
      for _, case in ipairs({ { "fake", "false" }, { "typedef", "true" } }) do
        local peer = H.peer({ "sendlines:2000:16", "sleep:5000" })
        local out, status = H.scenario("stand_in_ffi.lua", peer.port .. " " .. case[1])
        assert.are.equal(0, status, case[1] .. ": " .. out)
        assert.are.equal("lines=2000 fast=" .. case[2], out:match("lines=%d+ fast=%a+"), case[1] .. ": " .. out)
      end
    end)
  end)
end
