-- A blocking receive must not stop Lua states in other threads of the same
-- process. Plain Lua has no threads, so this cannot be tested from here:
-- it is covered on the Rust side (crates/lua tests run two Lua states on two
-- OS threads, one blocked in receive, and check the other makes progress).
describe("threads", function()
  pending("a blocking receive in one Lua state does not block other threads' Lua states (covered in Rust)")
end)
