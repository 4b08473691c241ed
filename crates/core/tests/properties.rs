//! Properties: `is_open`, numeric local/peer addresses and ports on 127.0.0.1
//! and ::1 (TCP and UDP), their values after close and after the peer
//! disconnected, `close` twice, using a closed client (`Error::Closed`,
//! "socket is closed"), and closing on `close()` and on drop (the peer sees
//! end of stream).

mod common;

use common::*;
use renoise_socket::{Client, ClientBuilder, Error, Mode, Protocol};
use std::io::{Read, Write};
use std::sync::mpsc;
use std::time::{Duration, Instant};

#[test]
fn tcp_addresses_are_numeric_and_match_the_peer() {
    for host in LOOPBACKS {
        let (listener, port) = listen(host);
        let peer = serve_one(listener, |s| {
            (s.local_addr().unwrap(), s.peer_addr().unwrap())
        });
        let c = Client::connect(host, port).unwrap();
        let (peer_local, peer_remote) = join(peer);
        assert!(c.is_open());
        assert_eq!(c.protocol(), Protocol::Tcp);
        assert_eq!(c.local_address(), host);
        assert_eq!(c.peer_address(), host);
        assert_eq!(c.peer_port(), port);
        assert_ne!(c.local_port(), 0);
        assert_ne!(c.local_port(), port);
        // What the client reports is what the other end sees.
        assert_eq!(c.local_addr(), peer_remote);
        assert_eq!(c.peer_addr(), peer_local);
        assert_eq!(c.local_port(), peer_remote.port());
    }
}

#[test]
fn a_wildcard_address_connects_here_and_names_the_real_peer() {
    // `0.0.0.0` and `::` dial this machine; the peer is the loopback
    // address the kernel connected to, as getpeername says.
    for (wildcard, host) in [("0.0.0.0", "127.0.0.1"), ("::", "::1")] {
        let (listener, port) = listen(host);
        let peer = serve_one(listener, |s| s.local_addr().unwrap());
        let c = Client::connect(wildcard, port).unwrap();
        let peer_local = join(peer);
        assert_eq!(c.peer_address(), host);
        assert_eq!(c.peer_addr(), peer_local);
        let udp_peer = udp_peer(host);
        let udp_port = udp_peer.local_addr().unwrap().port();
        let u = ClientBuilder::new()
            .protocol(Protocol::Udp)
            .connect(wildcard, udp_port)
            .unwrap();
        assert_eq!(u.peer_address(), host);
        assert_eq!(u.peer_port(), udp_port);
    }
}

#[test]
fn udp_addresses_are_numeric_and_match_the_peer() {
    for host in LOOPBACKS {
        let peer = udp_peer(host);
        let port = peer.local_addr().unwrap().port();
        let mut c = ClientBuilder::new()
            .protocol(Protocol::Udp)
            .connect(host, port)
            .unwrap();
        assert!(c.is_open());
        assert_eq!(c.protocol(), Protocol::Udp);
        // Bound to the wildcard, but connected: the kernel picked the
        // loopback source address, and that is what is reported.
        assert_eq!(c.local_address(), host);
        assert_eq!(c.peer_address(), host);
        assert_eq!(c.peer_port(), port);
        assert_ne!(c.local_port(), 0);
        c.send(b"who am i").unwrap();
        let mut buf = [0u8; 32];
        let (n, from) = peer.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"who am i");
        assert_eq!(from, c.local_addr());
    }
}

fn assert_closed_everywhere(c: &mut Client) {
    assert!(!c.is_open());
    for mode in [Mode::Line, Mode::All, Mode::Bytes(1)] {
        for t in [Duration::ZERO, ms(50)] {
            let err = c.receive(mode, t).expect_err("receive on a closed client");
            assert!(matches!(err, Error::Closed), "{mode} {t:?}: {err:?}");
            assert_eq!(err.to_string(), "socket is closed");
        }
    }
    // The argument is not even looked at once the socket is closed.
    assert!(matches!(c.receive_exact(0, ms(0)), Err(Error::Closed)));
    let err = c.send(b"x").expect_err("send on a closed client");
    assert!(matches!(err, Error::Closed), "{err:?}");
    assert_eq!(err.to_string(), "socket is closed");
    assert!(!c.is_open());
}

