//! Hostile and vanishing peers, floods, and bounded waits.

mod server_util;

use renoise_socket::{Client, Connection, Event, Peer, Protocol, Server, UdpPeer};
use server_util::*;
use socket2::{Domain, Socket, Type};
use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// A connection closed with an RST instead of a FIN.
fn reset(s: TcpStream) {
    Socket::from(s).set_linger(Some(Duration::ZERO)).unwrap();
}

#[test]
fn peers_that_connect_and_reset_do_not_break_the_server() {
    let mut server = Server::bind(Some("127.0.0.1"), 0, Protocol::Tcp).unwrap();
    // Reset before the server accepts.
    for _ in 0..20 {
        reset(stream(&server));
    }
    // Reset after sending, before the server reads.
    for i in 0..10 {
        let mut s = stream(&server);
        s.write_all(format!("bye {i}").as_bytes()).unwrap();
        reset(s);
    }
    // Reset after being accepted.
    let late: Vec<TcpStream> = (0..10).map(|_| stream(&server)).collect();
    let events = poll_until(&mut server, |ev| count_accepted(ev) >= 10);
    for s in late {
        reset(s);
    }
    let mut all = events;
    let start = Instant::now();
    loop {
        assert!(start.elapsed() < BOUND, "{all:?}");
        all.extend(server.wait(Duration::from_millis(100)).unwrap());
        if count_closed(&all) == count_accepted(&all) {
            break;
        }
    }
    // Every connection that was accepted is reported closed, once.
    let accepted = accepted(&all);
    for c in &accepted {
        let closed = all
            .iter()
            .filter(|e| matches!(e, Event::Closed(x) if x == c))
            .count();
        assert_eq!(closed, 1, "{c}");
        assert!(!c.is_open());
    }
    assert!(server.connections().is_empty());
    // A reset is an end of stream, not a server error.
    assert!(errors(&all).is_empty(), "{:?}", errors(&all));
    // The server still works.
    let mut c = Client::connect("127.0.0.1", server.local_port()).unwrap();
    c.send(b"alive").unwrap();
    let events = poll_until(&mut server, |ev| messages(ev).len() == 1);
    assert_eq!(messages(&events)[0].1, b"alive");
}

#[test]
fn a_flood_of_connections_is_handled() {
    const N: usize = 200;
    let mut server = Server::bind(Some("127.0.0.1"), 0, Protocol::Tcp).unwrap();
    let port = server.local_port();
    let flood = thread::spawn(move || {
        (0..N)
            .map(|i| {
                let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
                s.write_all(format!("{i}\n").as_bytes()).unwrap();
                s
            })
            .collect::<Vec<_>>()
    });
    let events = poll_until(&mut server, |ev| {
        count_accepted(ev) == N && messages(ev).len() >= N
    });
    let streams = flood.join().unwrap();
    let by = data_by_peer(&events);
    assert_eq!(by.len(), N);
    for (i, s) in streams.iter().enumerate() {
        assert_eq!(
            by.get(&s.local_addr().unwrap()).unwrap(),
            format!("{i}\n").as_bytes()
        );
    }
    assert_eq!(server.connections().len(), N);
    drop(streams);
    let events = poll_until(&mut server, |ev| count_closed(ev) == N);
    assert!(errors(&events).is_empty());
    assert!(server.connections().is_empty());
}

