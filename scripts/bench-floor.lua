-- The string-creation floor of each benchmark workload (see BENCHMARKS.md):
-- what one `string.sub` of a fresh string of the workload's item size
-- costs in this interpreter, CPU ns per item. A binding that hands out each
-- item as a new Lua string pays about this much on top of its socket work.
--
--   lua5.1 scripts/bench-floor.lua      luajit scripts/bench-floor.lua
--   FLOOR_ONLY=lines-100 FLOOR_SCALE=0.1 lua5.1 scripts/bench-floor.lua
--
-- The source is 128 KiB of pseudo-random letters: small, as a receive
-- buffer is, so the collector runs about as often as in a receive loop.
-- Items are taken in order, one `string.sub`
-- each, so consecutive strings differ and old ones become garbage; each
-- pass over the source is shifted by a byte, so no string is found still
-- interned from the pass before. (The benchmark server repeats its data
-- every MiB, so a client there sometimes does find a line still interned
-- and can come in under this figure.) Under Lua 5.1 `string.sub` is a
-- classic C function, so the figure includes one call from Lua into C;
-- under LuaJIT the call is compiled and only the string creation and its
-- garbage remain.
--
-- The collector's work per fresh string depends on what else the heap
-- holds: a cycle starts once the heap has doubled, so a larger live heap
-- means fewer cycles per string, and each cycle marks and sweeps every
-- live object. `FLOOR_HEAP=client` measures in a heap like the benchmark
-- client's instead: an 8 KiB source (LuaSocket's buffer size) and the
-- modules the client loads (LuaSocket, which it uses as its clock under
-- Lua 5.1, the FFI under LuaJIT, and renoise_socket when LUA_CPATH finds
-- it). The live heap, printed in the header, is then 80-100 KiB against
-- 200-240 KiB by default (the benchmark client's own: 58-67 KiB), and the
-- figures for long items are higher (the 1000-byte one by about a quarter
-- under Lua 5.1, in instructions).
local client_heap = os.getenv("FLOOR_HEAP") == "client"
local CHUNK = client_heap and 8192 or 131072
if client_heap then
  for _, m in ipairs({ rawget(_G, "jit") and "ffi" or "socket", "renoise_socket" }) do
    local ok, lib = pcall(require, m)
    if ok then _G["floor_keeps_" .. m] = lib end
  end
end

local unpack = unpack or table.unpack -- Lua 5.4

local function letters(n)
  math.randomseed(1)
  local t, parts = {}, {}
  for i = 1, n, 4096 do
    local k = math.min(4096, n - i + 1)
    for j = 1, k do t[j] = 97 + math.random(0, 25) end
    parts[#parts + 1] = string.char(unpack(t, 1, k))
  end
  return table.concat(parts)
end

local big = letters(CHUNK)
local sub, clock = string.sub, os.clock

-- ns per fresh string of `size` bytes, items `stride` bytes apart.
local function floor(size, stride, total_bytes)
  local per_chunk = math.floor((CHUNK - 128 - size) / stride) + 1
  local n = math.max(math.floor(total_bytes / stride), per_chunk)
  local keep = {}
  local t0 = clock()
  local done, k, pass = 0, 0, 0
  while done < n do
    -- Each pass starts one byte further on, so its strings differ from
    -- the last pass's: a string that is still interned would cost only a
    -- lookup, which a small heap (a receive loop's) does not get.
    pass = pass + 1
    local pos = 1 + pass % 128
    for _ = 1, math.min(per_chunk, n - done) do
      k = k + 1
      keep[k % 16] = sub(big, pos, pos + size - 1) -- keep it, so it is made
      pos = pos + stride
    end
    done = done + per_chunk
  end
  return (clock() - t0) / n * 1e9, n
end

local interp = rawget(_G, "jit") and jit.version or _VERSION
collectgarbage()
print(("string-creation floor, %s, live heap %.0f KiB (CPU ns per fresh string):")
  :format(interp, collectgarbage("count")))
local cases = {
  { "lines-16", 16, 17, 60e6 },
  { "lines-100", 100, 101, 200e6 },
  { "lines-1000", 1000, 1001, 600e6 },
  { "records-64", 64, 64, 200e6 },
  { "bulk (64 KiB)", 65536, 65536, 4e9 },
}
-- FLOOR_ONLY=<name> runs one case; FLOOR_SCALE=<f> scales the counts.
local only, scale = os.getenv("FLOOR_ONLY"), tonumber(os.getenv("FLOOR_SCALE") or "1")
for _, c in ipairs(cases) do
  if c[2] + 128 > CHUNK then
    print(("  %-14s skipped: larger than the %d-byte source"):format(c[1], CHUNK))
  elseif not only or only == c[1] then
    local ns, n = floor(c[2], c[3], c[4] * scale)
    if c[2] == 65536 then
      print(("  %-14s %9.0f ns/chunk = %6.0f ms/GB"):format(c[1], ns, ns / 65536 * 1e3))
    else
      print(("  %-14s %9.1f ns/item   (%d items)"):format(c[1], ns, n))
    end
  end
end
