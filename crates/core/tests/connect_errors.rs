//! Connecting: refused, unknown host, connect timeout (on loopback, with a
//! listener whose accept queue is full), argument errors, and the accepted
//! spellings of a host (IPv4 / IPv6 literals with and without brackets,
//! "localhost").

mod common;

use common::*;
use renoise_socket::{Client, ClientBuilder, Error, Protocol, Server};
use socket2::{Domain, Socket, Type};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

#[test]
fn refused_when_nothing_listens() {
    for host in LOOPBACKS {
        let port = closed_tcp_port(host);
        let start = Instant::now();
        let err = Client::connect(host, port).expect_err("nothing listens");
        let took = start.elapsed();
        match &err {
            Error::Refused { addr } => {
                assert_eq!(addr.port(), port);
                assert_eq!(addr.ip().to_string(), host);
            }
            other => panic!("{host}: expected Refused, got {other:?}"),
        }
        assert!(
            err.to_string().contains("refused"),
            "message {:?} should say refused",
            err.to_string()
        );
        // An RST on loopback comes back at once, not after the timeout.
        assert!(took < ms(900), "{host}: refusal took {took:?}");
    }
}

#[test]
fn unknown_host() {
    for name in ["no-such-host.invalid", "renoise-socket-test.invalid"] {
        let err = Client::connect(name, 80).expect_err("an .invalid name never resolves");
        match &err {
            Error::UnknownHost { host } => assert_eq!(host, name),
            other => panic!("{name}: expected UnknownHost, got {other:?}"),
        }
        let msg = err.to_string();
        assert!(msg.contains("unknown host"), "message {msg:?}");
        assert!(msg.contains(name), "message {msg:?} should name the host");
    }
    // A name with control characters is shown escaped, never raw.
    let err = Client::connect("a\0b\n", 80).expect_err("no such name");
    assert_eq!(err.to_string(), "unknown host 'a\\0b\\n'");
    // The same for UDP, which never sends anything while connecting.
    let err = ClientBuilder::new()
        .protocol(Protocol::Udp)
        .connect("no-such-host.invalid", 9000)
        .expect_err("unknown host over UDP");
    assert!(matches!(err, Error::UnknownHost { .. }), "{err:?}");
    // A host given with its port says where the port goes.
    for with_port in ["127.0.0.1:80", "[::1]:80"] {
        let err = Client::connect(with_port, 80).expect_err("not a host name");
        assert_eq!(
            err.to_string(),
            format!("unknown host '{with_port}' (the port goes in its own argument)")
        );
        let err = renoise_socket::Server::bind(Some(with_port), 0, Protocol::Tcp)
            .expect_err("not a host name");
        assert!(
            err.to_string()
                .ends_with("(the port goes in its own argument)"),
            "{err}"
        );
    }
}

#[test]
fn other_os_errors_name_the_address() {
    // The broadcast address for a UDP socket without SO_BROADCAST: Linux
    // refuses it at once ("Permission denied"), which the message explains.
    // (A link-local IPv6 address without a zone, "Invalid argument", needs
    // IPv6 on the machine.)
    let err = ClientBuilder::new()
        .protocol(Protocol::Udp)
        .connect_timeout(ms(500))
        .connect("255.255.255.255", 80)
        .expect_err("the kernel refuses this address");
    let msg = err.to_string();
    assert!(
        msg.starts_with("cannot connect to 255.255.255.255:80 ")
            && msg.ends_with(": Permission denied (os error 13)"),
        "{msg:?}"
    );
}

#[test]
fn a_broadcast_address_refused_names_the_option_ipv4_mapped_too() {
    for host in [
        "255.255.255.255",
        "127.255.255.255",
        "::ffff:127.255.255.255",
    ] {
        let err = ClientBuilder::new()
            .protocol(Protocol::Udp)
            .connect(host, 80)
            .expect_err("the kernel refuses a broadcast address without SO_BROADCAST");
        let msg = err.to_string();
        assert!(
            msg.contains(" (a broadcast address needs the broadcast option): Permission denied"),
            "{host}: {msg:?}"
        );
    }
}

