//! UDP servers: one message per datagram, sender-only sockets, replies from
//! the server's port.

mod common;
mod server_util;

use renoise_socket::{Client, Error, Event, Peer, Protocol, Server, UdpPeer};
use server_util::*;
use std::net::UdpSocket;
use std::time::Duration;

fn udp(addr: &str) -> UdpSocket {
    let s = UdpSocket::bind(addr).unwrap();
    s.set_read_timeout(Some(BOUND)).unwrap();
    s
}

#[test]
fn several_senders_each_datagram_is_one_message() {
    let mut server = Server::bind(Some("127.0.0.1"), 0, Protocol::Udp).unwrap();
    let port = server.local_port();
    let socks: Vec<UdpSocket> = (0..4).map(|_| udp("127.0.0.1:0")).collect();
    let mut clients: Vec<Client> = (0..2)
        .map(|_| {
            Client::builder()
                .protocol(Protocol::Udp)
                .connect("127.0.0.1", port)
                .unwrap()
        })
        .collect();
    for round in 0..3 {
        for (i, s) in socks.iter().enumerate() {
            s.send_to(format!("sock {i} #{round}").as_bytes(), server.local_addr())
                .unwrap();
        }
        for (i, c) in clients.iter_mut().enumerate() {
            c.send(format!("client {i} #{round}").as_bytes()).unwrap();
        }
    }
    let events = poll_until(&mut server, |ev| messages(ev).len() == 18);
    assert_eq!(count_accepted(&events), 0);
    let msgs = messages(&events);
    for (i, s) in socks.iter().enumerate() {
        let mine: Vec<String> = msgs
            .iter()
            .filter(|(p, _)| p.peer_addr() == s.local_addr().unwrap())
            .map(|(_, d)| String::from_utf8(d.clone()).unwrap())
            .collect();
        assert_eq!(
            mine,
            (0..3).map(|r| format!("sock {i} #{r}")).collect::<Vec<_>>()
        );
    }
    for (i, c) in clients.iter().enumerate() {
        let mine: Vec<String> = msgs
            .iter()
            .filter(|(p, _)| p.peer_port() == c.local_port())
            .map(|(_, d)| String::from_utf8(d.clone()).unwrap())
            .collect();
        assert_eq!(
            mine,
            (0..3)
                .map(|r| format!("client {i} #{r}"))
                .collect::<Vec<_>>()
        );
    }
    for (p, _) in &msgs {
        let Peer::Udp(u) = p else {
            panic!("not a UDP sender: {p}")
        };
        assert!(!u.is_open());
        assert!(!p.is_open());
        assert_eq!(u.peer_address(), "127.0.0.1");
        assert_eq!(u.local_port(), port);
        assert_eq!(u.local_address(), "127.0.0.1");
        assert!(p.connection().is_none());
    }
}

#[test]
fn a_reply_comes_from_the_server_port() {
    let mut server = Server::bind(Some("127.0.0.1"), 0, Protocol::Udp).unwrap();
    // A connected UDP client only accepts datagrams from the address it
    // connected to: the reply must come from the server's port.
    let mut client = Client::builder()
        .protocol(Protocol::Udp)
        .connect("127.0.0.1", server.local_port())
        .unwrap();
    let plain = udp("127.0.0.1:0");
    client.send(b"/ping").unwrap();
    plain.send_to(b"/ping", server.local_addr()).unwrap();
    let events = poll_until(&mut server, |ev| messages(ev).len() == 2);
    for (from, data) in messages(&events) {
        assert_eq!(data, b"/ping");
        from.send(b"/pong").unwrap();
    }
    assert_eq!(client.receive_all(BOUND).unwrap(), b"/pong");
    let mut buf = [0u8; 64];
    let (n, from) = plain.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"/pong");
    assert_eq!(from, server.local_addr());
}

