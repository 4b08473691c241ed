//! Binding: addresses, port 0, rebinding at once after close, errors,
//! properties.

mod server_util;

use renoise_socket::{Client, Error, Event, Peer, Protocol, Server};
use server_util::*;
use std::io::Write;
use std::time::Duration;

#[test]
fn port_zero_gives_a_real_port() {
    for protocol in [Protocol::Tcp, Protocol::Udp] {
        let mut server = Server::bind(Some("127.0.0.1"), 0, protocol).unwrap();
        let port = server.local_port();
        assert_ne!(port, 0);
        assert_eq!(server.local_addr().port(), port);
        assert_eq!(server.protocol(), protocol);
        let mut c = Client::builder()
            .protocol(protocol)
            .connect("127.0.0.1", port)
            .unwrap();
        c.send(b"hi").unwrap();
        let events = poll_until(&mut server, |ev| messages(ev).len() == 1);
        assert_eq!(messages(&events)[0].1, b"hi");
    }
}

#[test]
fn localhost_binds_loopback() {
    for protocol in [Protocol::Tcp, Protocol::Udp] {
        let mut server = Server::bind(Some("localhost"), 0, protocol).unwrap();
        assert!(!server.local_addrs().is_empty());
        assert!(
            server.local_addrs().iter().all(|a| a.ip().is_loopback()),
            "{:?}",
            server.local_addrs()
        );
        // IPv4 first, as Renoise reports it.
        if server.local_addrs().iter().any(|a| a.is_ipv4()) {
            assert_eq!(server.local_address(), "127.0.0.1");
        }
        let mut c = Client::builder()
            .protocol(protocol)
            .connect("localhost", server.local_port())
            .unwrap();
        c.send(b"local").unwrap();
        let events = poll_until(&mut server, |ev| messages(ev).len() == 1);
        assert!(messages(&events)[0].0.peer_addr().ip().is_loopback());
    }
}

#[test]
fn no_address_listens_on_every_interface_and_reports_ipv4_peers_as_ipv4() {
    let mut server = Server::bind(None, 0, Protocol::Tcp).unwrap();
    assert!(server.local_addr().ip().is_unspecified());
    let port = server.local_port();
    // Renoise's servers are IPv4: tools build "address:port" URLs from it.
    assert_eq!(server.local_address(), "0.0.0.0");
    assert_eq!(
        server.to_string(),
        format!("SocketServer(TCP 0.0.0.0:{port}, open)")
    );
    let mut v4 = Client::connect("127.0.0.1", port).unwrap();
    v4.send(b"4").unwrap();
    let events = poll_until(&mut server, |ev| messages(ev).len() == 1);
    let (from, _) = messages(&events).remove(0);
    assert_eq!(from.peer_address(), "127.0.0.1");
    let conn = from.connection().unwrap().clone();
    assert_eq!(conn.local_address(), "127.0.0.1");
    assert_eq!(conn.lock().peer_address(), "127.0.0.1");
    if has_ipv6() {
        let mut v6 = Client::connect("::1", port).unwrap();
        v6.send(b"6").unwrap();
        let events = poll_until(&mut server, |ev| messages(ev).len() == 1);
        assert_eq!(messages(&events)[0].0.peer_address(), "::1");
    }
    let mut udp = Server::bind(None, 0, Protocol::Udp).unwrap();
    assert_eq!(udp.local_address(), "0.0.0.0");
    let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    s.send_to(b"u", ("127.0.0.1", udp.local_port())).unwrap();
    let events = poll_until(&mut udp, |ev| messages(ev).len() == 1);
    let (from, _) = messages(&events).remove(0);
    assert_eq!(from.peer_address(), "127.0.0.1");
    // The sender-only socket says what its server says.
    let Peer::Udp(sender) = &from else {
        panic!("{from:?}")
    };
    assert_eq!(sender.local_address(), "0.0.0.0");
    assert_eq!(sender.local_port(), udp.local_port());
    // The reply reaches the IPv4 sender.
    from.send(b"r").unwrap();
    s.set_read_timeout(Some(BOUND)).unwrap();
    let mut buf = [0u8; 4];
    assert_eq!(s.recv(&mut buf).unwrap(), 1);
}

