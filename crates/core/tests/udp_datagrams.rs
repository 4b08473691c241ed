//! UDP: each datagram is one unit for `receive_all` (the rest of the current
//! one, or the next whole one), lines and n-byte reads run across datagrams
//! in arrival order, empty datagrams carry nothing, oversized messages are
//! refused without closing, ICMP port unreachable is reported as
//! `Error::Refused` and the socket stays open, and UDP never reports
//! `Disconnected`.

mod common;

use common::*;
use renoise_socket::{Client, ClientBuilder, Error, Mode, Protocol};
use std::net::UdpSocket;
use std::thread;
use std::time::{Duration, Instant};

/// A UDP peer on `host` and a client connected to it; the peer is
/// connected back to the client, so `send`/`recv` talk to it only.
fn udp_pair_with(host: &str, b: ClientBuilder) -> (Client, UdpSocket) {
    let peer = udp_peer(host);
    let port = peer.local_addr().unwrap().port();
    let c = b.protocol(Protocol::Udp).connect(host, port).unwrap();
    peer.connect(c.local_addr()).unwrap();
    (c, peer)
}

fn udp_pair(host: &str) -> (Client, UdpSocket) {
    udp_pair_with(host, ClientBuilder::new())
}

/// Sends each datagram, then waits until all of them can have arrived
/// (the client reads nothing meanwhile, so they queue in its kernel).
fn send_all(peer: &UdpSocket, datagrams: &[&[u8]]) {
    for d in datagrams {
        assert_eq!(peer.send(d).unwrap(), d.len());
    }
    thread::sleep(ms(20));
}

fn all(c: &mut Client, t: Duration) -> Vec<u8> {
    c.receive_all(t).unwrap().to_vec()
}

#[test]
fn each_datagram_is_one_unit_for_all() {
    for host in LOOPBACKS {
        let (mut c, peer) = udp_pair(host);
        send_all(&peer, &[b"first", b"second", b"third\n"]);
        assert_eq!(all(&mut c, LONG), b"first", "{host}");
        assert_eq!(all(&mut c, LONG), b"second", "{host}");
        // Zero timeout: the datagram is already pending.
        assert_eq!(all(&mut c, Duration::ZERO), b"third\n", "{host}");
        assert!(matches!(c.receive_all(Duration::ZERO), Err(Error::Timeout)));
    }
}

#[test]
fn lines_run_across_datagrams() {
    for host in LOOPBACKS {
        let (mut c, peer) = udp_pair(host);
        send_all(&peer, &[b"hel", b"lo\nwor", b"ld\r\n", b"x\r", b"\ny\n"]);
        assert_eq!(c.receive_line(LONG).unwrap(), b"hello", "{host}");
        assert_eq!(c.receive_line(LONG).unwrap(), b"world", "{host}");
        // A \r\n split across two datagrams is one terminator.
        assert_eq!(c.receive_line(LONG).unwrap(), b"x", "{host}");
        assert_eq!(c.receive_line(LONG).unwrap(), b"y", "{host}");
        assert!(matches!(c.receive_line(ms(30)), Err(Error::Timeout)));
    }
}

#[test]
fn n_bytes_run_across_datagrams() {
    for host in LOOPBACKS {
        let (mut c, peer) = udp_pair(host);
        send_all(&peer, &[b"abc", b"defg", b"h"]);
        assert_eq!(c.receive_exact(5, LONG).unwrap(), b"abcde", "{host}");
        // The rest of the partly read datagram is one unit for "all".
        assert_eq!(all(&mut c, LONG), b"fg", "{host}");
        assert_eq!(c.receive_exact(1, LONG).unwrap(), b"h", "{host}");
    }
}

#[test]
fn rest_of_a_partly_read_datagram_comes_from_all() {
    for host in LOOPBACKS {
        let (mut c, peer) = udp_pair(host);
        send_all(&peer, &[b"status ok\npayload", b"next", b"a\r", b"\nb"]);
        assert_eq!(c.receive_line(LONG).unwrap(), b"status ok");
        assert_eq!(all(&mut c, LONG), b"payload", "{host}");
        assert_eq!(all(&mut c, LONG), b"next", "{host}");
        assert_eq!(c.receive_line(LONG).unwrap(), b"a");
        // The \n that completed the \r\n is not part of the next unit.
        assert_eq!(all(&mut c, LONG), b"b", "{host}");
    }
}

#[test]
fn n_bytes_timeout_keeps_the_datagrams_read_so_far() {
    for host in LOOPBACKS {
        let (mut c, peer) = udp_pair(host);
        send_all(&peer, &[b"abc"]);
        let start = Instant::now();
        let err = c.receive_exact(5, ms(150)).unwrap_err();
        assert!(matches!(err, Error::Timeout), "{err:?}");
        assert!(start.elapsed() >= ms(140), "{:?}", start.elapsed());
        assert!(c.is_open());
        send_all(&peer, &[b"de"]);
        assert_eq!(c.receive_exact(5, LONG).unwrap(), b"abcde", "{host}");
    }
}