#[test]
fn ipv6_loopback_datagrams() {
    if !has_ipv6() {
        eprintln!("no IPv6 loopback here; skipped");
        return;
    }
    let mut server = Server::bind(Some("[::1]"), 0, Protocol::Udp).unwrap();
    assert_eq!(server.local_address(), "::1");
    let s = udp("[::1]:0");
    s.send_to(b"v6", server.local_addr()).unwrap();
    let events = poll_until(&mut server, |ev| messages(ev).len() == 1);
    let (from, data) = messages(&events).remove(0);
    assert_eq!(data, b"v6");
    assert_eq!(from.peer_address(), "::1");
    from.send(b"back").unwrap();
    let mut buf = [0u8; 16];
    let (n, addr) = s.recv_from(&mut buf).unwrap();
    assert_eq!((&buf[..n], addr), (&b"back"[..], server.local_addr()));
}

#[test]
fn a_sender_outliving_the_server_cannot_send_and_does_not_hold_the_port() {
    let mut server = Server::bind(Some("127.0.0.1"), 0, Protocol::Udp).unwrap();
    let port = server.local_port();
    let s = udp("127.0.0.1:0");
    s.send_to(b"x", server.local_addr()).unwrap();
    let events = poll_until(&mut server, |ev| messages(ev).len() == 1);
    let (from, _) = messages(&events).remove(0);
    let shown = format!(
        "SocketClient(UDP 127.0.0.1:{port} <- {}, sender",
        s.local_addr().unwrap()
    );
    assert_eq!(from.to_string(), format!("{shown})"));
    server.close();
    assert!(matches!(from.send(b"late"), Err(Error::Closed)));
    assert_eq!(from.to_string(), format!("{shown}, closed)"));
    let mut again = Server::bind(Some("127.0.0.1"), port, Protocol::Udp).unwrap();
    s.send_to(b"again", again.local_addr()).unwrap();
    let events = poll_until(&mut again, |ev| messages(ev).len() == 1);
    assert_eq!(messages(&events)[0].1, b"again");
}

#[test]
fn close_frees_the_port_at_once_while_another_thread_replies() {
    // A reply in progress on another thread must not hold the socket
    // past `close`: the port is bound again right after.
    let s = udp("127.0.0.1:0");
    for round in 0..30 {
        let mut server = Server::bind(Some("127.0.0.1"), 0, Protocol::Udp).unwrap();
        let port = server.local_port();
        s.send_to(b"x", server.local_addr()).unwrap();
        let events = poll_until(&mut server, |ev| messages(ev).len() == 1);
        let (from, _) = messages(&events).remove(0);
        let Peer::Udp(from) = from else {
            panic!("{from:?}")
        };
        let replier = std::thread::spawn(move || {
            let deadline = std::time::Instant::now() + BOUND;
            while from.send(b"reply").is_ok() {
                assert!(std::time::Instant::now() < deadline, "close never came");
            }
        });
        std::thread::sleep(Duration::from_millis(5));
        server.close();
        let again = Server::bind(Some("127.0.0.1"), port, Protocol::Udp);
        assert!(again.is_ok(), "round {round}: {:?}", again.err());
        replier.join().unwrap();
    }
}

#[test]
fn every_datagram_is_one_message_empty_ones_too_and_large_ones_whole() {
    let mut server = Server::bind(Some("127.0.0.1"), 0, Protocol::Udp).unwrap();
    let s = udp("127.0.0.1:0");
    let big: Vec<u8> = (0..60_000u32).map(|i| (i % 253) as u8).collect();
    s.send_to(b"", server.local_addr()).unwrap();
    s.send_to(&big, server.local_addr()).unwrap();
    s.send_to(b"after", server.local_addr()).unwrap();
    let events = poll_until(&mut server, |ev| messages(ev).len() == 3);
    let msgs = messages(&events);
    assert!(msgs[0].1.is_empty());
    assert!(msgs[1].1 == big);
    assert_eq!(msgs[2].1, b"after");
    assert!(server.poll(Duration::from_millis(30)).unwrap().is_empty());
}

