-- Properties read as fields: is_open, local_address, local_port,
-- peer_address, peer_port. Numeric address strings; readable after close.
package.path = (debug.getinfo(1, "S").source:match("^@(.*)/") or ".") .. "/?.lua;" .. package.path
local H = require("helpers")

local function is_integer(x)
  if math.type then return math.type(x) == "integer" end
  return type(x) == "number" and x == math.floor(x)
end

describe("properties", function()
  local rs = H.rs()
  after_each(H.cleanup)

  it("are fields with the connection's numeric IPv4 addresses and ports", function()
    local peer = H.peer({ "hold" })
    local c = H.connect(peer)
    local seen_addr, seen_port = peer:expect("accepted"):match("^(%S+) (%d+)$")
    assert.are.equal(true, c.is_open)
    assert.are.equal("127.0.0.1", c.local_address)
    assert.are.equal("127.0.0.1", c.peer_address)
    assert.are.equal(peer.port, c.peer_port)
    assert.are.equal(seen_addr, c.local_address)
    assert.are.equal(tonumber(seen_port), c.local_port)
    assert.is_true(is_integer(c.local_port), "local_port should be an integer")
    assert.is_true(is_integer(c.peer_port), "peer_port should be an integer")
    c:close()
  end)

  it("are numeric IPv6 strings for ::1", function()
    local peer = H.peer({ "hold" }, { ipv6 = true })
    local c = H.connect(peer, { ipv6 = true })
    local seen_addr, seen_port = peer:expect("accepted"):match("^(%S+) (%d+)$")
    assert.are.equal("::1", c.local_address)
    assert.are.equal("::1", c.peer_address)
    assert.are.equal(tonumber(seen_port), c.local_port)
    assert.are.equal(peer.port, c.peer_port)
    c:close()
  end)

  it("name the real peer when the address dialled was a wildcard (0.0.0.0, ::)", function()
    local S = rs.Socket
    for _, case in ipairs({ { "0.0.0.0", "127.0.0.1" }, { "::", "::1" } }) do
      local server = assert(S.create_server(case[2], 0))
      local c = assert(S.create_client(case[1], server.local_port, S.PROTOCOL_TCP, 2000))
      assert.are.equal(case[2], c.peer_address)
      assert.are.equal(server.local_port, c.peer_port)
      assert.is_truthy(tostring(c):find(case[2], 1, true), tostring(c))
      c:close()
      server:close()
    end
  end)

  it("name a link-local address with its zone in messages, as the properties do", function()
    local S = rs.Socket
    -- Without its zone the system says only EINVAL: the message says why.
    local none, e = S.create_client("fe80::1", 9, S.PROTOCOL_TCP, 500)
    assert.is_nil(none)
    assert.is_truthy(e:find("cannot connect to [fe80::1]:9 (a link-local address needs its zone", 1, true), e)
    -- With it, by name or by number, the message names the interface (a
    -- link-local address on lo reaches nothing: unreachable, refused or
    -- a timeout, as the system has it).
    for _, host in ipairs({ "fe80::1%lo", "fe80::1%1" }) do
      for _, proto in ipairs({ S.PROTOCOL_TCP, S.PROTOCOL_UDP }) do
        none, e = S.create_client(host, 9, proto, 300)
        assert.is_nil(none)
        assert.is_truthy(e:find("[fe80::1%lo]:9", 1, true), host .. ": " .. e)
      end
    end
  end)

  -- Binding needs a link-local address of the machine's own (scope 20 in
  -- /proc/net/if_inet6). A machine with none (CI kinds differ) gets one in
  -- a private network namespace: fe80::1 on its lo, made with util-linux's
  -- unshare and iproute2: as root a network namespace alone (which works
  -- where user namespaces are switched off), else one inside a user
  -- namespace (-r), for any user where the system allows those. Only where
  -- neither is possible is the test reported pending.
  it("name a bound link-local address with its zone in tostring()", function()
    local host, prefix
    local f = io.open("/proc/net/if_inet6")
    for line in (f and f:lines() or function() end) do
      local hex, scope, dev = line:match("^(%x+) %x+ %x+ (%x+) %x+ +(%S+)")
      if scope == "20" and not host then
        host = hex:gsub("(%x%x%x%x)", "%1:"):sub(1, -2) .. "%" .. dev
      end
    end
    if f then f:close() end
    if not host then
      local setup = "ip link set lo up && ip -6 addr add fe80::1/64 dev lo nodad"
      for _, flags in ipairs({ "-n", "-rn" }) do
        local r = os.execute("unshare " .. flags .. " sh -c '" .. setup .. "' >/dev/null 2>&1")
        if r == true or r == 0 then
          prefix = "unshare " .. flags .. " sh -c '" .. setup .. ' && exec "$@"\' sh'
          break
        end
      end
      if not prefix then
        pending("no link-local IPv6 address on this machine, and no network namespace to make one in")
        return
      end
      host = "fe80::1%lo"
    end
    local out, status = H.scenario("link_local_zone.lua", H.shell_quote(host), prefix)
    assert.are.equal(0, status, out)
    assert.is_truthy(out:find("ok tcp\nok udp", 1, true), out)
  end)

  it("are there for UDP clients too", function()
    local peer = H.peer({ "udp_recv", "hold" }, { udp = true })
    local c = H.connect(peer, { udp = true })
    assert.is_true(c.is_open)
    assert.are.equal("127.0.0.1", c.peer_address)
    assert.are.equal(peer.port, c.peer_port)
    assert.are.equal("127.0.0.1", c.local_address)
    assert.is_true(is_integer(c.local_port) and c.local_port > 0)
    c:close()
  end)

  it("is_open is false after close(), and still readable", function()
    local peer = H.peer({ "hold" })
    local c = H.connect(peer)
    c:close()
    assert.are.equal(false, c.is_open)
    assert.are.equal(false, c.is_open)
  end)

  it("address properties keep their values after close()", function()
    local peer = H.peer({ "hold" })
    local c = H.connect(peer)
    local la, lp, pa, pp = c.local_address, c.local_port, c.peer_address, c.peer_port
    c:close()
    assert.are.equal(la, c.local_address)
    assert.are.equal(lp, c.local_port)
    assert.are.equal(pa, c.peer_address)
    assert.are.equal(pp, c.peer_port)
  end)

  it("address properties keep their values after the peer disconnected", function()
    local peer = H.peer({ "close" })
    local c = H.connect(peer)
    local la, lp, pa, pp = c.local_address, c.local_port, c.peer_address, c.peer_port
    local s, e = c:receive("*all", 2000)
    assert.is_nil(s)
    assert.are.equal("disconnected", e)
    assert.are.equal(false, c.is_open)
    assert.are.equal(la, c.local_address)
    assert.are.equal(lp, c.local_port)
    assert.are.equal(pa, c.peer_address)
    assert.are.equal(pp, c.peer_port)
  end)

  it("a new field is refused by name, a key of another type by its type", function()
    local peer = H.peer({ "sleep:3000" })
    local c = H.connect(peer)
    assert.is_truthy(H.raises(function() c.foo = 1 end):find("SocketClient has no field 'foo'", 1, true))
    for _, key in ipairs({ true, c, {} }) do
      local e = H.raises(function() c[key] = 1 end)
      local want = "no field '<" .. (key == c and "SocketClient" or type(key)) .. ">'"
      assert.is_truthy(e:find(want, 1, true), e)
    end
    c:close()
  end)

  it("an object of another load of the module is named as such in the error", function()
    local peer = H.peer({ "sleep:3000" })
    local c = H.connect(peer)
    local first = package.loaded.renoise_socket
    package.loaded.renoise_socket = nil
    local ok, second = pcall(require, "renoise_socket")
    package.loaded.renoise_socket = first
    assert.is_true(ok, tostring(second))
    assert.are_not.equal(first, second)
    local other = assert(second.Socket.create_client("127.0.0.1", peer.port, second.Socket.PROTOCOL_UDP))
    local e = H.raises(other.receive, c, "*l", 0)
    other:close()
    assert.is_truthy(e:find("SocketClient expected, got SocketClient of another load of the module", 1, true), e)
    c:close()
  end)
end)
