//! Link flags of the Lua module.

fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    // The module stays mapped after its Lua state closes (`dlclose` does
    // not unload it). LuaJIT's `lua_close` unloads C modules and then runs
    // the finalizers of objects that other finalizers created during the
    // close: without this, a finalizer that makes a socket or an OSC
    // message then crashes the interpreter on exit, in code no longer
    // there. (Lua 5.1 and 5.4 unload modules last.) FreeBSD's linker
    // takes the flag too.
    if os == "linux" || os == "freebsd" {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-z,nodelete");
    }
    // A module finds Lua's functions in the interpreter that loads it,
    // which macOS's linker must be told to leave to load time (mlua's
    // README asks for these two flags in module mode).
    let module = ["LUA51", "LUAJIT", "LUA54"]
        .iter()
        .any(|f| std::env::var_os(format!("CARGO_FEATURE_{f}")).is_some());
    // `receive` reads its usual arguments from its stack frame under
    // Lua 5.1 and 5.4 on 64-bit little-endian targets (src/stack.rs): the
    // layouts it mirrors are those of 64-bit builds, and it reads Lua
    // 5.4's one-byte type tag as the low byte of a word.
    println!("cargo::rustc-check-cfg=cfg(stack_args)");
    let puc = ["LUA51", "LUA54", "EMBED51", "EMBED54"]
        .iter()
        .any(|f| std::env::var_os(format!("CARGO_FEATURE_{f}")).is_some());
    let wide = std::env::var("CARGO_CFG_TARGET_POINTER_WIDTH").as_deref() == Ok("64");
    let little = std::env::var("CARGO_CFG_TARGET_ENDIAN").as_deref() == Ok("little");
    if puc && wide && little {
        println!("cargo:rustc-cfg=stack_args");
    }
    if os == "macos" && module {
        println!("cargo:rustc-cdylib-link-arg=-undefined");
        println!("cargo:rustc-cdylib-link-arg=dynamic_lookup");
    }
}
