//! An OSC packet too large for the memory left (a process under
//! `ulimit -v`) is an error when it is encoded or decoded, not the end of
//! the process.
//!
//! Its own test binary with one test: it lowers the limit on the whole
//! process's address space for a moment, which no other test may share.
mod common;
use common::{address_space_now, set_address_space_limit};
use renoise_socket::osc::{Arg, Message, Packet};
use renoise_socket::Error;
use std::io;

const BLOB: usize = 96 << 20;
/// Room above the process's size when the limit is set: less than one
/// more copy of the blob.
const HEADROOM: u64 = 32 << 20;

fn out_of_memory<T: std::fmt::Debug>(r: Result<T, Error>) -> String {
    match r {
        Err(Error::Io(e)) if e.kind() == io::ErrorKind::OutOfMemory => e.to_string(),
        other => panic!("expected an out-of-memory error, got {other:?}"),
    }
}

#[test]
fn a_packet_too_large_for_the_memory_left_is_an_error() {
    let message = Message::new("/big", vec![Arg::Blob(vec![7; BLOB])]);
    let bytes = message.to_bytes().unwrap();
    set_address_space_limit(address_space_now() + HEADROOM);
    let encoded = message.to_bytes();
    let decoded = Packet::decode(&bytes);
    set_address_space_limit(libc::RLIM_INFINITY);
    let e = out_of_memory(encoded);
    assert!(e.contains("cannot encode an OSC packet"), "{e}");
    let e = out_of_memory(decoded);
    assert!(e.contains("cannot copy"), "{e}");
    // With the memory back, both work.
    assert_eq!(message.to_bytes().unwrap(), bytes);
    assert_eq!(Packet::decode(&bytes).unwrap(), Packet::Message(message));
}
