-- renoise.ViewBuilder without a GUI: views hold their properties, values
-- and notifiers, so a tool that builds a dialog gets past it to its
-- networking; --press clicks a button or checkbox by its id.
local host = ...

-- Each constructor, its type() name, and the default value of views that
-- hold one (nil: none).
local KINDS = {
  column = { "Rack" }, row = { "Rack" }, stack = { "Stack" },
  horizontal_aligner = { "Aligner" }, vertical_aligner = { "Aligner" },
  space = { "View" }, canvas = { "Canvas" }, scrollbar = { "ScrollBar", 0 },
  text = { "Text" }, multiline_text = { "MultiLineText" },
  link = { "Link" },
  textfield = { "TextField", "" }, multiline_textfield = { "MultiLineTextField", "" },
  bitmap = { "Bitmap" }, button = { "Button" },
  checkbox = { "CheckBox", false },
  switch = { "Switch", 1 }, popup = { "Popup", 1 }, chooser = { "Chooser", 1 },
  valuebox = { "ValueBox", 0 }, value = { "Value", 0 }, valuefield = { "ValueField", 0 },
  slider = { "Slider", 0 }, minislider = { "MiniSlider", 0 }, rotary = { "RotaryEncoder", 0 },
  xypad = { "XYPad" },
}