#[test]
fn close_then_rebind_the_same_port_at_once() {
    let mut server = Server::bind(Some("127.0.0.1"), 0, Protocol::Tcp).unwrap();
    let port = server.local_port();
    for round in 0..3 {
        // A connection that the server closes first leaves its side in
        // TIME_WAIT: SO_REUSEADDR makes the port free anyway.
        let mut peer = stream(&server);
        peer.write_all(b"x").unwrap();
        poll_until(&mut server, |ev| messages(ev).len() == 1);
        server.close();
        assert!(!server.is_open());
        assert_eq!(read_n(&mut peer, 1), b"", "round {round}");
        server = Server::bind(Some("127.0.0.1"), port, Protocol::Tcp)
            .unwrap_or_else(|e| panic!("rebind in round {round}: {e}"));
        assert_eq!(server.local_port(), port);
    }
    let mut c = Client::connect("127.0.0.1", port).unwrap();
    c.send(b"still works").unwrap();
    let events = poll_until(&mut server, |ev| messages(ev).len() == 1);
    assert_eq!(messages(&events)[0].1, b"still works");

    let mut udp = Server::bind(Some("127.0.0.1"), 0, Protocol::Udp).unwrap();
    let port = udp.local_port();
    udp.close();
    let again = Server::bind(Some("127.0.0.1"), port, Protocol::Udp).unwrap();
    assert_eq!(again.local_port(), port);
    drop(again);
    // Dropping closes too.
    Server::bind(Some("127.0.0.1"), port, Protocol::Udp).unwrap();
}

#[test]
fn a_port_in_use_is_an_error() {
    for protocol in [Protocol::Tcp, Protocol::Udp] {
        let server = Server::bind(Some("127.0.0.1"), 0, protocol).unwrap();
        let err = Server::bind(Some("127.0.0.1"), server.local_port(), protocol).unwrap_err();
        match &err {
            Error::Io(e) => assert_eq!(e.kind(), std::io::ErrorKind::AddrInUse, "{err}"),
            other => panic!("unexpected {other}"),
        }
        assert!(
            err.to_string()
                .contains(&format!("127.0.0.1:{}", server.local_port())),
            "{err}"
        );
        // An error-chain printer (anyhow's `{:#}`) says it once: the
        // message is not repeated by a source.
        let mut chain = vec![err.to_string()];
        let mut source = std::error::Error::source(&err);
        while let Some(s) = source {
            chain.push(s.to_string());
            source = s.source();
        }
        assert_eq!(chain.len(), 1, "{chain:?}");
        // The OS's error number is still there for a program to match.
        assert_eq!(err.raw_os_error(), Some(libc::EADDRINUSE), "{err}");
        assert_eq!(Error::Timeout.raw_os_error(), None);
        // Also when all interfaces are asked for.
        assert!(Server::bind(None, server.local_port(), protocol).is_err());
    }
}

#[test]
fn a_port_taken_on_every_interface_is_named_as_local_address_names_it() {
    // `[::]` is what is bound (dual stack); `0.0.0.0` is what the server
    // says it is bound to, and so what its bind error says.
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let err = Server::bind(None, port, Protocol::Tcp)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!("cannot bind 0.0.0.0:{port}: ")),
        "{err}"
    );
    let every = Server::bind(None, 0, Protocol::Tcp).unwrap();
    assert_eq!(every.local_address(), "0.0.0.0");
}

