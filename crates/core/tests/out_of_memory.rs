//! A receive buffer that cannot grow (a process under `ulimit -v`) is an
//! error the program gets, not the end of the process, and it loses
//! nothing: the socket and what is buffered stay, as for a line too long.
//!
//! Its own test binary with one test: it lowers the limit on the whole
//! process's address space for a moment, which no other test may share.
mod common;
use common::*;
use renoise_socket::{ClientBuilder, Error};
use std::io::{self, Write};

const TOTAL: usize = 100 << 20;
/// Room above the process's size when the limit is set: the buffer's
/// doubling runs out of it well before `TOTAL`.
const HEADROOM: u64 = 48 << 20;

#[test]
fn a_buffer_that_cannot_grow_is_an_error_that_keeps_the_socket_and_the_data() {
    let (mut c, peer) = pair_with(ClientBuilder::new().max_line_length(usize::MAX), |mut s| {
        // From one small chunk: the peer needs no memory of its own.
        let chunk = [b'x'; 64 << 10];
        for _ in 0..TOTAL / chunk.len() {
            s.write_all(&chunk).unwrap();
        }
        s.write_all(b"\n").unwrap();
    });
    set_address_space_limit(address_space_now() + HEADROOM);
    let mut failure = None;
    for _ in 0..1000 {
        match c.receive_line(LONG) {
            Err(Error::Timeout) => continue,
            other => {
                failure = Some(other.map(|l| l.len()));
                break;
            }
        }
    }
    set_address_space_limit(libc::RLIM_INFINITY);
    match failure {
        Some(Err(Error::Io(e))) => {
            assert_eq!(e.kind(), io::ErrorKind::OutOfMemory, "{e}");
            assert!(e.to_string().contains("receive buffer"), "{e}");
        }
        other => panic!("expected an out-of-memory error, got {other:?}"),
    }
    assert!(c.is_open());
    // With the memory back, the same line, whole.
    let line = c.receive_line(LONG).unwrap();
    assert_eq!(line.len(), TOTAL);
    assert!(line.iter().all(|&b| b == b'x'));
    join(peer);
}