#[test]
fn wait_lasts_its_timeout_idle_or_busy() {
    let mut server = Server::bind(Some("127.0.0.1"), 0, Protocol::Tcp).unwrap();
    let t = Instant::now();
    let events = server.wait(Duration::from_millis(200)).unwrap();
    let took = t.elapsed();
    assert!(events.is_empty());
    assert!(took >= Duration::from_millis(200), "{took:?}");
    assert!(took < Duration::from_millis(600), "{took:?}");

    // A peer writing as fast as it can does not make wait overrun much.
    let stop = Arc::new(AtomicBool::new(false));
    let mut peer = stream(&server);
    let stop2 = stop.clone();
    let writer = thread::spawn(move || {
        let chunk = vec![b'x'; 64 << 10];
        while !stop2.load(Ordering::Relaxed) {
            if peer.write_all(&chunk).is_err() {
                break;
            }
        }
    });
    for _ in 0..3 {
        let t = Instant::now();
        let events = server.wait(Duration::from_millis(150)).unwrap();
        let took = t.elapsed();
        assert!(took < Duration::from_millis(1500), "{took:?}");
        let bytes: usize = messages(&events).iter().map(|(_, d)| d.len()).sum();
        assert!(bytes <= Server::WAIT_DATA_LIMIT + (8 << 20), "{bytes}");
    }
    stop.store(true, Ordering::Relaxed);
    server.close();
    writer.join().unwrap();
}

#[test]
fn a_zero_timeout_returns_at_once() {
    let mut server = Server::bind(Some("127.0.0.1"), 0, Protocol::Tcp).unwrap();
    for _ in 0..10 {
        let t = Instant::now();
        assert!(server.poll(Duration::ZERO).unwrap().is_empty());
        assert!(server.wait(Duration::ZERO).unwrap().is_empty());
        // Far from any wait, with room for a loaded machine's scheduling.
        assert!(
            t.elapsed() < Duration::from_millis(500),
            "{:?}",
            t.elapsed()
        );
    }
    // Pending data is taken by a zero-timeout call.
    let mut peer = stream(&server);
    peer.write_all(b"now").unwrap();
    thread::sleep(Duration::from_millis(50));
    let t = Instant::now();
    let mut events = server.poll(Duration::ZERO).unwrap();
    events.extend(server.poll(Duration::ZERO).unwrap());
    assert!(t.elapsed() < Duration::from_millis(500));
    assert_eq!(count_accepted(&events), 1);
    assert_eq!(messages(&events)[0].1, b"now");
}

#[test]
fn poll_returns_as_soon_as_something_happens() {
    let mut server = Server::bind(Some("127.0.0.1"), 0, Protocol::Tcp).unwrap();
    let port = server.local_port();
    let peer = thread::spawn(move || {
        thread::sleep(Duration::from_millis(100));
        TcpStream::connect(("127.0.0.1", port)).unwrap()
    });
    let t = Instant::now();
    let events = server.poll(Duration::from_secs(5)).unwrap();
    assert_eq!(count_accepted(&events), 1);
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    peer.join().unwrap();
}

#[test]
fn a_fast_peer_does_not_starve_the_others() {
    let mut server = Server::bind(Some("127.0.0.1"), 0, Protocol::Tcp).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let mut fast = stream(&server);
    let stop2 = stop.clone();
    let writer = thread::spawn(move || {
        let chunk = vec![b'f'; 64 << 10];
        while !stop2.load(Ordering::Relaxed) {
            if fast.write_all(&chunk).is_err() {
                break;
            }
        }
    });
    // Let the flood start.
    poll_until(&mut server, |ev| messages(ev).len() > 10);
    let mut slow = Client::connect("127.0.0.1", server.local_port()).unwrap();
    let slow_addr = slow.local_addr();
    slow.send(b"me too").unwrap();
    let sent = Instant::now();
    let mut got = false;
    while !got {
        assert!(
            sent.elapsed() < Duration::from_secs(3),
            "the slow peer was starved"
        );
        let t = Instant::now();
        for e in server.poll(Duration::from_millis(100)).unwrap() {
            if let Event::Message { from, data } = e {
                if from.peer_addr() == slow_addr {
                    assert_eq!(data, b"me too");
                    got = true;
                }
            }
        }
        // One poll is one bounded round.
        assert!(
            t.elapsed() < Duration::from_millis(500),
            "{:?}",
            t.elapsed()
        );
    }
    stop.store(true, Ordering::Relaxed);
    server.close();
    writer.join().unwrap();
}

