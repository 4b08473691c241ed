-- Loads the tool script and runs the event loop (RUNNER.md items 4, 6, 12).
-- Returns the function the host calls with its options; it returns the
-- exit code.
local host = ...
local rawtype = host.rawtype -- the standard type(), before class.lua replaced it

-- An error value as text a person can act on: a message, even when the
-- value is an empty string, nil, a table or other non-string.
local function describe(err)
  if rawequal(err, nil) then
    return "(error raised with no message: error() or error(nil))"
  end
  local t = rawtype(err)
  if t == "string" then
    if err == "" then return "(error raised with an empty message)" end
    -- error("") with a position: "file.lua:3: "
    if err:find("^[^\n]*:%d+: ?$") then return err .. "(error raised with an empty message)" end
    return err
  end
  if t == "number" then return tostring(err) end
  -- Lua 5.1 passes on whatever a __tostring returns (nil, a table), Lua
  -- 5.4 raises when it is not a string: neither may break the report.
  local ok, text = pcall(tostring, err)
  if ok and rawtype(text) == "number" then text = tostring(text) end
  if not ok then
    -- (Lua 5.4's own complaint about a non-string result reads the same.)
    if rawtype(text) == "string" and not text:find("'__tostring' must return a string", 1, true) then
      return "(error object is a " .. type(err) .. " value whose __tostring raised: " .. text .. ")"
    end
    ok, text = true, nil
  end
  if rawtype(text) ~= "string" then
    return "(error object is a " .. type(err) .. " value whose __tostring gives no text)"
  end
  local mt = getmetatable(err)
  if rawtype(mt) == "table" and rawget(mt, "__tostring") and text ~= "" then return text end
  return "(error object is a " .. type(err) .. " value: " .. text .. ")"
end

-- The error's message, then the traceback without the runner's own frames.
-- An error that `host.call` already caught comes with the traceback made
-- where it was raised.
local function traceback(err)
  local raised = host.raised
  if raised and rawequal(raised.err, err) then
    host.raised = nil
    return raised.text
  end
  -- A server callback's error whose socket_error raised too: `wait`
  -- re-raises the first message with " (and socket_error raised: ...)"
  -- added, a new string, which keeps the first one's traceback.
  if raised and type(raised.err) == "string" and type(err) == "string"
      and raised.err ~= "" and err:sub(1, #raised.err) == raised.err
      and err:find(" (and socket_error raised: ", #raised.err + 1, true) == #raised.err + 1 then
    host.raised = nil
    return describe(err) .. raised.text:sub(#describe(raised.err) + 1)
  end
  local lines = { describe(err) }
  for line in debug.traceback("", 2):gmatch("[^\n]+") do
    if not (line:find("[renoise-socket", 1, true) or line:find("in function 'xpcall'", 1, true)
        or line:find("(tail call): ?", 1, true) or line:find("(...tail calls...)", 1, true)) then
      lines[#lines + 1] = line
    end
  end
  return table.concat(lines, "\n")
end

local function report(err)
  io.stderr:write("renoise-socket: error: ", describe(err), "\n")
end

-- --keep-going: an error in a notifier, timer, callback or menu entry is
-- printed with its traceback, and the run goes on; it still ends with
-- exit code 1.
host.traceback = traceback
local errors_reported = 0
function host.went_on(err)
  errors_reported = errors_reported + 1
  io.stderr:write("renoise-socket: error (the run goes on): ", err, "\n")
end

-- Strict globals, as Renoise has them.
local function strict()
  -- Declared and true, so code that saves and restores the switch
  -- (Renoise's remote-debugger engine reads _G._STRICT first) can.
  rawset(_G, "_STRICT", true)
  local declared = {}
  for k in pairs(_G) do declared[k] = true end
  local mt = getmetatable(_G) or {}
  mt.__index = function(t, key)
    if declared[key] or rawget(_G, "_STRICT") == false then return nil end
    error("variable '" .. tostring(key) .. "' is not declared", 2)
  end
  mt.__newindex = function(t, key, value)
    declared[key] = true
    rawset(t, key, value)
  end
  setmetatable(_G, mt)
end

local function fire_timers(now)
  for _, t in ipairs({ unpack(host.tool._timers) }) do
    -- still registered and due?
    local live = false
    for _, u in ipairs(host.tool._timers) do if u == t then live = true end end
    if live and now >= t.due then
      t.due = now + t.interval
      host.call(t.fn, t.obj)
    end
  end
end

local function forget_closed_clients()
  for client in pairs(host.clients) do
    if not client.is_open then host.clients[client] = nil end
  end
end

local function running_servers()
  local list = {}
  for server in pairs(host.servers) do
    if server.is_open then
      if server.is_running then list[#list + 1] = server end
    else
      host.servers[server] = nil
    end
  end
  return list
end

local IDLE_INTERVAL = 0.1

-- "1 running server (SocketServer(...)), 2 timers, 1 idle notifier", told
-- to the host whenever it changes, for the --timeout message.
local function plural(n, what)
  return n .. " " .. what .. (n == 1 and "" or "s")
end
local last_alive
local function tell_alive(servers, timers, idle)
  local names = {}
  for i, s in ipairs(servers) do names[i] = tostring(s) end
  local text = plural(#servers, "running server")
    .. (#servers > 0 and " (" .. table.concat(names, ", ") .. ")" or "")
    .. ", " .. plural(timers, "timer") .. ", " .. plural(idle, "idle notifier")
  if text ~= last_alive then
    last_alive = text
    host.alive(text)
  end
end

-- Where the loop is, for the --timeout message (see PHASES in run.rs).
local IN_IDLE, IN_TIMER, IN_ACTION, IN_WAIT, SLEEPING = 1, 2, 3, 4, 5

local function loop()
  local tool = host.tool
  local idle = tool.app_idle_observable
  local next_idle = host.now()
  tell_alive(running_servers(), #tool._timers, idle:_count())
  while true do
    local now = host.now()
    if now >= next_idle then
      next_idle = now + IDLE_INTERVAL
      host.phase(IN_IDLE)
      idle:_fire()
    end
    host.phase(IN_TIMER)
    fire_timers(host.now())
    -- --set / --press actions wait for views that a timer or notifier
    -- makes later.
    host.phase(IN_ACTION)
    local done, why = host.run_actions()
    if not done then return why end
    forget_closed_clients()
    local servers = running_servers()
    if idle:_count() == 0 and #tool._timers == 0 and #servers == 0 then
      return host.actions_left()
    end
    tell_alive(servers, #tool._timers, idle:_count())
    -- Sleep until the next idle tick or timer, in slices of at most 10 ms,
    -- spending the time in the servers' wait so they dispatch at once.
    local wake = next_idle
    for _, t in ipairs(tool._timers) do if t.due < wake then wake = t.due end end
    local ms = math.max(0, math.min(10, (wake - host.now()) * 1000))
    if #servers > 0 then
      host.phase(IN_WAIT)
      for i, server in ipairs(servers) do
        -- A callback's error with no socket_error to take it comes out of
        -- wait.
        if server.is_running then host.call(server.wait, server, i == 1 and ms or 0) end
      end
    else
      host.phase(SLEEPING)
      host.sleep(ms)
    end
  end
end

local function run(opts)
  host.quiet = opts.quiet
  host.keep_going = opts.keep_going
  host.prompt_answer = opts.prompt_answer
  host.path_answer = opts.path_answer
  io.stdout:setvbuf("line")

  local folder = opts.folder
  -- Renoise appends its Libraries folder, relative to the tool's, and
  -- the shared Scripts/Libraries beside the Tools folder (where Renoise's
  -- own renoise.http and remdebug sit in a user's ~/.renoise/V*/Scripts
  -- and in Renoise's tools repository).
  package.path = folder .. "/?.lua;" .. folder .. "/?/init.lua;" .. package.path
    .. ";Libraries/?.lua;" .. folder .. "/../../Libraries/?.lua"
  host.tool_fields.bundle_path = folder .. "/"

  arg = { [0] = opts.script }
  for i, a in ipairs(opts.args) do arg[i] = a end

  local chunk, err = loadfile(opts.script)
  if not chunk then
    report(err)
    return 1
  end
  -- Queued before the script runs: a custom prompt it shows while loading
  -- takes the actions meant for it (see views.lua).
  host.queue_actions(opts.actions)
  strict()
  local ok, e = xpcall(function() return chunk(unpack(opts.args)) end, traceback)
  if not ok then
    report(e)
    return 1
  end
  -- A --menu name, --set or --press that matches nothing is a usage error: its message
  -- alone, no traceback.
  local unmatched
  ok, e = xpcall(function()
    host.tool.tool_finished_loading_observable:_fire()
    host.tool.app_new_document_observable:_fire()
    local done, why = host.run_actions()
    if not done then unmatched = why return end
    unmatched = loop()
    if unmatched then return end
    host.tool.app_release_document_observable:_fire()
    host.tool.tool_will_unload_observable:_fire()
  end, traceback)
  if unmatched then
    report(unmatched)
    return 1
  end
  if not ok then
    report(e)
    return 1
  end
  return errors_reported > 0 and 1 or 0
end

return function(opts)
  local code = run(opts)
  -- What the host does next allocates (mlua's handles, when dropped), and
  -- a script that ran out of memory may have left no room for it: the
  -- script's garbage goes first.
  pcall(collectgarbage)
  return code
end
