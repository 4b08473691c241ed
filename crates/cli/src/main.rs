//! `renoise-socket`: run Renoise tool scripts outside Renoise (work in progress).
fn main() {}