#[test]
fn a_silent_or_non_reading_peer_does_not_block_the_others() {
    let mut server = Server::builder()
        .send_timeout(Some(Duration::from_millis(100)))
        .bind(Some("127.0.0.1"), 0)
        .unwrap();
    // Connects, never sends, never reads: half-open from our point of view.
    let silent = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    silent.set_recv_buffer_size(4096).unwrap();
    silent.connect(&server.local_addr().into()).unwrap();
    let events = poll_until(&mut server, |ev| count_accepted(ev) == 1);
    let conn = accepted(&events).remove(0);
    // Sending to it eventually fails with the send timeout, not a hang.
    let big = vec![0u8; 1 << 20];
    let t = Instant::now();
    let mut failed = false;
    for _ in 0..64 {
        if conn.send(&big).is_err() {
            failed = true;
            break;
        }
    }
    assert!(failed);
    assert!(t.elapsed() < Duration::from_secs(5));
    // Others are still served.
    let mut c = Client::connect("127.0.0.1", server.local_port()).unwrap();
    c.send(b"ok").unwrap();
    let events = poll_until(&mut server, |ev| {
        messages(ev).iter().any(|(_, d)| d == b"ok")
    });
    assert!(errors(&events).is_empty(), "{:?}", errors(&events));
    drop(silent);
}

#[test]
fn holding_a_connection_across_wait_does_not_deadlock() {
    let (mut server, mut peer, conn) = server_with_peer();
    peer.write_all(b"held").unwrap();
    thread::sleep(Duration::from_millis(30));
    {
        let _guard = conn.lock();
        assert!(conn.to_string().contains("in use"));
        let t = Instant::now();
        let events = server.wait(Duration::from_millis(50)).unwrap();
        assert!(messages(&events).is_empty());
        assert!(t.elapsed() < Duration::from_secs(1));
    }
    // Released: the data comes at the next call.
    let events = poll_until(&mut server, |ev| messages(ev).len() == 1);
    assert_eq!(messages(&events)[0].1, b"held");
}

#[test]
fn another_thread_reading_a_connection_shares_it_with_the_server() {
    let mut server = Server::bind(Some("127.0.0.1"), 0, Protocol::Tcp).unwrap();
    let mut peer = stream(&server);
    let events = poll_until(&mut server, |ev| count_accepted(ev) == 1);
    let conn: Connection = accepted(&events).remove(0);
    let reader = {
        let conn = conn.clone();
        thread::spawn(move || conn.receive_vec(renoise_socket::Mode::Line, BOUND).unwrap())
    };
    // The reader blocks holding the lock; the server keeps running.
    let t = Instant::now();
    let events = server.wait(Duration::from_millis(100)).unwrap();
    assert!(t.elapsed() < Duration::from_secs(1));
    assert!(messages(&events).is_empty());
    peer.write_all(b"for the thread\nfor the server").unwrap();
    assert_eq!(reader.join().unwrap(), b"for the thread");
    let events = poll_until(&mut server, |ev| {
        messages(ev).iter().map(|(_, d)| d.len()).sum::<usize>() == 14
    });
    let got: Vec<u8> = messages(&events).into_iter().flat_map(|(_, d)| d).collect();
    assert_eq!(got, b"for the server");
}

#[test]
fn server_types_can_move_between_threads() {
    fn send<T: Send>() {}
    fn sync<T: Sync>() {}
    send::<Server>();
    send::<Connection>();
    sync::<Connection>();
    send::<UdpPeer>();
    sync::<UdpPeer>();
    send::<Event>();
    send::<Peer>();
    let mut server = Server::bind(Some("127.0.0.1"), 0, Protocol::Udp).unwrap();
    let port = server.local_port();
    // `poll` returns with the first event, whenever the datagram comes.
    let h = thread::spawn(move || server.poll(Duration::from_secs(10)).unwrap());
    let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    thread::sleep(Duration::from_millis(20));
    s.send_to(b"t", ("127.0.0.1", port)).unwrap();
    let events = h.join().unwrap();
    assert_eq!(messages(&events)[0].1, b"t");
}