#[test]
fn bad_addresses_are_errors() {
    assert!(matches!(
        Server::bind(Some(""), 0, Protocol::Tcp),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        Server::bind(Some("[]"), 0, Protocol::Udp),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        Server::bind(Some("no-such-host.invalid"), 0, Protocol::Tcp),
        Err(Error::UnknownHost { .. })
    ));
    // An address that is not on this host (TEST-NET-1).
    let err = Server::bind(Some("192.0.2.1"), 0, Protocol::Tcp).unwrap_err();
    assert!(err.to_string().contains("192.0.2.1"), "{err}");
}

#[test]
fn close_is_idempotent_and_a_closed_server_keeps_its_properties() {
    let mut server = Server::bind(Some("127.0.0.1"), 0, Protocol::Tcp).unwrap();
    let port = server.local_port();
    assert_eq!(
        server.to_string(),
        format!("SocketServer(TCP 127.0.0.1:{port}, open)")
    );
    server.close();
    server.close();
    assert!(!server.is_open());
    assert_eq!(server.local_port(), port);
    assert_eq!(server.local_address(), "127.0.0.1");
    assert_eq!(
        server.to_string(),
        format!("SocketServer(TCP 127.0.0.1:{port}, closed)")
    );
    assert!(matches!(server.poll(Duration::ZERO), Err(Error::Closed)));
    assert!(matches!(
        server.wait(Duration::from_millis(10)),
        Err(Error::Closed)
    ));
    assert!(server.connections().is_empty());
    // Nobody listens any more.
    assert!(Client::connect("127.0.0.1", port).is_err());
}

#[test]
fn options_reach_accepted_connections() {
    let mut server = Server::builder()
        .max_line_length(8)
        .all_chunk_size(3)
        .backlog(16)
        .bind(Some("127.0.0.1"), 0)
        .unwrap();
    let mut peer = stream(&server);
    peer.write_all(b"abcdefgh").unwrap();
    let events = poll_until(&mut server, |ev| {
        messages(ev).iter().map(|(_, d)| d.len()).sum::<usize>() == 8
    });
    // All-chunk size 3: no message is longer.
    assert!(messages(&events).iter().all(|(_, d)| d.len() <= 3));
    let conn = accepted(&events).remove(0);
    peer.write_all(b"0123456789\n").unwrap();
    let err = conn
        .lock()
        .receive_line(BOUND)
        .map(<[u8]>::to_vec)
        .unwrap_err();
    assert!(matches!(err, Error::LineTooLong), "{err}");
    assert!(events.iter().all(|e| !matches!(e, Event::Error(_))));
}

#[test]
fn an_unspecified_address_given_by_name_is_reported_as_given() {
    for (address, reported) in [("0.0.0.0", "0.0.0.0"), ("::", "::")] {
        if reported == "::" && !has_ipv6() {
            continue;
        }
        let server = Server::bind(Some(address), 0, Protocol::Tcp).unwrap();
        assert_eq!(server.local_address(), reported);
        assert_eq!(server.local_addr().ip().to_string(), reported);
    }
}

#[test]
fn a_socket_address_binds_as_its_ip_literal_does() {
    for (ip, shown) in [("127.0.0.1", "127.0.0.1"), ("::1", "::1"), ("::", "::")] {
        let addr = std::net::SocketAddr::new(ip.parse().unwrap(), 0);
        let mut server = renoise_socket::ServerBuilder::new()
            .bind_addr(addr)
            .unwrap();
        assert_eq!(server.local_address(), shown);
        assert_eq!(server.local_addr().ip(), addr.ip());
        let port = server.local_port();
        assert_ne!(port, 0);
        let host = if ip == "::" { "::1" } else { ip };
        let mut c = Client::connect(host, port).unwrap();
        c.send(b"hi").unwrap();
        let me = c.local_addr();
        let events = poll_until(&mut server, |ev| {
            data_by_peer(ev).get(&me).is_some_and(|d| d.len() >= 2)
        });
        assert_eq!(data_by_peer(&events)[&me], b"hi", "{ip}");
        server.close();
    }
}
