//! A program that polls an idle connection with zero timeouts, again and
//! again (the client then asks `poll`, later its own epoll instance, before
//! reading): data, the end of the stream and every mode still arrive.
mod common;
use common::*;
use renoise_socket::{Client, Error, Mode};
use std::io::Write;
use std::net::TcpListener;
use std::time::{Duration, Instant};

/// Zero-timeout receives until one succeeds (within five seconds).
fn poll_until(c: &mut Client, mode: Mode) -> Result<Vec<u8>, Error> {
    let end = Instant::now() + Duration::from_secs(5);
    loop {
        match c.receive_vec(mode, Duration::ZERO) {
            Err(Error::Timeout) if Instant::now() < end => std::thread::yield_now(),
            other => return other,
        }
    }
}

fn idle_polls(c: &mut Client, n: usize) {
    for _ in 0..n {
        assert!(matches!(
            c.receive(Mode::Line, Duration::ZERO),
            Err(Error::Timeout)
        ));
    }
}

#[test]
fn data_after_many_idle_polls_arrives_in_every_mode() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = addr_of(&listener).port();
    let mut c = Client::connect("127.0.0.1", port).unwrap();
    let mut peer = accept(&listener);
    for (round, mode) in [Mode::Line, Mode::Bytes(3), Mode::All, Mode::Line]
        .into_iter()
        .enumerate()
    {
        idle_polls(&mut c, 1 + round * 20);
        peer.write_all(b"abc\n").unwrap();
        let got = poll_until(&mut c, mode).unwrap();
        match mode {
            Mode::Line => assert_eq!(got, b"abc"),
            Mode::Bytes(_) => {
                assert_eq!(got, b"abc");
                assert_eq!(c.receive_vec(Mode::Line, LONG).unwrap(), b"");
            }
            Mode::All => assert_eq!(got, b"abc\n"),
        }
    }
    // Blocking receives still work after all that polling.
    peer.write_all(b"late\n").unwrap();
    assert_eq!(c.receive_vec(Mode::Line, LONG).unwrap(), b"late");
}

#[test]
fn end_of_stream_after_many_idle_polls_is_seen() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = addr_of(&listener).port();
    let mut c = Client::connect("127.0.0.1", port).unwrap();
    let mut peer = accept(&listener);
    idle_polls(&mut c, 50);
    peer.write_all(b"last").unwrap();
    drop(peer);
    assert_eq!(poll_until(&mut c, Mode::Line).unwrap(), b"last");
    assert!(matches!(
        c.receive(Mode::Line, Duration::ZERO),
        Err(Error::Disconnected)
    ));
    assert!(!c.is_open());
}

#[test]
fn close_after_many_idle_polls_releases_everything() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = addr_of(&listener).port();
    let mut c = Client::connect("127.0.0.1", port).unwrap();
    let _peer = accept(&listener);
    idle_polls(&mut c, 50);
    c.close();
    assert!(matches!(
        c.receive(Mode::Line, Duration::ZERO),
        Err(Error::Closed)
    ));
}