/// A listener with a backlog of 0 whose accept queue is filled with
/// connections nobody accepts: Linux then drops further SYNs, so a new
/// connect gets no answer at all, all on loopback. Returns the listener,
/// the fillers (kept alive) and the address.
fn full_backlog(host: &str) -> (Socket, Vec<TcpStream>, SocketAddr) {
    let addr = any_port(host);
    let l = Socket::new(Domain::for_address(addr), Type::STREAM, None).unwrap();
    l.bind(&addr.into()).unwrap();
    l.listen(0).unwrap();
    let addr = l.local_addr().unwrap().as_socket().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..64 {
        match TcpStream::connect_timeout(&addr, ms(200)) {
            Ok(s) => fillers.push(s),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                return (l, fillers, addr);
            }
            Err(e) => panic!("filling the backlog of {addr}: {e}"),
        }
    }
    panic!(
        "{addr}: the kernel completed 64 handshakes on a listener with backlog 0 \
         that never accepts; this test needs SYNs to be dropped on a full queue"
    );
}

#[test]
fn connect_timeout_on_full_backlog() {
    for host in LOOPBACKS {
        let (_listener, fillers, addr) = full_backlog(host);
        assert!(!fillers.is_empty());
        let timeout = ms(300);
        let start = Instant::now();
        let err = ClientBuilder::new()
            .connect_timeout(timeout)
            .connect(host, addr.port())
            .expect_err("the accept queue is full");
        let took = start.elapsed();
        match &err {
            Error::ConnectTimeout {
                addr: a,
                timeout_ms,
            } => {
                assert_eq!(*a, addr);
                assert_eq!(*timeout_ms, 300);
            }
            other => panic!("{host}: expected ConnectTimeout, got {other:?}"),
        }
        let msg = err.to_string();
        assert!(msg.contains("timeout"), "message {msg:?}");
        assert!(took >= ms(280), "{host}: gave up early, after {took:?}");
        assert!(
            took < ms(3000),
            "{host}: took {took:?} for a 300 ms timeout"
        );
    }
}

