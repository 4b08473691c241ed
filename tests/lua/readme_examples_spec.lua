-- The READMEs' Lua examples, run as a reader would run them (each in its
-- own interpreter, since they call install()), with the output they
-- promise. A README example that stops working fails here.
package.path = (debug.getinfo(1, "S").source:match("^@(.*)/") or ".") .. "/?.lua;" .. package.path
local H = require("helpers")

local root = H.dir .. "/../.."

-- The `n`th ```lua block of a file.
local function lua_block(file, n)
  local f = assert(io.open(root .. "/" .. file, "rb"))
  local text = f:read("*a")
  f:close()
  local i = 0
  for block in text:gmatch("```lua\n(.-)```") do
    i = i + 1
    if i == n then return block end
  end
  error(("%s has no Lua block #%d"):format(file, n))
end

-- Runs `code` in a child interpreter (the suite's module path is
-- inherited through LUA_CPATH); returns its output lines and exit status.
local function run(code)
  local script = os.tmpname()
  local f = assert(io.open(script, "wb"))
  f:write(code)
  f:close()
  local h = assert(io.popen("timeout 20 " .. H.shell_quote(H.interpreter()) .. " "
    .. H.shell_quote(script) .. " 2>&1; echo \"exit $?\"", "r"))
  local lines = {}
  for line in h:lines() do lines[#lines + 1] = line end
  h:close()
  os.remove(script)
  local status = table.remove(lines)
  return lines, status
end

describe("README examples", function()
  after_each(H.cleanup)

  it("the OSC round trip of the project's README prints what its comment says", function()
    local code = lua_block("README.md", 1)
    local promised = code:match("%-%->%s*([^\n]+)")
    assert.is_truthy(promised, "the example shows its output after -->")
    local lines, status = run(code)
    assert.are.equal("exit 0", status, table.concat(lines, "\n"))
    assert.are.same({ promised }, lines)
  end)

  it("the module README's HTTP client reads a page line by line, then says why it stopped", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir " .. H.shell_quote(dir)))
    local page = assert(io.open(dir .. "/index.html", "wb"))
    page:write("first line\r\nsecond line\n")
    page:close()
    local server = H.http_server(dir)
    local code = lua_block("crates/lua/README.md", 1)
    assert.is_truthy(code:find("8080", 1, true))
    local lines, status = run((code:gsub("8080", tostring(server.port))))
    os.execute("rm -rf " .. H.shell_quote(dir))
    assert.are.equal("exit 0", status, table.concat(lines, "\n"))
    assert.is_truthy(lines[1]:match("^HTTP/1%.[01] 200"), lines[1])
    assert.are.same({ "first line", "second line", "disconnected" },
      { lines[#lines - 2], lines[#lines - 1], lines[#lines] })
  end)
end)