#[test]
fn largest_datagram_arrives_whole() {
    for (host, max) in [("127.0.0.1", 65507usize), ("::1", 65527)] {
        let (mut c, peer) = udp_pair(host);
        let data: Vec<u8> = (0..max).map(|i| (i * 7 % 256) as u8).collect();
        // Peer to client: one receive_all returns all of it.
        send_all(&peer, &[&data]);
        assert!(all(&mut c, LONG) == data, "{host}: datagram differs");
        // Client to peer.
        c.send(&data).unwrap();
        let mut buf = vec![0u8; 70000];
        let n = peer.recv(&mut buf).unwrap();
        assert_eq!(n, max, "{host}");
        assert!(buf[..n] == data[..]);
    }
}

#[test]
fn all_chunk_smaller_than_a_datagram() {
    // A datagram larger than the all-chunk size comes out in chunks, and
    // the next datagram is still a unit of its own.
    let (mut c, peer) = udp_pair_with("127.0.0.1", ClientBuilder::new().all_chunk_size(1000));
    let big: Vec<u8> = (0..2500u32).map(|i| i as u8).collect();
    send_all(&peer, &[&big, b"small"]);
    let mut got = Vec::new();
    for want in [1000, 1000, 500] {
        let part = all(&mut c, LONG);
        assert_eq!(part.len(), want);
        got.extend_from_slice(&part);
    }
    assert!(got == big);
    assert_eq!(all(&mut c, LONG), b"small");
}

#[test]
fn oversized_datagram_is_an_error_that_sends_nothing_and_closes_the_socket() {
    for (host, max) in [("127.0.0.1", 65507usize), ("::1", 65527)] {
        let (mut c, peer) = udp_pair(host);
        let err = c.send(&vec![0u8; 70000]).unwrap_err();
        match err {
            Error::MessageTooLarge { len, max: m } => {
                assert_eq!(len, 70000);
                assert_eq!(m, max, "{host}");
            }
            ref other => panic!("{host}: expected MessageTooLarge, got {other:?}"),
        }
        assert!(err.to_string().contains("too large"), "{err}");
        assert!(!c.is_open(), "{host}: any error but a timeout closes");
        assert!(matches!(c.send(b"after"), Err(Error::Closed)), "{host}");
        // Nothing was sent, not even a truncated part.
        peer.set_read_timeout(Some(ms(200))).unwrap();
        let mut buf = vec![0u8; 70000];
        let r = peer.recv(&mut buf);
        assert!(r.is_err(), "{host}: the peer got {:?} bytes", r.ok());
    }
}

#[test]
fn zero_timeout_on_an_empty_socket_is_a_timeout_at_once() {
    for host in LOOPBACKS {
        let (mut c, _peer) = udp_pair(host);
        for mode in [Mode::Line, Mode::All, Mode::Bytes(3)] {
            let start = Instant::now();
            let err = c.receive(mode, Duration::ZERO).unwrap_err();
            assert!(matches!(err, Error::Timeout), "{host} {mode}: {err:?}");
            assert!(start.elapsed() < ms(100), "{:?}", start.elapsed());
            assert!(c.is_open());
        }
    }
}

#[test]
fn empty_datagrams_are_skipped() {
    for host in LOOPBACKS {
        let (mut c, peer) = udp_pair(host);
        // Only an empty datagram pending: nothing to deliver.
        send_all(&peer, &[b""]);
        assert!(matches!(c.receive_all(Duration::ZERO), Err(Error::Timeout)));
        assert!(matches!(c.receive_all(ms(50)), Err(Error::Timeout)));
        assert!(c.is_open());
        // Empty datagrams between others vanish; never an empty "all".
        send_all(&peer, &[b"", b"a", b"", b"", b"b\n"]);
        assert_eq!(all(&mut c, LONG), b"a", "{host}");
        assert_eq!(c.receive_line(LONG).unwrap(), b"b", "{host}");
        // An empty datagram while a receive waits does not end the wait.
        let p2 = peer.try_clone().unwrap();
        let sender = thread::spawn(move || {
            thread::sleep(ms(50));
            p2.send(b"").unwrap();
            thread::sleep(ms(50));
            p2.send(b"late").unwrap();
        });
        assert_eq!(all(&mut c, LONG), b"late", "{host}");
        join(sender);
    }
}

#[test]
fn a_silent_or_vanished_peer_is_never_disconnected() {
    for host in LOOPBACKS {
        let (mut c, peer) = udp_pair(host);
        drop(peer);
        for mode in [Mode::Line, Mode::All, Mode::Bytes(1)] {
            let err = c.receive(mode, ms(30)).unwrap_err();
            assert!(matches!(err, Error::Timeout), "{host} {mode}: {err:?}");
        }
        assert!(c.is_open());
    }
}