#[test]
fn default_connect_timeout_is_one_second() {
    let (_listener, _fillers, addr) = full_backlog("127.0.0.1");
    let start = Instant::now();
    let err = Client::connect("127.0.0.1", addr.port()).expect_err("full queue");
    let took = start.elapsed();
    assert!(
        matches!(
            err,
            Error::ConnectTimeout {
                timeout_ms: 1000,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(took >= ms(950), "gave up after {took:?}");
    assert!(took < Duration::from_secs(4), "took {took:?}");
}

#[test]
fn a_link_local_address_without_its_zone_is_told_so() {
    // The system says only EINVAL; a server and a client say why.
    for proto in [Protocol::Tcp, Protocol::Udp] {
        let err = ClientBuilder::new()
            .protocol(proto)
            .connect("fe80::1", 9)
            .expect_err("no zone")
            .to_string();
        assert!(
            err.starts_with("cannot connect to [fe80::1]:9 (a link-local address needs its zone"),
            "{proto}: {err}"
        );
        let err = Server::bind(Some("fe80::1"), 0, proto)
            .expect_err("no zone")
            .to_string();
        assert!(
            err.starts_with("cannot bind [fe80::1]:0 (a link-local address needs its zone"),
            "{proto}: {err}"
        );
    }
}

#[test]
fn port_zero_is_an_argument_error() {
    for proto in [Protocol::Tcp, Protocol::Udp] {
        let err = ClientBuilder::new()
            .protocol(proto)
            .connect("127.0.0.1", 0)
            .expect_err("port 0");
        assert!(matches!(err, Error::InvalidArgument(_)), "{proto}: {err:?}");
        assert!(err.to_string().contains("port"), "{err}");
    }
}

#[test]
fn empty_host_is_an_argument_error() {
    for host in ["", "[]"] {
        for proto in [Protocol::Tcp, Protocol::Udp] {
            let err = ClientBuilder::new()
                .protocol(proto)
                .connect(host, 80)
                .expect_err("empty host");
            assert!(
                matches!(err, Error::InvalidArgument(_)),
                "{host:?} {proto}: {err:?}"
            );
        }
    }
}

#[test]
fn brackets_around_anything_but_ipv6_are_an_unknown_host() {
    // Taking "[127.0.0.1]" for 127.0.0.1 would accept a mistake: the
    // system resolver, URLs and `SocketAddr` all refuse it.
    let (listener, port) = listen("127.0.0.1");
    for host in ["[127.0.0.1]", "[localhost]"] {
        for proto in [Protocol::Tcp, Protocol::Udp] {
            let err = ClientBuilder::new()
                .protocol(proto)
                .connect(host, port)
                .expect_err("bracketed non-IPv6");
            assert!(
                matches!(&err, Error::UnknownHost { host: h } if h == host),
                "{host:?} {proto}: {err:?}"
            );
            assert_eq!(
                err.to_string(),
                format!("unknown host '{host}' (brackets enclose only an IPv6 address)")
            );
        }
        let err = Server::bind(Some(host), 0, Protocol::Tcp).expect_err("bracketed non-IPv6");
        assert!(
            matches!(err, Error::UnknownHost { .. }),
            "{host:?}: {err:?}"
        );
    }
    drop(listener);
    // An IPv6 address in brackets that does not resolve (a zone on an
    // address that takes none) gets no hint about brackets.
    let err = Client::connect("[::1%no-such-interface]", port).expect_err("bad zone");
    assert_eq!(err.to_string(), "unknown host '[::1%no-such-interface]'");
}

#[test]
fn ipv6_literal_with_and_without_brackets() {
    for spelling in ["::1", "[::1]"] {
        let (listener, port) = listen("::1");
        let peer = serve_one(listener, |s| s.peer_addr().unwrap());
        let c = Client::connect(spelling, port).unwrap();
        let seen_by_peer = join(peer);
        assert!(c.is_open());
        assert_eq!(c.peer_address(), "::1", "{spelling}");
        assert_eq!(c.peer_port(), port);
        assert_eq!(c.local_address(), "::1");
        assert_eq!(seen_by_peer, c.local_addr());
    }
}

#[test]
fn ipv6_literal_over_udp() {
    for spelling in ["::1", "[::1]"] {
        let peer = udp_peer("::1");
        let port = peer.local_addr().unwrap().port();
        let mut c = ClientBuilder::new()
            .protocol(Protocol::Udp)
            .connect(spelling, port)
            .unwrap();
        assert_eq!(c.peer_address(), "::1");
        c.send(b"ping").unwrap();
        let mut buf = [0u8; 16];
        let (n, from) = peer.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"ping");
        assert_eq!(from, c.local_addr());
    }
}

#[test]
fn localhost_by_name() {
    // Whatever "localhost" resolves to here, a listener on each loopback
    // address it resolves to must be reached; the client tries every
    // resolved address within the one timeout, so a refusal on one (say ::1
    // first) falls through to the next.
    let (listener, port) = listen("127.0.0.1");
    let peer = serve_one(listener, |s| s.peer_addr().unwrap());
    let c = Client::connect("localhost", port).unwrap();
    let seen = join(peer);
    assert_eq!(c.peer_address(), "127.0.0.1", "addresses are numeric");
    assert_eq!(c.peer_port(), port);
    assert_eq!(seen, c.local_addr());
}

#[test]
fn literal_ipv4_never_goes_through_the_resolver() {
    // A numeric address with nothing listening is refused, not "unknown".
    let port = closed_tcp_port("127.0.0.1");
    let err = Client::connect("127.0.0.1", port).unwrap_err();
    assert!(matches!(err, Error::Refused { .. }), "{err:?}");
}

/// Connecting again and again to a free port of the local ephemeral range
/// can meet itself: the kernel picks that very port as the local one, and
/// TCP's simultaneous open connects the socket to itself. Nothing listens
/// there: every attempt is refused.
#[test]
fn a_connection_to_itself_is_refused() {
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .unwrap_or_else(|_| "32768 60999".into());
    let mut bounds = range
        .split_whitespace()
        .filter_map(|v| v.parse::<u32>().ok());
    let (low, high) = (
        bounds.next().unwrap_or(32768),
        bounds.next().unwrap_or(60999),
    );
    // An even port (Linux gives connect() even local ports), free now.
    let port = (0..1000)
        .map(|i| ((low + (std::process::id() * 7 + i * 2) % (high - low)) & !1) as u16)
        .find(|&p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok())
        .expect("a free even port");
    let start = std::time::Instant::now();
    let mut tries = 0u32;
    while start.elapsed() < Duration::from_secs(3) {
        tries += 1;
        match Client::connect("127.0.0.1", port) {
            Err(Error::Refused { .. }) => {}
            Err(e) => panic!("try {tries}: {e}"),
            Ok(c) => panic!(
                "try {tries}: connected {} -> {}",
                c.local_addr(),
                c.peer_addr()
            ),
        }
    }
}