#[test]
fn a_reply_too_large_for_an_ipv4_peer_of_a_dual_stack_server_names_ipv4s_limit() {
    let mut server = Server::bind(None, 0, Protocol::Udp).unwrap();
    let s = udp("127.0.0.1:0");
    s.send_to(b"x", ("127.0.0.1", server.local_addr().port()))
        .unwrap();
    let events = poll_until(&mut server, |ev| messages(ev).len() == 1);
    let (from, _) = messages(&events).remove(0);
    match from.send(&vec![0u8; 65_510]) {
        Err(Error::MessageTooLarge { len, max }) => {
            assert_eq!((len, max), (65_510, 65_507));
        }
        other => panic!("expected MessageTooLarge, got {other:?}"),
    }
}

#[test]
fn a_reply_too_large_for_a_datagram_is_an_error() {
    let mut server = Server::bind(Some("127.0.0.1"), 0, Protocol::Udp).unwrap();
    let s = udp("127.0.0.1:0");
    s.send_to(b"x", server.local_addr()).unwrap();
    let events = poll_until(&mut server, |ev| messages(ev).len() == 1);
    let (from, _) = messages(&events).remove(0);
    let err = from.send(&vec![0u8; 70_000]).unwrap_err();
    assert!(matches!(err, Error::MessageTooLarge { .. }), "{err}");
    // The server is unaffected.
    from.send(b"fine").unwrap();
    s.send_to(b"y", server.local_addr()).unwrap();
    poll_until(&mut server, |ev| messages(ev).len() == 1);
}

#[test]
fn a_localhost_server_is_reached_by_a_localhost_client() {
    let mut server = Server::bind(Some("localhost"), 0, Protocol::Udp).unwrap();
    assert!(server.local_addrs().iter().all(|a| a.ip().is_loopback()));
    let mut c = Client::builder()
        .protocol(Protocol::Udp)
        .connect("localhost", server.local_port())
        .unwrap();
    c.send(b"hello").unwrap();
    let events = poll_until(&mut server, |ev| messages(ev).len() == 1);
    let (from, data) = messages(&events).remove(0);
    assert_eq!(data, b"hello");
    from.send(b"hi").unwrap();
    assert_eq!(c.receive_all(BOUND).unwrap(), b"hi");
}

#[test]
fn wait_returns_every_datagram_of_its_time() {
    let mut server = Server::bind(None, 0, Protocol::Udp).unwrap();
    let port = server.local_port();
    let sender = std::thread::spawn(move || {
        let s = udp("127.0.0.1:0");
        for i in 0..50 {
            s.send_to(format!("{i}").as_bytes(), ("127.0.0.1", port))
                .unwrap();
            std::thread::sleep(Duration::from_millis(2));
        }
    });
    let events = server.wait(Duration::from_millis(600)).unwrap();
    sender.join().unwrap();
    let got: Vec<String> = messages(&events)
        .into_iter()
        .map(|(p, d)| {
            assert_eq!(p.peer_address(), "127.0.0.1");
            String::from_utf8(d).unwrap()
        })
        .collect();
    assert_eq!(got, (0..50).map(|i| i.to_string()).collect::<Vec<_>>());
    assert!(events.iter().all(|e| matches!(e, Event::Message { .. })));
}

/// A burst that arrives while the program is not polling waits in the
/// kernel's queue, which the server makes larger than the default (208 KiB
/// on Linux, 256 datagrams of 64 bytes on loopback): none of it is dropped.
/// Where the system caps queues at the default (`net.core.rmem_max`), only
/// a burst the default holds is sent, and the test shows nothing there.
#[test]
fn a_burst_between_polls_waits_in_the_kernel_queue() {
    let burst = common::udp_burst() as usize;
    let mut server = Server::bind(Some("127.0.0.1"), 0, Protocol::Udp).unwrap();
    let sender = udp("127.0.0.1:0");
    for i in 0..burst {
        let mut payload = [b'.'; 64];
        payload[..4].copy_from_slice(&(i as u32).to_be_bytes());
        sender.send_to(&payload, server.local_addr()).unwrap();
    }
    // Everything is queued by now: poll until a quiet half second.
    let mut events = Vec::new();
    loop {
        let more = server.poll(Duration::from_millis(500)).unwrap();
        if more.is_empty() {
            break;
        }
        events.extend(more);
    }
    let got = messages(&events);
    assert_eq!(got.len(), burst, "datagrams dropped");
    for (i, (_, data)) in got.iter().enumerate() {
        assert_eq!(data[..4], (i as u32).to_be_bytes(), "out of order at {i}");
    }
}