#[test]
fn after_close_properties_stay_and_io_is_refused() {
    for proto in [Protocol::Tcp, Protocol::Udp] {
        for host in LOOPBACKS {
            let (_listener, port) = listen(host);
            let _udp;
            let port = if proto == Protocol::Udp {
                _udp = udp_peer(host);
                _udp.local_addr().unwrap().port()
            } else {
                port
            };
            let mut c = ClientBuilder::new()
                .protocol(proto)
                .connect(host, port)
                .unwrap();
            let before = (
                c.local_address(),
                c.local_port(),
                c.peer_address(),
                c.peer_port(),
            );
            c.close();
            c.close();
            let after = (
                c.local_address(),
                c.local_port(),
                c.peer_address(),
                c.peer_port(),
            );
            assert_eq!(before, after, "{proto} {host}");
            assert_eq!(c.buffered(), 0);
            assert_closed_everywhere(&mut c);
            c.close();
            assert!(!c.is_open());
            assert!(c.to_string().contains("closed"), "{c}");
        }
    }
}

#[test]
fn after_peer_disconnect_properties_stay() {
    for host in LOOPBACKS {
        let (listener, port) = listen(host);
        let peer = serve_one(listener, |mut s| s.write_all(b"bye\n").unwrap());
        let mut c = Client::connect(host, port).unwrap();
        let local = c.local_addr();
        join(peer);
        assert_eq!(c.receive_line(LONG).unwrap(), b"bye");
        assert!(c.is_open(), "still open until the end is reported");
        let err = c.receive_line(LONG).unwrap_err();
        assert!(err.is_disconnected(), "{err:?}");
        assert_eq!(c.local_addr(), local);
        assert_eq!(c.peer_address(), host);
        assert_eq!(c.peer_port(), port);
        assert_closed_everywhere(&mut c);
        c.close();
    }
}

/// Starts a peer that reports how long after `go` it saw end of stream.
fn eof_watcher(
    host: &str,
) -> (
    Client,
    mpsc::Sender<Instant>,
    std::thread::JoinHandle<Duration>,
) {
    let (listener, port) = listen(host);
    let (tx, rx) = mpsc::channel::<Instant>();
    let peer = serve_one(listener, move |mut s| {
        let go = rx
            .recv_timeout(BOUND)
            .expect("test never closed the client");
        let mut buf = [0u8; 16];
        match s.read(&mut buf) {
            Ok(0) => go.elapsed(),
            other => panic!("expected end of stream, got {other:?}"),
        }
    });
    let c = Client::connect(host, port).unwrap();
    (c, tx, peer)
}

#[test]
fn close_releases_the_socket_at_once() {
    for host in LOOPBACKS {
        let (mut c, go, peer) = eof_watcher(host);
        go.send(Instant::now()).unwrap();
        c.close();
        let took = join(peer);
        assert!(took < Duration::from_secs(2), "peer saw EOF after {took:?}");
        // The client value is still alive here: close alone released it.
        assert!(!c.is_open());
    }
}

#[test]
fn drop_closes() {
    for host in LOOPBACKS {
        let (c, go, peer) = eof_watcher(host);
        go.send(Instant::now()).unwrap();
        drop(c);
        let took = join(peer);
        assert!(took < Duration::from_secs(2), "peer saw EOF after {took:?}");
    }
}

#[test]
fn close_discards_buffered_data() {
    let (listener, port) = listen("127.0.0.1");
    let peer = serve_one(listener, |mut s| {
        s.write_all(b"one\ntwo\nthree\n").unwrap();
        let mut b = [0u8; 1];
        let _ = s.read(&mut b);
    });
    let mut c = Client::connect("127.0.0.1", port).unwrap();
    assert_eq!(c.receive_line(LONG).unwrap(), b"one");
    assert!(c.buffered() > 0, "the rest came in the same read");
    c.close();
    assert_eq!(c.buffered(), 0);
    assert!(matches!(c.receive_line(ms(0)), Err(Error::Closed)));
    join(peer);
}
