//! `Client::shutdown_send`: the peer reads the end of the stream and can
//! still answer; the client is closed for sending only.

mod common;

use common::*;
use renoise_socket::{ClientBuilder, Error, Protocol};
use socket2::SockRef;
use std::io::{Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::thread;
use std::time::{Duration, Instant};

/// A peer that answers once it has read everything: the number of bytes
/// it got, on one line, then a goodbye, then it closes.
fn count_to_end(mut s: TcpStream) {
    let mut got = Vec::new();
    s.read_to_end(&mut got).unwrap();
    s.write_all(format!("{}\nbye\n", got.len()).as_bytes())
        .unwrap();
}

#[test]
fn the_peer_reads_the_end_and_its_answer_still_arrives() {
    for host in LOOPBACKS {
        let (mut c, peer) = pair_on(&format!("{host}:0"), count_to_end);
        c.send(b"hello\n").unwrap();
        c.send(b"world").unwrap();
        c.shutdown_send().unwrap();
        assert!(!c.is_open());
        assert!(!c.is_connected(), "not open, so not connected");
        assert!(c.can_receive());
        assert_eq!(c.receive_line(LONG).unwrap(), b"11");
        assert_eq!(c.receive_line(LONG).unwrap(), b"bye");
        assert!(matches!(c.receive_line(LONG), Err(Error::Disconnected)));
        assert!(!c.can_receive());
        assert!(matches!(c.receive_line(LONG), Err(Error::Closed)));
        peer.join().unwrap();
    }
}

#[test]
fn a_send_after_it_is_closed_and_sends_nothing() {
    let (mut c, peer) = pair(count_to_end);
    c.send(b"abc").unwrap();
    c.shutdown_send().unwrap();
    assert!(matches!(c.send(b"more"), Err(Error::Closed)));
    // io::Write says so with its kind.
    let e = c.write(b"more").unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::NotConnected);
    assert_eq!(c.receive_line(LONG).unwrap(), b"3");
    peer.join().unwrap();
}

#[test]
fn calling_it_again_does_nothing_and_a_closed_client_is_closed() {
    let (mut c, peer) = pair(count_to_end);
    c.shutdown_send().unwrap();
    c.shutdown_send().unwrap();
    assert_eq!(c.receive_line(LONG).unwrap(), b"0");
    assert_eq!(c.receive_line(LONG).unwrap(), b"bye");
    assert!(matches!(c.receive_line(LONG), Err(Error::Disconnected)));
    assert!(matches!(c.shutdown_send(), Err(Error::Closed)));
    peer.join().unwrap();

    let (mut c, peer) = pair(count_to_end);
    c.close();
    assert!(matches!(c.shutdown_send(), Err(Error::Closed)));
    peer.join().unwrap();
}

#[test]
fn data_the_peer_sent_before_is_still_delivered() {
    // The peer sends first and only then reads to the end: nothing of
    // what it sent is lost by the client shutting its own side down.
    let (mut c, peer) = pair(|mut s| {
        s.write_all(b"first\nsecond").unwrap();
        let mut got = Vec::new();
        s.read_to_end(&mut got).unwrap();
        s.write_all(&got).unwrap();
    });
    thread::sleep(Duration::from_millis(50));
    c.send(b"\nthird\n").unwrap();
    c.shutdown_send().unwrap();
    assert_eq!(c.receive_line(LONG).unwrap(), b"first");
    assert_eq!(c.receive_line(LONG).unwrap(), b"second");
    assert_eq!(c.receive_line(LONG).unwrap(), b"third");
    assert!(matches!(c.receive_line(LONG), Err(Error::Disconnected)));
    peer.join().unwrap();
}

#[test]
fn after_a_reset_it_succeeds_and_the_next_receive_reports_the_end() {
    let (mut c, peer) = pair(|s| {
        SockRef::from(&s).set_linger(Some(Duration::ZERO)).unwrap();
        drop(s);
    });
    peer.join().unwrap();
    let start = Instant::now();
    while c.is_connected() {
        assert!(start.elapsed() < BOUND, "the reset never arrived");
        thread::sleep(Duration::from_millis(2));
    }
    c.shutdown_send().unwrap();
    assert!(!c.is_open());
    assert!(matches!(c.receive_line(LONG), Err(Error::Disconnected)));
    assert!(matches!(c.receive_line(LONG), Err(Error::Closed)));
}

#[test]
fn udp_has_no_stream_to_end_and_stays_open() {
    let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    peer.set_read_timeout(Some(BOUND)).unwrap();
    let port = peer.local_addr().unwrap().port();
    let mut c = ClientBuilder::new()
        .protocol(Protocol::Udp)
        .connect("127.0.0.1", port)
        .unwrap();
    match c.shutdown_send() {
        Err(Error::InvalidArgument(m)) => assert!(m.contains("UDP"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert!(c.is_open());
    c.send(b"still here").unwrap();
    let mut buf = [0u8; 64];
    let n = peer.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"still here");
}
