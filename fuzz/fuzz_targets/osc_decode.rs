//! Any bytes: `Packet::decode` must not panic, overflow the stack or
//! allocate beyond the input; whatever it accepts must encode again, and
//! our own encoding must be a fixed point.

#![no_main]

use libfuzzer_sys::fuzz_target;
use renoise_socket::osc::Packet;

fuzz_target!(|data: &[u8]| {
    let Ok(packet) = Packet::decode(data) else {
        return;
    };
    let _ = packet.to_string();
    let once = packet.to_bytes().expect("a decoded packet encodes again");
    let again = Packet::decode(&once).expect("our own bytes decode");
    assert_eq!(again.to_bytes().expect("encodes"), once);
});
