//! Link flags of the Lua module.

fn main() {
    // The module stays mapped after its Lua state closes (`dlclose` does
    // not unload it). LuaJIT's `lua_close` unloads C modules and then runs
    // the finalizers of objects that other finalizers created during the
    // close: without this, a finalizer that makes a socket or an OSC
    // message then crashes the interpreter on exit, in code no longer
    // there. (Lua 5.1 and 5.4 unload modules last.)
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-z,nodelete");
    }
}