-- The views whose text starts empty (the text fields' is their value).
local TEXTS = { text = true, multiline_text = true, button = true, link = true }

-- Every view made with an id, in order, for --press.
local by_id = {}

local View = {}
local view_mt = {}
host.api_names[view_mt] = function(v) return rawget(v, "_type") end

local function is_view(v)
  return host.rawtype(v) == "table" and getmetatable(v) == view_mt
end

-- The value: the bound observable's when there is one.
local function get_value(v)
  local bind = rawget(v, "_bind")
  if bind ~= nil then return bind.value end
  return rawget(v, "_props").value
end

local function set_value(v, value)
  local bind = rawget(v, "_bind")
  if bind ~= nil then
    -- The observable's notifier fires the view's (see `bind` below).
    bind.value = value
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
  if key == "value" or (key == "text" and rawget(v, "_kind"):match("textfield$")) then
    return get_value(v)
  end
  if key == "views" then
    local copy = {}
    for i, c in ipairs(rawget(v, "_children")) do copy[i] = c end
    return copy
  end
  return rawget(v, "_props")[key]
end

view_mt.__newindex = function(v, key, value)
  if key == "views" then error("property 'views' is read-only", 2) end
  if key == "value" or (key == "text" and rawget(v, "_kind"):match("textfield$")) then
    return set_value(v, value)
  end
  rawget(v, "_props")[key] = value
end

view_mt.__tostring = function(v)
  local id = rawget(v, "_props").id
  return rawget(v, "_type") .. (id and (" '" .. tostring(id) .. "'") or "")
end

local function child_arg(fname, child)
  if not is_view(child) then
    error("bad argument #1 to '" .. fname .. "' (a view expected, got " .. type(child) .. ")", 3)
  end
end

local function index_of(v, child)
  for i, c in ipairs(rawget(v, "_children")) do
    if rawequal(c, child) then return i end
  end
end

function View:add_view(child)
  child_arg("add_view", child)
  if index_of(self, child) then error("add_view: the view was already added", 2) end
  table.insert(rawget(self, "_children"), child)
end

function View:remove_view(child)
  child_arg("remove_view", child)
  local i = index_of(self, child)
  if not i then error("remove_view: the view is not a child of this view", 2) end
  table.remove(rawget(self, "_children"), i)
end

function View:swap_views(a, b)
  child_arg("swap_views", a)
  child_arg("swap_views", b)
  local i, j = index_of(self, a), index_of(self, b)
  if not i or not j then error("swap_views: both views must be children of this view", 2) end
  local children = rawget(self, "_children")
  children[i], children[j] = children[j], children[i]
end

-- The names of API versions before 6.2.
View.add_child, View.remove_child, View.swap_childs = View.add_view, View.remove_view, View.swap_views

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

-- Value notifiers (controls) and the button's pressed / released.
function View:add_notifier(...) rawget(self, "_changed"):add_notifier(...) end
function View:remove_notifier(...) rawget(self, "_changed"):remove_notifier(...) end
function View:has_notifier(...) return rawget(self, "_changed"):has_notifier(...) end
function View:add_pressed_notifier(...) rawget(self, "_pressed"):add_notifier(...) end
function View:remove_pressed_notifier(...) rawget(self, "_pressed"):remove_notifier(...) end
function View:add_released_notifier(...) rawget(self, "_released"):add_notifier(...) end
function View:remove_released_notifier(...) rawget(self, "_released"):remove_notifier(...) end

-- A click, as --press makes it: a button is pressed, released and
-- clicked (its `notifier`); a checkbox toggles.
local function press(v)
  local kind = rawget(v, "_kind")
  if kind == "button" then
    rawget(v, "_pressed"):_fire()
    rawget(v, "_released"):_fire()
    rawget(v, "_clicked"):_fire()
  elseif kind == "checkbox" then
    set_value(v, not get_value(v))
  else
    return false, "'" .. tostring(v._props.id) .. "' is a " .. rawget(v, "_type")
      .. ": only buttons and checkboxes can be pressed"
  end
  return true
end

local function make(vb, kind, props)
  local info = KINDS[kind]
  if props ~= nil and host.rawtype(props) ~= "table" then
    error("bad argument #1 to '" .. kind .. "' (table expected, got " .. type(props) .. ")", 3)
  end
  local v = setmetatable({
    _kind = kind, _type = info[1], _props = { visible = true, active = true },
    _children = {}, _changed = host.Observable(), _pressed = host.Observable(),
    _released = host.Observable(), _clicked = host.Observable(),
  }, view_mt)
  local p = rawget(v, "_props")
  if info[2] ~= nil then p.value = info[2] end
  if TEXTS[kind] then p.text = "" end
  if kind == "xypad" then p.value = { x = 0.5, y = 0.5 } end
  props = props or {}
  for i, child in ipairs(props) do
    if not is_view(child) then
      error("bad argument #1 to '" .. kind .. "' (item " .. i
        .. " of the table: a view expected, got " .. type(child) .. ")", 3)
    end
    table.insert(rawget(v, "_children"), child)
  end
  for key, value in pairs(props) do
    if host.rawtype(key) == "number" then
      -- children, above
    elseif key == "id" then
      if host.rawtype(value) ~= "string" then
        error("bad argument #1 to '" .. kind .. "' (id: a string expected, got " .. type(value) .. ")", 3)
      end
      if rawget(vb, "_views")[value] ~= nil then
        error("a view with the id '" .. value .. "' already exists in this ViewBuilder", 3)
      end
      rawget(vb, "_views")[value] = v
      p.id = value
      by_id[#by_id + 1] = v
    elseif key == "notifier" then
      local target = kind == "button" and "_clicked" or "_changed"
      rawget(v, target):add_notifier(value)
    elseif key == "pressed" then
      rawget(v, "_pressed"):add_notifier(value)
    elseif key == "released" then
      rawget(v, "_released"):add_notifier(value)
    elseif key == "bind" then
      if host.rawtype(value) ~= "table" or value.add_notifier == nil then
        error("bad argument #1 to '" .. kind .. "' (bind: an observable expected, got "
          .. type(value) .. ")", 3)
      end
      rawset(v, "_bind", value)
      value:add_notifier(function() rawget(v, "_changed"):_fire(value.value) end)
    elseif key ~= "value" and not (key == "text" and kind:match("textfield$")) then
      p[key] = value
    end
  end
  -- The value last: a bound view takes the observable's, an explicit one
  -- goes to the observable.
  local value = props.value
  if value == nil and kind:match("textfield$") then value = props.text end
  if value ~= nil then
    if rawget(v, "_bind") ~= nil then v._bind.value = value else p.value = value end
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
  __newindex = function() error("ViewBuilder objects take no new fields", 2) end,
}
host.api_names[builder_mt] = "ViewBuilder"
for kind in pairs(KINDS) do
  Builder[kind] = function(vb, props)
    if getmetatable(vb) ~= builder_mt then
      error("bad argument #1 to '" .. kind .. "' (a ViewBuilder expected: call it as vb:"
        .. kind .. "{...})", 2)
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

host.is_view = is_view

-- --press ID: the last view made with that id (a dialog built again has
-- new views).
host.press = function(id)
  for i = #by_id, 1, -1 do
    if by_id[i]._props.id == id then return press(by_id[i]) end
  end
  return false, "no button or checkbox with the id '" .. id .. "'"
    .. (#by_id > 0 and "" or " (the tool made no view with an id)")
end
