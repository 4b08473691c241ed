//! `Client::try_clone`: a second client on the same socket sends while the
//! first waits in a receive; the peer sees the end once every clone is
//! closed, or at once after `shutdown_send` on any of them.

mod common;
mod server_util;

use common::*;
use renoise_socket::{Error, Protocol};
use std::io::{BufRead, BufReader, Read, Write};
use std::sync::mpsc;
use std::thread;

/// A peer that answers each line with "echo " and the line, until the end.
fn echo_lines(s: std::net::TcpStream) {
    let mut w = s.try_clone().unwrap();
    for line in BufReader::new(s).lines() {
        let Ok(line) = line else { break };
        if w.write_all(format!("echo {line}\n").as_bytes()).is_err() {
            break;
        }
    }
}

#[test]
fn a_clone_sends_while_the_client_waits_in_a_receive() {
    let (mut reader, peer) = pair(echo_lines);
    let mut writer = reader.try_clone().unwrap();
    assert_eq!(writer.peer_addr(), reader.peer_addr());
    assert_eq!(writer.local_addr(), reader.local_addr());
    let (tx, rx) = mpsc::channel();
    let receiving = thread::spawn(move || {
        tx.send(()).unwrap();
        // Blocks until the clone's line has made the round trip.
        let line = reader.receive_line(BOUND).map(<[u8]>::to_vec);
        (reader, line)
    });
    rx.recv_timeout(BOUND).unwrap();
    thread::sleep(ms(50)); // the receive is waiting by now
    writer.send(b"ping\n").unwrap();
    let (mut reader, line) = receiving.join().unwrap();
    assert_eq!(line.unwrap(), b"echo ping");
    reader.close();
    writer.close();
    peer.join().unwrap();
}

#[test]
fn the_peer_sees_the_end_only_when_every_clone_is_closed() {
    let (listener, port) = listen("127.0.0.1");
    let mut a = renoise_socket::Client::connect("127.0.0.1", port).unwrap();
    let mut peer = accept(&listener);
    let mut b = a.try_clone().unwrap();
    a.close();
    assert!(a.send(b"x").is_err());
    // b still holds the connection: it sends, and the peer reads no end.
    b.send(b"from b").unwrap();
    let mut got = [0u8; 6];
    peer.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"from b");
    peer.set_read_timeout(Some(ms(200))).unwrap();
    let quiet = peer.read(&mut [0u8; 1]);
    assert!(
        matches!(&quiet, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "{quiet:?}"
    );
    b.close();
    peer.set_read_timeout(Some(BOUND)).unwrap();
    assert_eq!(peer.read(&mut [0u8; 1]).unwrap(), 0);
}

#[test]
fn shutdown_send_on_a_clone_ends_the_stream_for_the_peer() {
    let (mut a, peer) = pair(|mut s| {
        let mut all = Vec::new();
        s.read_to_end(&mut all).unwrap();
        s.write_all(format!("{} bytes\n", all.len()).as_bytes())
            .unwrap();
    });
    let mut b = a.try_clone().unwrap();
    b.send(b"12345").unwrap();
    b.shutdown_send().unwrap();
    assert!(!b.is_open());
    // The other clone can no longer send either, but keeps receiving.
    assert!(matches!(a.send(b"more"), Err(Error::Disconnected)));
    assert!(!a.is_open());
    // The original receives the answer the end brought.
    assert_eq!(a.receive_line(BOUND).unwrap(), b"5 bytes");
    assert!(matches!(a.receive_line(BOUND), Err(Error::Disconnected)));
    peer.join().unwrap();
}

#[test]
fn a_closed_client_has_no_clone() {
    let (mut c, peer) = pair(send_and_hold(Vec::new()));
    c.close();
    assert!(matches!(c.try_clone(), Err(Error::Closed)));
    peer.join().unwrap();
}

#[test]
fn a_connection_answers_through_a_clone_while_another_thread_holds_its_lock() {
    let (_server, mut peer, conn) = server_util::server_with_peer();
    let mut writer = conn.lock().try_clone().unwrap();
    // Another thread waits in a receive, holding the lock.
    let held = conn.clone();
    let (tx, rx) = mpsc::channel();
    let receiving = thread::spawn(move || {
        let mut guard = held.lock();
        tx.send(()).unwrap();
        guard.receive_line(BOUND).map(<[u8]>::to_vec)
    });
    rx.recv_timeout(BOUND).unwrap();
    assert!(conn.try_lock().is_none());
    writer.send(b"hello\n").unwrap();
    let mut line = String::new();
    BufReader::new(&peer).read_line(&mut line).unwrap();
    assert_eq!(line, "hello\n");
    peer.write_all(b"bye\n").unwrap();
    assert_eq!(receiving.join().unwrap().unwrap(), b"bye");
}

#[test]
fn a_udp_clone_sends_from_the_same_port() {
    let peer = udp_peer("127.0.0.1");
    let port = peer.local_addr().unwrap().port();
    let mut a = renoise_socket::ClientBuilder::new()
        .protocol(Protocol::Udp)
        .connect("127.0.0.1", port)
        .unwrap();
    let mut b = a.try_clone().unwrap();
    b.send(b"from the clone").unwrap();
    let mut buf = [0u8; 64];
    peer.set_read_timeout(Some(BOUND)).unwrap();
    let (n, from) = peer.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"from the clone");
    assert_eq!(from, a.local_addr());
    peer.send_to(b"reply", from).unwrap();
    assert_eq!(a.receive_all(BOUND).unwrap(), b"reply");
}

#[test]
fn clones_that_receive_in_turn_keep_their_own_timeouts() {
    let (mut a, peer) = pair(|mut s| {
        std::thread::sleep(ms(100));
        s.write_all(b"for b\n").unwrap();
        // Then quiet until the client goes.
        let _ = s.read(&mut [0u8; 1]);
    });
    let mut b = a.try_clone().unwrap();
    assert!(matches!(a.receive_line(ms(50)), Err(Error::Timeout)));
    // b waits without a deadline: the socket's timeout becomes "none".
    assert_eq!(b.receive_line(std::time::Duration::MAX).unwrap(), b"for b");
    let t = std::time::Instant::now();
    assert!(matches!(a.receive_line(ms(50)), Err(Error::Timeout)));
    assert!(t.elapsed() < ms(2000), "a's 50 ms took {:?}", t.elapsed());
    a.close();
    b.close();
    peer.join().unwrap();
}

#[test]
fn a_send_that_stalls_through_a_clone_ends_the_stream_for_every_clone() {
    let (port, go, peer) = lazy_reader("127.0.0.1");
    let mut a = renoise_socket::ClientBuilder::new()
        .send_timeout(Some(ms(300)))
        .connect("127.0.0.1", port)
        .unwrap();
    let mut b = a.try_clone().unwrap();
    let written = match b.send(&vec![7u8; 64 << 20]) {
        Err(Error::SendStalled { written, .. }) => written,
        other => panic!("{other:?}"),
    };
    // The other clone cannot send after the cut-off message either.
    assert!(a.send(b"NEXT\n").is_err());
    assert!(!a.is_open());
    go.send(()).unwrap();
    // The peer gets the part written, then the end (no "NEXT").
    let got = join(peer);
    assert_eq!(got.len(), written);
    assert!(got.iter().all(|&x| x == 7));
}
