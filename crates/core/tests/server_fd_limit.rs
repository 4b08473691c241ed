//! Running out of file descriptors while accepting: reported once, no busy
//! loop, and the waiting connections are accepted once descriptors are
//! free again. Alone in its own test binary: it lowers the process's
//! descriptor limit.

mod server_util;

use renoise_socket::{Protocol, Server};
use server_util::*;
use std::net::TcpStream;
use std::time::{Duration, Instant};

#[test]
fn running_out_of_descriptors_is_reported_once_and_survived() {
    const N: usize = 30;
    let mut server = Server::bind(Some("127.0.0.1"), 0, Protocol::Tcp).unwrap();
    // The kernel completes these handshakes before the server accepts.
    let peers: Vec<TcpStream> = (0..N).map(|_| stream(&server)).collect();
    let saved = nofile();
    // Room for about five more descriptors.
    let probe = std::fs::File::open("/dev/null").unwrap();
    let next = std::os::fd::AsRawFd::as_raw_fd(&probe) as libc::rlim_t;
    drop(probe);
    set_nofile(&libc::rlimit {
        rlim_cur: next + 5,
        rlim_max: saved.rlim_max,
    });
    let mut events = Vec::new();
    let mut calls = 0;
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(500) {
        events.extend(server.poll(Duration::from_millis(50)).unwrap());
        calls += 1;
    }
    set_nofile(&saved);
    let accepted_while_short = count_accepted(&events);
    let errs = errors(&events);
    assert!(accepted_while_short < N, "the limit did not bite");
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].contains("accept"), "{}", errs[0]);
    // Backing off, not spinning: each call waited.
    assert!(calls < 100, "{calls} calls in 500 ms");
    // With descriptors back, every waiting connection is accepted.
    let rest = poll_until(&mut server, |ev| {
        accepted_while_short + count_accepted(ev) == N
    });
    assert!(errors(&rest).is_empty(), "{:?}", errors(&rest));
    assert_eq!(server.connections().len(), N);
    drop(peers);
}