/// A flood of empty datagrams carries no data, yet every event costs
/// memory: `wait` returns once the events it holds reach the limit
/// (`WAIT_DATA_LIMIT`, each event counted 128 bytes beyond its data),
/// instead of collecting for its whole timeout.
#[test]
fn a_flood_of_empty_datagrams_cannot_grow_one_wait_without_bound() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let mut server = Server::bind(Some("127.0.0.1"), 0, Protocol::Udp).unwrap();
    let to = server.local_addr();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let flood = std::thread::spawn(move || {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        let start = std::time::Instant::now();
        while !flag.load(Ordering::Relaxed) && start.elapsed() < Duration::from_secs(40) {
            let _ = s.send_to(&[], to);
        }
    });
    let start = std::time::Instant::now();
    // Generous: a slow machine floods slowly; the limit (about 131,000
    // empty datagrams) comes within a second here.
    let events = server.wait(Duration::from_secs(30)).unwrap();
    let took = start.elapsed();
    stop.store(true, Ordering::Relaxed);
    flood.join().unwrap();
    let most = Server::WAIT_DATA_LIMIT / 128 + 1024;
    assert!(events.len() <= most, "{} events in one wait", events.len());
    assert!(
        took < Duration::from_secs(25),
        "the wait ran {took:?}, {} events",
        events.len()
    );
    assert!(messages(&events).iter().all(|(_, d)| d.is_empty()));
}

/// Senders are equal when they wrote to the same server from the same
/// address: per-sender state can be kept in a map keyed by them.
#[test]
fn senders_are_equal_by_server_and_address() {
    use std::collections::HashMap;
    let mut one = Server::bind(Some("127.0.0.1"), 0, Protocol::Udp).unwrap();
    let mut two = Server::bind(Some("127.0.0.1"), 0, Protocol::Udp).unwrap();
    let (a, b) = (udp("127.0.0.1:0"), udp("127.0.0.1:0"));
    for s in [&a, &b, &a] {
        s.send_to(b"x", one.local_addr()).unwrap();
    }
    a.send_to(b"x", two.local_addr()).unwrap();
    let udp_peer = |p: Peer| match p {
        Peer::Udp(u) => u,
        Peer::Tcp(c) => panic!("a UDP server reported {c}"),
    };
    let from_one: Vec<UdpPeer> = messages(&poll_until(&mut one, |ev| messages(ev).len() == 3))
        .into_iter()
        .map(|(p, _)| udp_peer(p))
        .collect();
    let from_two = udp_peer(
        messages(&poll_until(&mut two, |ev| messages(ev).len() == 1))
            .remove(0)
            .0,
    );
    let mut count: HashMap<UdpPeer, usize> = HashMap::new();
    for p in &from_one {
        *count.entry(p.clone()).or_default() += 1;
    }
    let count_of = |s: &UdpSocket| {
        count
            .iter()
            .find(|(p, _)| p.peer_addr() == s.local_addr().unwrap())
            .map(|(_, n)| *n)
    };
    assert_eq!(count.len(), 2, "{count:?}");
    assert_eq!(count_of(&a), Some(2));
    assert_eq!(count_of(&b), Some(1));
    assert_eq!(from_one[0], from_one[2]);
    assert_ne!(from_one[0], from_one[1]);
    // The same sender address, but another server.
    assert_eq!(from_two.peer_addr(), from_one[0].peer_addr());
    assert_ne!(from_two, from_one[0]);
    assert!(!count.contains_key(&from_two));
}
