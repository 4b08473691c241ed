-- renoise.ViewBuilder without a GUI: views hold their properties, values,
-- children and notifiers, so a tool that builds a dialog gets past it to
-- its networking; --set and --press fill in and click its views.
local host = ...
local fail = host.fail -- raises at the tool's line (class.lua)

-- Each constructor: its type() name, the default value of views that hold
-- one (its type is what --set takes: text, true / false, a number, or 1
-- for an item of a list), and whether a click (--press) fires its
-- `notifier`.
local KINDS = {
  column = { "Rack" }, row = { "Rack" }, stack = { "Stack" },
  horizontal_aligner = { "Aligner" }, vertical_aligner = { "Aligner" },
  space = { "View" }, canvas = { "Canvas" }, scrollbar = { "ScrollBar", 0 },
  text = { "Text" }, multiline_text = { "MultiLineText" },
  link = { "Link", nil, true }, bitmap = { "Bitmap", nil, true }, button = { "Button", nil, true },
  textfield = { "TextField", "" }, multiline_textfield = { "MultiLineTextField", "" },
  checkbox = { "CheckBox", false },
  switch = { "Switch", 1 }, popup = { "Popup", 1 }, chooser = { "Chooser", 1 },
  valuebox = { "ValueBox", 0 }, value = { "Value", 0 }, valuefield = { "ValueField", 0 },
  slider = { "Slider", 0 }, minislider = { "MiniSlider", 0 }, rotary = { "RotaryEncoder", 0 },
  xypad = { "XYPad" },
}
-- The views whose text starts empty (a text field's text is its value).
local TEXTS = { text = true, multiline_text = true, button = true, link = true }
-- Sizes read back as numbers, as Renoise resolves them ("100%" included):
-- what the tool set when it is a number, else these.
local WIDTH, HEIGHT = 100, 18

-- Every view, weakly, with the order it was made in (--press and --set
-- take the newest match: a dialog built again has new views).
local made = setmetatable({}, { __mode = "k" })
local serial = 0

local View = {}
local view_mt = {}
host.api_names[view_mt] = function(v) return rawget(v, "_type") end
host.api_members[view_mt] = function(v)
  local members = { visible = true, width = true, height = true, views = true, tooltip = true }
  if rawget(v, "_props").value ~= nil then members.value = true end
  for k, f in pairs(View) do members[k] = f end
  for k in pairs(rawget(v, "_props")) do members[k] = true end
  return members
end

local function is_view(v)
  return host.rawtype(v) == "table" and getmetatable(v) == view_mt
end

local function is_text_value(v, key)
  return key == "text" and rawget(v, "_kind"):match("textfield$") ~= nil
end

-- The value: the bound observable's when there is one (an XY pad binds
-- two; a multiline text field may bind a list of strings).
local function get_value(v)
  local bind = rawget(v, "_bind")
  if bind == nil then return rawget(v, "_props").value end
  if rawget(v, "_kind") == "xypad" then return { x = bind.x.value, y = bind.y.value } end
  if type(bind) == "ObservableStringList" then
    local lines = {}
    for i = 1, #bind do lines[i] = bind[i].value end
    return table.concat(lines, "\n")
  end
  return bind.value
end

