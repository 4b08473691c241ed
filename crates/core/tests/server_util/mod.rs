//! Helpers for the server tests: every wait is bounded.
#![allow(dead_code)]

use renoise_socket::{Connection, Event, Peer, Protocol, Server};
use std::collections::HashMap;
use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// Longest any test waits for anything; a broken test fails instead of
/// hanging.
pub const BOUND: Duration = Duration::from_secs(10);

/// Polls until `done(all events so far)` holds; panics after [`BOUND`].
pub fn poll_until(server: &mut Server, mut done: impl FnMut(&[Event]) -> bool) -> Vec<Event> {
    let start = Instant::now();
    let mut all = Vec::new();
    while !done(&all) {
        assert!(
            start.elapsed() < BOUND,
            "condition not reached; events so far: {all:?}"
        );
        all.extend(server.poll(Duration::from_millis(50)).expect("poll"));
    }
    all
}

pub fn count_accepted(events: &[Event]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, Event::Accepted(_)))
        .count()
}

pub fn count_closed(events: &[Event]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, Event::Closed(_)))
        .count()
}

pub fn accepted(events: &[Event]) -> Vec<Connection> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Accepted(c) => Some(c.clone()),
            _ => None,
        })
        .collect()
}

/// Message data concatenated per sender address, in arrival order.
pub fn data_by_peer(events: &[Event]) -> HashMap<SocketAddr, Vec<u8>> {
    let mut m: HashMap<SocketAddr, Vec<u8>> = HashMap::new();
    for e in events {
        if let Event::Message { from, data } = e {
            m.entry(from.peer_addr()).or_default().extend(data);
        }
    }
    m
}

/// Every message, as (sender, data).
pub fn messages(events: &[Event]) -> Vec<(Peer, Vec<u8>)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Message { from, data } => Some((from.clone(), data.clone())),
            _ => None,
        })
        .collect()
}

pub fn errors(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Error(e) => Some(e.to_string()),
            _ => None,
        })
        .collect()
}

/// A std TCP stream to the server with bounded reads and writes.
pub fn stream(server: &Server) -> TcpStream {
    let s = TcpStream::connect(server.local_addr()).expect("connect");
    s.set_read_timeout(Some(BOUND)).unwrap();
    s.set_write_timeout(Some(BOUND)).unwrap();
    s
}

/// A TCP server on 127.0.0.1, a peer connected to it, and the server's
/// connection for that peer (its `Accepted` event already taken).
pub fn server_with_peer() -> (Server, TcpStream, Connection) {
    let mut server = Server::bind(Some("127.0.0.1"), 0, Protocol::Tcp).unwrap();
    let peer = stream(&server);
    let events = poll_until(&mut server, |ev| count_accepted(ev) == 1);
    let conn = accepted(&events).remove(0);
    (server, peer, conn)
}

/// Reads until `n` bytes or end of stream.
pub fn read_n(s: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut out = vec![0; n];
    let mut got = 0;
    while got < n {
        match s.read(&mut out[got..]).expect("read") {
            0 => break,
            k => got += k,
        }
    }
    out.truncate(got);
    out
}

/// True when IPv6 loopback works on this host.
pub fn has_ipv6() -> bool {
    std::net::TcpListener::bind("[::1]:0").is_ok()
}

/// The process's descriptor limit (for the tests that lower it, each in
/// a test binary of its own: the limit is the whole process's).
pub fn nofile() -> libc::rlimit {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) }, 0);
    r
}

pub fn set_nofile(r: &libc::rlimit) {
    // SAFETY: setrlimit reads the struct we own.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, r) }, 0);
}