#[test]
fn icmp_port_unreachable_is_refused_and_the_socket_stays_open() {
    for host in LOOPBACKS {
        let port = closed_udp_port(host);
        let mut c = ClientBuilder::new()
            .protocol(Protocol::Udp)
            .connect(host, port)
            .unwrap();
        // Sending succeeds: nothing is known yet.
        c.send(b"anyone?").unwrap();
        // The ICMP error arrives and is reported by the next receive.
        let start = Instant::now();
        let err = c.receive_all(LONG).unwrap_err();
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "{host}: the ICMP error should end the wait"
        );
        match &err {
            Error::Refused { addr } => assert_eq!(addr.port(), port),
            other => panic!("{host}: expected Refused, got {other:?}"),
        }
        assert!(err.to_string().contains("refused"), "{err}");
        assert!(c.is_open(), "{host}: UDP stays open after ICMP");
        // The error was reported once; then it is an ordinary empty socket.
        assert!(matches!(c.receive_all(ms(30)), Err(Error::Timeout)));

        // The next ICMP error can also surface on a send.
        c.send(b"still nobody?").unwrap();
        thread::sleep(ms(50));
        let err = c.send(b"hello?").unwrap_err();
        assert!(matches!(err, Error::Refused { .. }), "{host}: {err:?}");
        assert!(c.is_open());

        // A peer that comes up later on that port is reached.
        let peer = UdpSocket::bind((host, port)).expect("rebinding the freed port");
        peer.set_read_timeout(Some(BOUND)).unwrap();
        c.send(b"there you are").unwrap();
        let mut buf = [0u8; 64];
        let (n, from) = peer.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"there you are");
        peer.send_to(b"hi", from).unwrap();
        assert_eq!(all(&mut c, LONG), b"hi", "{host}");
    }
}

#[test]
fn datagrams_from_other_senders_are_ignored() {
    // A connected UDP socket hears only its peer.
    let (mut c, peer) = udp_pair("127.0.0.1");
    let stranger = udp_peer("127.0.0.1");
    stranger.send_to(b"spam", c.local_addr()).unwrap();
    send_all(&peer, &[b"real"]);
    assert_eq!(all(&mut c, LONG), b"real");
    assert!(matches!(c.receive_all(ms(30)), Err(Error::Timeout)));
}

/// The kernel may pick the very port asked for (a port of the ephemeral
/// range) as a UDP client's local port: a socket that would receive its
/// own datagrams. A client never talks to itself.
#[test]
fn a_client_never_gets_the_port_it_sends_to() {
    let port = closed_udp_port("127.0.0.1");
    let start = Instant::now();
    let mut tries = 0u32;
    while start.elapsed() < Duration::from_secs(2) {
        tries += 1;
        let c = ClientBuilder::new()
            .protocol(Protocol::Udp)
            .connect("127.0.0.1", port)
            .unwrap();
        assert_ne!(c.local_addr(), c.peer_addr(), "try {tries}");
    }
}

/// A burst of replies that arrives while the program does not receive
/// waits in the kernel's queue, which the client makes as large as a
/// server's (the Linux default, 208 KiB, holds about 256 datagrams of 64
/// bytes on loopback). Where the system caps queues at the default
/// (`net.core.rmem_max`), only a burst the default holds is sent, and the
/// test shows nothing there.
#[test]
fn a_burst_between_receives_waits_in_the_kernel_queue() {
    let burst = udp_burst();
    let (mut c, peer) = udp_pair("127.0.0.1");
    for i in 0..burst {
        let mut payload = [b'.'; 64];
        payload[..4].copy_from_slice(&i.to_be_bytes());
        peer.send(&payload).unwrap();
    }
    for i in 0..burst {
        let d = c.receive_all(ms(500)).expect("datagram dropped");
        assert_eq!(d[..4], i.to_be_bytes(), "out of order or dropped at {i}");
    }
}

#[test]
fn a_broadcast_address_takes_the_broadcast_option() {
    // Loopback's own broadcast address reaches a socket on 0.0.0.0.
    let everyone = UdpSocket::bind("0.0.0.0:0").unwrap();
    everyone.set_read_timeout(Some(BOUND)).unwrap();
    let port = everyone.local_addr().unwrap().port();
    let udp = || ClientBuilder::new().protocol(Protocol::Udp);
    let e = udp().connect("127.255.255.255", port).unwrap_err();
    assert!(e.to_string().contains("broadcast option"), "{e}");
    assert_eq!(e.raw_os_error(), Some(libc::EACCES), "{e}");
    let mut c = udp()
        .broadcast(true)
        .connect("127.255.255.255", port)
        .unwrap();
    c.send(b"to everyone").unwrap();
    let mut buf = [0u8; 64];
    let (n, _) = everyone.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"to everyone");
    // The option changes nothing for a plain peer, over IPv6 (which has no
    // broadcast) too: it answers, and the answer is taken.
    for host in ["127.0.0.1", "::1"] {
        let (mut c, peer) = udp_pair_with(host, udp().broadcast(true));
        c.send(b"ping").unwrap();
        let (n, _) = peer.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"ping", "{host}");
        peer.send(b"pong").unwrap();
        assert_eq!(c.receive_all(BOUND).unwrap(), b"pong", "{host}");
    }
}