local function split_lines(text)
  local lines = {}
  for line in (tostring(text) .. "\n"):gmatch("([^\n]*)\n") do lines[#lines + 1] = line end
  return lines
end

-- A value the view can hold (what --set checks too): a checkbox's
-- boolean, a text field's string, an item's position in a popup, switch
-- or chooser, a number in a number view's min..max, an XY pad's {x, y};
-- anything else is the tool's mistake, raised at its line.
local function check_value(v, value)
  local kind, t = rawget(v, "_kind"), host.rawtype(value)
  local default, p, want = KINDS[kind][2], rawget(v, "_props"), nil
  if kind == "xypad" then
    if t ~= "table" or host.rawtype(value.x) ~= "number" or host.rawtype(value.y) ~= "number" then
      want = "a table {x = number, y = number}"
    end
  elseif default == nil then
    return
  elseif host.rawtype(default) ~= "number" then
    if t ~= host.rawtype(default) then want = "a " .. host.rawtype(default) end
  elseif default == 1 then
    local n = math.max(1, host.rawtype(p.items) == "table" and #p.items or 0)
    if t ~= "number" or value % 1 ~= 0 or value < 1 or value > n then
      want = "an item's position from 1 to " .. n
    end
  elseif t ~= "number" or value ~= value then
    want = "a number"
  elseif (host.rawtype(p.min) == "number" and value < p.min)
      or (host.rawtype(p.max) == "number" and value > p.max) then
    want = "a number from " .. tostring(p.min) .. " to " .. tostring(p.max)
  end
  if want then
    fail(("%s.value: %s expected, got %s"):format(rawget(v, "_type"), want,
      t == "number" and tostring(value) or type(value)))
  end
end

local function set_value(v, value)
  check_value(v, value)
  local bind = rawget(v, "_bind")
  if bind ~= nil then
    -- The observable's notifier fires the view's (see `bind` in make).
    if rawget(v, "_kind") == "xypad" then
      -- One notification for the pair, with both values set.
      local old = get_value(v)
      rawset(v, "_quiet", true)
      local ok, err = pcall(function() bind.x.value, bind.y.value = value.x, value.y end)
      rawset(v, "_quiet", nil)
      if not ok then fail(err) end
      local new = get_value(v)
      if new.x ~= old.x or new.y ~= old.y then rawget(v, "_changed"):_fire(new) end
    elseif type(bind) == "ObservableStringList" then
      -- The lines become the list's items, one notification for the view.
      if host.rawtype(value) ~= "string" then
        fail(rawget(v, "_type") .. ".text: a string expected, got " .. type(value))
      end
      local old = get_value(v)
      rawset(v, "_quiet", true)
      while #bind > 0 do bind:remove() end
      if value ~= "" then
        for _, line in ipairs(split_lines(value)) do bind:insert(line) end
      end
      rawset(v, "_quiet", nil)
      if get_value(v) ~= old then rawget(v, "_changed"):_fire(get_value(v)) end
    else
      bind.value = value
    end
    return
  end
  local props = rawget(v, "_props")
  if props.value == value then return end
  props.value = value
  rawget(v, "_changed"):_fire(value)
end

view_mt.__index = function(v, key)
  local m = View[key]
  if m ~= nil then return m end
  if key == "value" or is_text_value(v, key) then return get_value(v) end
  local props = rawget(v, "_props")
  if key == "views" then
    local copy = {}
    for i, c in ipairs(rawget(v, "_children")) do copy[i] = c end
    return copy
  elseif key == "width" or key == "height" then
    local n = props[key]
    if host.rawtype(n) == "number" then return n end
    return key == "width" and WIDTH or HEIGHT
  elseif key == "size" then
    return { width = v.width, height = v.height }
  elseif key == "paragraphs" then
    return split_lines(v.text or "")
  end
  return props[key]
end

view_mt.__newindex = function(v, key, value)
  if key == "views" then fail("property 'views' is read-only") end
  if key == "value" or is_text_value(v, key) then return set_value(v, value) end
  if key == "size" and host.rawtype(value) == "table" then
    v.width, v.height = value.width or value[1], value.height or value[2]
    return
  end
  if key == "paragraphs" and host.rawtype(value) == "table" then
    v.text = table.concat(value, "\n")
    return
  end
  if key == "items" then
    local ok = host.rawtype(value) == "table"
    for _, item in ipairs(ok and value or {}) do ok = ok and host.rawtype(item) == "string" end
    if not ok then fail(rawget(v, "_type") .. ".items: a table of strings expected, got " .. type(value)) end
  end
  rawget(v, "_props")[key] = value
end

view_mt.__tostring = function(v)
  local id = rawget(v, "_props").id
  return rawget(v, "_type") .. (id and (" '" .. tostring(id) .. "'") or "")
end

local function child_arg(fname, child)
  if not is_view(child) then
    fail("bad argument #1 to '" .. fname .. "' (a view expected, got " .. type(child) .. ")")
  end
end

local function index_of(v, child)
  for i, c in ipairs(rawget(v, "_children")) do
    if rawequal(c, child) then return i end
  end
end

-- A view has one parent, as in Renoise.
local function adopt(v, child, fname)
  child_arg(fname, child)
  if rawequal(rawget(child, "_parent"), v) then
    fail(fname .. ": the view was already added")
  end
  if rawget(child, "_parent") ~= nil then
    fail(fname .. ": the view is already a child of another view")
  end
  -- A view inside itself would make every walk through the views endless.
  local up = v
  while up ~= nil do
    if rawequal(up, child) then fail(fname .. ": a view cannot be added inside itself") end
    up = rawget(up, "_parent")
  end
  rawset(child, "_parent", v)
  table.insert(rawget(v, "_children"), child)
end

function View:add_view(child) adopt(self, child, "add_view") end
function View:add_child(child) adopt(self, child, "add_child") end

local function remove(v, child, fname)
  child_arg(fname, child)
  local i = index_of(v, child)
  if not i then fail(fname .. ": the view is not a child of this view") end
  rawset(child, "_parent", nil)
  table.remove(rawget(v, "_children"), i)
end
function View:remove_view(child) remove(self, child, "remove_view") end
function View:remove_child(child) remove(self, child, "remove_child") end

local function swap(v, a, b, fname)
  child_arg(fname, a)
  child_arg(fname, b)
  local i, j = index_of(v, a), index_of(v, b)
  if not i or not j then fail(fname .. ": both views must be children of this view") end
  local children = rawget(v, "_children")
  children[i], children[j] = children[j], children[i]
end
function View:swap_views(a, b) swap(self, a, b, "swap_views") end
function View:swap_childs(a, b) swap(self, a, b, "swap_childs") end

-- Does nothing, as in Renoise (layouts fit their contents by themselves).
function View:resize() end
-- The multiline views' text functions.
function View:add_line(text)
  local t = self.text or ""
  self.text = (t == "" and "" or t .. "\n") .. tostring(text)
end
function View:clear() self.text = "" end
function View:scroll_to_last_line() end
function View:scroll_to_first_line() end
function View:update() end

-- Notifier methods: the observable's, with their own names in errors, at
-- the caller's line.
local function notifier_method(name, field, method)
  View[name] = function(self, ...)
    local obs = rawget(self, field)
    local ok, res = pcall(obs[method], obs, ...)
    if not ok then
      fail(name .. tostring(res):gsub("^.-" .. method, "", 1))
    end
    return res
  end
end
notifier_method("add_notifier", "_changed", "add_notifier")
notifier_method("remove_notifier", "_changed", "remove_notifier")
notifier_method("has_notifier", "_changed", "has_notifier")
notifier_method("add_pressed_notifier", "_pressed", "add_notifier")
notifier_method("remove_pressed_notifier", "_pressed", "remove_notifier")
notifier_method("add_released_notifier", "_released", "add_notifier")
notifier_method("remove_released_notifier", "_released", "remove_notifier")

local function make(vb, kind, props)
  local info = KINDS[kind]
  if props ~= nil and host.rawtype(props) ~= "table" then
    fail("bad argument #1 to '" .. kind .. "' (table expected, got " .. type(props) .. ")")
  end
  serial = serial + 1
  local v = setmetatable({
    _kind = kind, _type = info[1], _props = { visible = true, active = true },
    _children = {}, _changed = host.Observable(), _pressed = host.Observable(),
    _released = host.Observable(), _clicked = host.Observable(), _serial = serial,
  }, view_mt)
  made[v] = true
  local p = rawget(v, "_props")
  if info[2] ~= nil then p.value = info[2] end
  if kind == "xypad" then p.value = { x = 0.5, y = 0.5 } end
  if TEXTS[kind] then p.text = "" end
  props = props or {}
  -- Children: the table's array part, or a `views` array.
  local children = {}
  for i, child in ipairs(props) do children[#children + 1] = { child, "item " .. i } end
  if host.rawtype(props.views) == "table" then
    for i, child in ipairs(props.views) do children[#children + 1] = { child, "views[" .. i .. "]" } end
  end
  for _, c in ipairs(children) do
    if not is_view(c[1]) then
      fail("bad argument #1 to '" .. kind .. "' (" .. c[2]
        .. " of the table: a view expected, got " .. type(c[1]) .. ")")
    end
    adopt(v, c[1], kind)
  end
  for key, value in pairs(props) do
    if host.rawtype(key) == "number" or key == "views" then
      -- children, above
    elseif key == "id" then
      if host.rawtype(value) ~= "string" then
        fail("bad argument #1 to '" .. kind .. "' (id: a string expected, got " .. type(value) .. ")")
      end
      if rawget(vb, "_views")[value] ~= nil then
        fail("a view with the id '" .. value .. "' already exists in this ViewBuilder")
      end
      rawget(vb, "_views")[value] = v
      p.id = value
    elseif key == "notifier" or key == "pressed" or key == "released" then
      if host.rawtype(value) ~= "function" then
        fail("bad argument #1 to '" .. kind .. "' (" .. key .. ": a function expected, got "
          .. type(value) .. ")")
      end
      local field = key == "notifier" and (info[3] and "_clicked" or "_changed") or "_" .. key
      rawget(v, field):add_notifier(value)
    elseif key == "bind" then
      local observables = kind == "xypad" and host.rawtype(value) == "table"
        and { value.x, value.y } or { value }
      for _, o in ipairs(observables) do
        if host.rawtype(o) ~= "table" or o.add_notifier == nil then
          fail("bad argument #1 to '" .. kind .. "' (bind: an observable expected, got "
            .. type(o) .. ")")
        end
        o:add_notifier(function()
          if not rawget(v, "_quiet") then rawget(v, "_changed"):_fire(get_value(v)) end
        end)
      end
      rawset(v, "_bind", value)
    elseif key ~= "value" and not is_text_value(v, key) then
      v[key] = value
    end
  end
  -- The value last: a bound view takes the observable's, an explicit one
  -- goes to the observable.
  local value = props.value
  if value == nil and kind:match("textfield$") then value = props.text end
  if value ~= nil then
    if rawget(v, "_bind") ~= nil then
      set_value(v, value)
    else
      check_value(v, value)
      p.value = value
    end
  end
  return v
end

local Builder = {}
local builder_mt = {
  __index = function(vb, key)
    if key == "views" then return rawget(vb, "_views") end
    local m = Builder[key]
    if m ~= nil then return m end
    return renoise.ViewBuilder[key]
  end,
  __newindex = function() fail("ViewBuilder objects take no new fields") end,
}
host.api_names[builder_mt] = "ViewBuilder"
for kind in pairs(KINDS) do
  Builder[kind] = function(vb, props)
    if getmetatable(vb) ~= builder_mt then
      fail("bad argument #1 to '" .. kind .. "' (a ViewBuilder expected: call it as vb:"
        .. kind .. "{...})")
    end
    return make(vb, kind, props)
  end
end

renoise.ViewBuilder = setmetatable({
  DEFAULT_CONTROL_MARGIN = 4, DEFAULT_CONTROL_SPACING = 2, DEFAULT_CONTROL_HEIGHT = 18,
  DEFAULT_MINI_CONTROL_HEIGHT = 14, DEFAULT_DIALOG_MARGIN = 8, DEFAULT_DIALOG_SPACING = 8,
  DEFAULT_DIALOG_BUTTON_HEIGHT = 22,
}, {
  __call = function() return setmetatable({ _views = {} }, builder_mt) end,
})
host.api_members[builder_mt] = host.members_of(Builder, renoise.ViewBuilder, { views = true })

host.is_view = is_view

local function root_of(v)
  while rawget(v, "_parent") ~= nil do v = rawget(v, "_parent") end
  return v
end

-- Whether the view is on screen: in a dialog (or custom prompt) that is
-- open. One built but not shown yet, taken out of its dialog, or in a
-- dialog that was closed, nobody can click.
local function on_screen(v)
  local d = rawget(root_of(v), "_dialog")
  return d ~= nil and rawget(d, "_closed") ~= true
end

-- The newest view on screen that `name` names: by id, else (for --press)
-- a button or link by its text. With `anywhere`, on screen or not.
local function find(name, by_text, anywhere)
  local best
  for v in pairs(made) do
    local p = rawget(v, "_props")
    if (p.id == name or (by_text and KINDS[rawget(v, "_kind")][3] and p.text == name))
        and (anywhere or on_screen(v))
        and (not best or rawget(v, "_serial") > rawget(best, "_serial")) then
      best = v
    end
  end
  return best
end

-- What a person could not click or edit: a view hidden itself or inside
-- a hidden one, or inactive.
local function unusable(v, name)
  local node = v
  while node ~= nil do
    local p = rawget(node, "_props")
    if p.visible == false and node == v then
      return "'" .. name .. "' is hidden (visible = false)"
    elseif p.visible == false then
      return "'" .. name .. "' is hidden (inside " .. (p.id and "'" .. p.id .. "'" or "a "
        .. rawget(node, "_type")) .. ", which has visible = false)"
    end
    node = rawget(node, "_parent")
  end
  if rawget(v, "_props").active == false then return "'" .. name .. "' is inactive (active = false)" end
end

-- --press NAME: a button, bitmap or link is pressed, released and
-- clicked (its `notifier`); a checkbox toggles. -> true; nil (nothing
-- of that name yet, or hidden or inactive yet: a tool may show or enable
-- it later, when a server has answered); false, message (it cannot be
-- pressed).
local function press(name)
  local v = find(name, true)
  if not v or unusable(v, name) then return nil end
  local kind = rawget(v, "_kind")
  if KINDS[kind][3] then
    rawget(v, "_pressed"):_fire()
    rawget(v, "_released"):_fire()
    rawget(v, "_clicked"):_fire()
  elseif kind == "checkbox" then
    set_value(v, not get_value(v))
  else
    return false, "'" .. name .. "' is a " .. rawget(v, "_type")
      .. ": only buttons, bitmaps, links and checkboxes can be pressed"
  end
  return true
end

-- --set ID=VALUE: the text of a text field, a number, true / false for a
-- checkbox, an item's position or text for a popup, switch or chooser
-- (told apart by their default values).
local function set(name, text)
  if text == nil then return false, "--set takes ID=VALUE, not '" .. name .. "'" end
  local v = find(name, false)
  if not v or unusable(v, name) then return nil end
  local default, value = KINDS[rawget(v, "_kind")][2], nil
  if type(default) == "string" then
    value = text
  elseif type(default) == "boolean" then
    if text == "true" then value = true elseif text == "false" then value = false end
  elseif default == 0 then
    value = tonumber(text)
    -- NaN (Lua 5.1 reads "nan") is no value: it would pass every range
    -- check, each comparison with it being false.
    if value ~= value then value = nil end
    local p = rawget(v, "_props")
    if value and ((type(p.min) == "number" and value < p.min)
        or (type(p.max) == "number" and value > p.max)) then
      return false, "'" .. text .. "' is out of range for '" .. name .. "' ("
        .. tostring(p.min) .. " to " .. tostring(p.max) .. ")"
    end
  elseif default == 1 then
    local items = rawget(v, "_props").items or {}
    for i, item in ipairs(items) do if item == text then value = i end end
    local n = tonumber(text)
    if not value and n and n >= 1 and n <= math.max(1, #items) and n % 1 == 0 then value = n end
  elseif rawget(v, "_kind") == "xypad" then
    -- "X,Y", within the pad's min and max ({x, y} tables, 0 and 1 unless set).
    local x, y = text:match("^%s*([^,]-)%s*,%s*([^,]-)%s*$")
    x, y = tonumber(x), tonumber(y)
    if x and y and x == x and y == y then
      local p = rawget(v, "_props")
      local lo = host.rawtype(p.min) == "table" and p.min or {}
      local hi = host.rawtype(p.max) == "table" and p.max or {}
      local lx, ly = tonumber(lo.x) or 0, tonumber(lo.y) or 0
      local hx, hy = tonumber(hi.x) or 1, tonumber(hi.y) or 1
      if x < lx or x > hx or y < ly or y > hy then
        return false, "'" .. text .. "' is out of range for '" .. name .. "' (x " .. lx .. " to "
          .. hx .. ", y " .. ly .. " to " .. hy .. ")"
      end
      value = { x = x, y = y }
    end
  else
    return false, "'" .. name .. "' is a " .. rawget(v, "_type") .. ": it holds no value to set"
  end
  if value == nil then
    return false, "'" .. text .. "' is no value for '" .. name .. "', a " .. rawget(v, "_type")
  end
  set_value(v, value)
  return true
end

-- --menu NAME, as an action: the entry must exist when its turn comes.
local menu = host.invoke_entry

-- The --menu, --set and --press actions still to do, in command-line
-- order: `actions` is a list of {"menu" | "set" | "press", argument}.
local pending = {}
local kinds = { menu = menu, set = set, press = press }
host.queue_actions = function(actions)
  for _, a in ipairs(actions) do
    if a[1] == "set" then
      local name, text = a[2]:match("^([^=]*)=(.*)$")
      pending[#pending + 1] = { set, name or a[2], text }
    else
      pending[#pending + 1] = { kinds[a[1]], a[2] }
    end
  end
end

-- Does the actions whose views exist, in order, up to the first whose view
-- does not exist yet (a dialog a timer opens later). -> true; or false,
-- message for an action that cannot be done.
local failed -- what an action done inside a custom prompt could not do
host.run_actions = function()
  while pending[1] and not failed do
    -- Taken off first: a notifier it fires may end the run (os.exit).
    local a = table.remove(pending, 1)
    local done, why = a[1](a[2], a[3])
    if done == nil then
      table.insert(pending, 1, a)
      return true
    end
    if not done then return false, why end
  end
  if failed then return false, failed end
  return true
end

-- A custom prompt is modal: while it is up, the --set and --press actions
-- next in line whose views are in its `content` are done, as a person
-- fills in a form before choosing a button; then a --press that names one
-- of its `buttons` chooses it. -> the button so chosen, or nil. What an
-- action cannot do is reported by run_actions, once the tool's code has
-- returned to the loop.
host.run_prompt_actions = function(content, buttons)
  while pending[1] and not failed do
    local a = pending[1]
    if a[1] ~= set and a[1] ~= press then return nil end
    local v = find(a[2], a[1] == press)
    if not (v and root_of(v) == content) then
      -- Not one of its views: one of its buttons, or an action for later.
      for _, b in ipairs(a[1] == press and not v and buttons or {}) do
        if b == a[2] then
          table.remove(pending, 1)
          return b
        end
      end
      return nil
    end
    table.remove(pending, 1)
    local done, why = a[1](a[2], a[3])
    -- Modal: nothing can show or enable its view while it is up.
    if done == nil then why = unusable(v, a[2]) end
    if not done then failed = why end
  end
end

-- The first action left undone, as a message; nil when all were done.
host.actions_left = function()
  local a = pending[1]
  if not a then return nil end
  local what = a[1] == press and "no button, bitmap, link or checkbox with the id or text '"
    or "no view with the id '"
  local msg = what .. a[2] .. "'"
  local v = (a[1] == press or a[1] == set) and find(a[2], a[1] == press)
  -- Still hidden or inactive when the run ended?
  local why = v and unusable(v, a[2])
  if why then
    msg = why
  elseif serial == 0 then
    msg = msg .. " (the tool made no view)"
  elseif (a[1] == press or a[1] == set) and find(a[2], a[1] == press, true) then
    msg = msg .. " on screen (the tool made one, but it is in no open dialog:"
      .. " never shown, or its dialog was closed)"
  end
  -- A --menu given after it never ran: say so, since it may be what makes
  -- the view (actions run in the order given).
  for i = 2, #pending do
    if pending[i][1] == menu then
      return msg .. "; --menu '" .. pending[i][2] .. "', given after it, never ran:"
        .. " --menu, --set and --press run in the order given"
    end
  end
  return msg
end

-- Every view method checks its self (a '.' for a ':' is the tool's mistake).
host.check_self(View, "a view", is_view)
