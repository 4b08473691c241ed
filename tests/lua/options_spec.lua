-- The options table of create_client (our extension): accepted keys, bad
-- keys and values as argument errors, and read_ahead leaving results alone.
package.path = (debug.getinfo(1, "S").source:match("^@(.*)/") or ".") .. "/?.lua;" .. package.path
local H = require("helpers")

describe("create_client options", function()
  after_each(H.cleanup)

  local function create(options)
    local peer = H.peer({ "hold" })
    local S = H.rs().Socket
    return S.create_client("127.0.0.1", peer.port, S.PROTOCOL_TCP, 2000, options)
  end

  it("accepts every documented key", function()
    local c = assert(create({
      send_timeout_ms = 500, max_line_length = 100, max_receive_size = 100,
      all_chunk_size = 100, read_ahead = 1048576, framing = "none", broadcast = false,
    }))
    c:close()
  end)

  it("broadcast: a UDP client sends to a broadcast address only with it on", function()
    local S = H.rs().Socket
    -- Loopback's own broadcast address reaches a server on 0.0.0.0.
    local s = assert(S.create_server("0.0.0.0", 0, S.PROTOCOL_UDP))
    local got = {}
    s:run({ socket_message = function(_, m) got[#got + 1] = m end })
    local c, e = S.create_client("127.255.255.255", s.local_port, S.PROTOCOL_UDP)
    assert.is_nil(c)
    assert.truthy(e:find("needs the broadcast option", 1, true), e)
    c = assert(S.create_client("127.255.255.255", s.local_port, S.PROTOCOL_UDP, 1000, { broadcast = true }))
    assert.is_true(c:send("to everyone"))
    local t0 = H.now()
    while #got == 0 and H.now() - t0 < 3 do s:wait(20) end
    assert.are.same({ "to everyone" }, got)
    c:close()
    s:close()
    local msg = H.assert_arg_error(5, "create_client", S.create_client, "127.0.0.1", 9, S.PROTOCOL_UDP, 1000,
      { broadcast = 1 })
    assert.truthy(msg:find("option 'broadcast' must be a boolean", 1, true), msg)
    -- A server's table sets its connections' options: no broadcast there.
    msg = H.assert_arg_error(4, "create_server", S.create_server, "127.0.0.1", 0, S.PROTOCOL_UDP,
      { broadcast = true })
    assert.truthy(msg:find("unknown option 'broadcast'", 1, true), msg)
  end)

  it("rejects an unknown key", function()
    local msg = H.assert_arg_error(5, "create_client", create, { read_ahaed = 1 })
    assert.truthy(msg:find("unknown option 'read_ahaed'", 1, true), msg)
  end)

  for _, key in ipairs({ "max_line_length", "max_receive_size", "all_chunk_size", "read_ahead" }) do
    local least = key == "read_ahead" and 0 or 1
    it("rejects a size option " .. key .. " that is not a whole number from " .. least .. " to 1 GiB", function()
      for _, bad in ipairs({ least - 1, 1.5, 2 ^ 31, "big" }) do
        local msg = H.assert_arg_error(5, "create_client", create, { [key] = bad })
        assert.truthy(msg:find("option '" .. key .. "'", 1, true), msg)
      end
    end)
  end

  -- Records of which 16 or more fit in a read grow the buffer; "*all" in
  -- small chunks never does, and each call stays within its chunk.
  local readers = {
    { what = "100-byte records", options = {}, mode = 100, most = 100, exact = true },
    { what = "512-byte \"*all\" chunks", options = { all_chunk_size = 512 }, mode = "*all", most = 512 },
  }
  for _, r in ipairs(readers) do
    it("read_ahead changes no result: a 2 MB stream arrives whole and in order, in " .. r.what, function()
      local n = 2000000
      local want = H.range_bytes(n)
      for _, ra in ipairs({ 0, 1048576 }) do
        local options = { read_ahead = ra }
        for k, v in pairs(r.options) do options[k] = v end
        local c = H.connect(H.peer({ "sendrange:" .. n, "sleep:100" }), { options = options })
        H.sleep(50) -- let the kernel's queue fill up behind us
        local parts, e, biggest = {}, nil, 0
        for _ = 1, 25000 do
          local s, err = c:receive(r.mode, 2000)
          if not s then e = err; break end
          parts[#parts + 1] = s
          if #s > biggest then biggest = #s end
        end
        assert.are.equal("disconnected", e)
        local got = table.concat(parts)
        assert.are.equal(#want, #got)
        assert.is_true(want == got, "data differs with read_ahead " .. ra)
        assert.is_true(biggest <= r.most, "one call returned " .. biggest .. " bytes")
        if r.exact then
          for i = 1, #parts do assert.are.equal(r.most, #parts[i]) end
        end
      end
    end)
  end
end)
