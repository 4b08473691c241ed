-- A realistic Renoise-style polling loop, as Renoise's own HTTP library
-- does it: an HTTP/1.0 GET to Python's http.server (a server nobody here
-- wrote), header lines read with receive("*l", 0), the body with
-- receive("*all", 0) polls until "disconnected".
package.path = (debug.getinfo(1, "S").source:match("^@(.*)/") or ".") .. "/?.lua;" .. package.path
local H = require("helpers")

local function make_body()
  -- text with all kinds of line ends, then every byte value, then bulk
  local parts = { "line one\nline two\r\nline three\rno end", H.range_bytes(256) }
  for i = 1, 5000 do parts[#parts + 1] = string.format("%05d the quick brown fox\n", i) end
  return table.concat(parts)
end

describe("Renoise-style HTTP polling", function()
  local rs = H.rs()
  local dir, body

  setup(function()
    dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. H.shell_quote(dir)))
    body = make_body()
    local f = assert(io.open(dir .. "/file.bin", "wb"))
    f:write(body)
    f:close()
  end)
  teardown(function()
    os.execute("rm -rf " .. H.shell_quote(dir))
  end)
  after_each(H.cleanup)

  it("GETs a file with *l / *all polls at timeout 0 until disconnected", function()
    local server = H.http_server(dir)
    local c, e = rs.Socket.create_client("localhost", server.port, rs.Socket.PROTOCOL_TCP, 2000)
    assert.is_not_nil(c, e)
    assert.are.equal(true, c:send("GET /file.bin HTTP/1.0\r\nHost: localhost\r\n\r\n"))

    -- headers: poll lines until the empty line
    local headers, status = {}, nil
    local polls = 0
    while polls < 2000 do
      polls = polls + 1
      local line, err = c:receive("*l", 0)
      if line then
        if not status then status = line
        elseif line == "" then break
        else
          local k, v = line:match("^([^:]+):%s*(.*)$")
          headers[k:lower()] = v
        end
      else
        assert.are.equal("timeout", err)
        H.sleep(5)
      end
    end
    assert.is_truthy(status and status:match("^HTTP/1%.[01] 200"), "status line: " .. tostring(status))
    assert.are.equal(tostring(#body), headers["content-length"])

    -- body: poll *all until the server closes
    local parts, last_err = {}, nil
    polls = 0
    while polls < 5000 do
      polls = polls + 1
      local chunk, err = c:receive("*all", 0)
      if chunk then
        assert.is_true(#chunk > 0, "*all returned an empty string")
        parts[#parts + 1] = chunk
      elseif err == "timeout" then
        H.sleep(5)
      else
        last_err = err
        break
      end
    end
    assert.are.equal("disconnected", last_err)
    assert.are.equal(false, c.is_open)
    local got = table.concat(parts)
    assert.are.equal(#body, #got)
    assert.is_true(got == body, "body differs from the file")
  end)

  it("gets a 404 from the same server and reads it the same way", function()
    local server = H.http_server(dir)
    local c = H.connect(server)
    assert.is_true(c:send("GET /missing HTTP/1.0\r\n\r\n"))
    local status = c:receive("*l", 3000)
    assert.is_truthy(status:match("^HTTP/1%.[01] 404"), status)
    local rest, e = H.receive_all_until_closed(c, 2000, 100)
    assert.are.equal("disconnected", e)
    assert.is_truthy(rest:find("\r\n\r\n", 1, true))
  end)

  it("talks to a scripted HTTP peer (blocking receive with timeouts)", function()
    local peer = H.peer({ "http" })
    local c = H.connect(peer)
    assert.is_true(c:send("GET /x HTTP/1.0\r\n\r\n"))
    assert.are.equal("GET /x HTTP/1.0", peer:expect("request"))
    assert.are.equal("HTTP/1.0 200 OK", c:receive("*line", 2000))
    local line
    repeat line = c:receive("*line", 2000) until line == "" or line == nil
    assert.are.equal("", line)
    assert.are.equal("hello", c:receive(5, 2000))
    local s, e = c:receive("*all", 2000)
    assert.is_nil(s)
    assert.are.equal("disconnected", e)
  end)
end)
