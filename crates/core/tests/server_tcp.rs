//! TCP servers: several clients, accepted connections as full clients,
//! reading from both sides, end of stream.

mod common;
mod server_util;

use common::framed;
use renoise_socket::framing::Framing;
use renoise_socket::{Client, ClientBuilder, Event, Mode, Peer, Protocol, Server};
use server_util::*;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::thread;
use std::time::Duration;

#[test]
fn several_clients_at_once_each_message_comes_from_its_connection() {
    let mut server = Server::bind(Some("127.0.0.1"), 0, Protocol::Tcp).unwrap();
    let port = server.local_port();
    let mut clients: Vec<Client> = (0..5)
        .map(|_| Client::connect("127.0.0.1", port).unwrap())
        .collect();
    let mut streams: Vec<TcpStream> = (0..3).map(|_| stream(&server)).collect();
    let mut expect = std::collections::HashMap::new();
    for (i, c) in clients.iter_mut().enumerate() {
        let msg = format!("client {i} says hello\n").into_bytes();
        c.send(&msg).unwrap();
        expect.insert(c.local_addr(), msg);
    }
    for (i, s) in streams.iter_mut().enumerate() {
        let msg = format!("stream {i} says hi\n").into_bytes();
        s.write_all(&msg).unwrap();
        expect.insert(s.local_addr().unwrap(), msg);
    }
    let events = poll_until(&mut server, |ev| data_by_peer(ev) == expect);
    assert_eq!(count_accepted(&events), 8);
    assert!(errors(&events).is_empty(), "{:?}", errors(&events));
    // Each connection is accepted before any of its messages.
    for (i, e) in events.iter().enumerate() {
        if let Event::Message {
            from: Peer::Tcp(c), ..
        } = e
        {
            assert!(events[..i]
                .iter()
                .any(|a| matches!(a, Event::Accepted(x) if x == c)));
        }
    }
    assert_eq!(server.connections().len(), 8);
}

#[test]
fn two_clients_connected_before_one_wait_are_both_delivered() {
    // Renoise's own test: two new clients send, then one wait(500).
    let mut server = Server::bind(Some("localhost"), 0, Protocol::Tcp).unwrap();
    let port = server.local_port();
    let mut a = Client::connect("localhost", port).unwrap();
    let mut b = Client::connect("localhost", port).unwrap();
    a.send(b"message from a").unwrap();
    b.send(b"message from b").unwrap();
    let events = server.wait(Duration::from_millis(500)).unwrap();
    let by = data_by_peer(&events);
    assert_eq!(by.get(&a.local_addr()).unwrap(), b"message from a");
    assert_eq!(by.get(&b.local_addr()).unwrap(), b"message from b");
    assert_eq!(count_accepted(&events), 2);
}

#[test]
fn two_clients_connecting_during_one_wait_are_both_delivered() {
    let mut server = Server::bind(Some("127.0.0.1"), 0, Protocol::Tcp).unwrap();
    let port = server.local_port();
    let peers = thread::spawn(move || {
        thread::sleep(Duration::from_millis(50));
        let mut a = Client::connect("127.0.0.1", port).unwrap();
        a.send(b"early").unwrap();
        thread::sleep(Duration::from_millis(100));
        let mut b = Client::connect("127.0.0.1", port).unwrap();
        b.send(b"late").unwrap();
        thread::sleep(Duration::from_millis(1600));
        (a.local_addr(), b.local_addr())
    });
    // Long enough for a loaded machine to run the peers' thread.
    let events = server.wait(Duration::from_millis(1500)).unwrap();
    let (a, b) = peers.join().unwrap();
    let by = data_by_peer(&events);
    assert_eq!(by.get(&a).map(Vec::as_slice), Some(&b"early"[..]));
    assert_eq!(by.get(&b).map(Vec::as_slice), Some(&b"late"[..]));
    assert_eq!(count_accepted(&events), 2);
}

#[test]
fn accepted_connection_is_a_full_client() {
    let (mut server, mut peer, conn) = server_with_peer();
    assert!(conn.is_open());
    assert_eq!(conn.protocol(), Protocol::Tcp);
    assert_eq!(conn.local_port(), server.local_port());
    assert_eq!(conn.local_address(), "127.0.0.1");
    assert_eq!(conn.peer_address(), "127.0.0.1");
    assert_eq!(conn.peer_port(), peer.local_addr().unwrap().port());
    assert_eq!(conn.peer_addr(), peer.local_addr().unwrap());
    assert!(conn.to_string().starts_with("SocketClient(TCP 127.0.0.1:"));
    assert!(conn.to_string().ends_with(", open)"));

    peer.write_all(b"GET /\r\nabcd").unwrap();
    let line = conn.receive_vec(Mode::Line, BOUND).unwrap();
    assert_eq!(line, b"GET /");
    let four = conn.receive_vec(Mode::Bytes(4), BOUND).unwrap();
    assert_eq!(four, b"abcd");
    assert!(conn
        .receive_vec(Mode::All, Duration::from_millis(20))
        .unwrap_err()
        .is_timeout());
    conn.send(b"200 OK\n").unwrap();
    assert_eq!(read_n(&mut peer, 7), b"200 OK\n");
    // Every Client method through the lock.
    {
        let mut c = conn.lock();
        c.send(b"more\n").unwrap();
        assert_eq!(c.buffered(), 0);
    }
    assert_eq!(read_n(&mut peer, 5), b"more\n");
    // Nothing was left for the server to deliver.
    let later = server.poll(Duration::from_millis(50)).unwrap();
    assert!(messages(&later).is_empty(), "{later:?}");
    conn.close();
    conn.close();
    assert!(!conn.is_open());
    assert!(conn.send(b"x").is_err());
    assert_eq!(read_n(&mut peer, 1), b"");
}

#[test]
fn data_left_in_the_buffer_after_a_direct_read_comes_at_the_next_poll() {
    let (mut server, mut peer, conn) = server_with_peer();
    peer.write_all(b"one\ntwo\n").unwrap();
    thread::sleep(Duration::from_millis(50));
    // One read pulls both lines into the client's buffer.
    assert_eq!(conn.receive_vec(Mode::Line, BOUND).unwrap(), b"one");
    let events = poll_until(&mut server, |ev| !messages(ev).is_empty());
    let msgs = messages(&events);
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].1, b"two\n");
    assert_eq!(msgs[0].0.connection(), Some(&conn));
    // Delivered once.
    let later = server.poll(Duration::from_millis(50)).unwrap();
    assert!(messages(&later).is_empty(), "{later:?}");
}

#[test]
fn a_new_connection_can_read_its_first_bytes_itself_when_accepted() {
    // A handshake read in `socket_accepted`: the peer's first bytes are
    // there before the server hears of the connection, yet the server
    // must not take them in the batch that tells of it.
    let mut server = Server::bind(Some("127.0.0.1"), 0, Protocol::Tcp).unwrap();
    let mut peer = stream(&server);
    peer.write_all(b"HELLO 1\nrest").unwrap();
    thread::sleep(Duration::from_millis(50));
    let batch = loop {
        let events = server.poll(BOUND).unwrap();
        if count_accepted(&events) == 1 {
            break events;
        }
    };
    assert!(messages(&batch).is_empty(), "{batch:?}");
    let conn = accepted(&batch).remove(0);
    assert_eq!(conn.receive_vec(Mode::Line, BOUND).unwrap(), b"HELLO 1");
    // What the program left is the server's again, once.
    let events = poll_until(&mut server, |ev| !messages(ev).is_empty());
    let msgs = messages(&events);
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].1, b"rest");
}

#[test]
fn wait_zero_delivers_a_new_connection_with_what_came_with_it() {
    let mut server = Server::bind(Some("127.0.0.1"), 0, Protocol::Tcp).unwrap();
    let mut peer = stream(&server);
    peer.write_all(b"at once").unwrap();
    thread::sleep(Duration::from_millis(100));
    let events = server.wait(Duration::ZERO).unwrap();
    assert_eq!(count_accepted(&events), 1, "{events:?}");
    assert_eq!(messages(&events).len(), 1, "{events:?}");
    assert_eq!(messages(&events)[0].1, b"at once");
}

#[test]
fn no_byte_lost_or_duplicated_when_program_and_server_both_read() {
    let (mut server, mut peer, conn) = server_with_peer();
    let mut sent = Vec::new();
    for i in 0..3000u32 {
        sent.extend(format!("{i:05}|").as_bytes());
    }
    let data = sent.clone();
    let writer = thread::spawn(move || {
        for (i, chunk) in data.chunks(97).enumerate() {
            peer.write_all(chunk).unwrap();
            if i % 8 == 0 {
                thread::sleep(Duration::from_millis(1));
            }
        }
        // Close: the end of the stream must come after all the data.
    });
    let mut got = Vec::new();
    let mut ended = false;
    let start = std::time::Instant::now();
    let mut turn = 0u32;
    while !ended {
        assert!(
            start.elapsed() < BOUND,
            "got {} of {}",
            got.len(),
            sent.len()
        );
        turn += 1;
        match turn % 4 {
            0 => match conn.receive_vec(Mode::Bytes(13), Duration::from_millis(2)) {
                Ok(b) => got.extend(b),
                Err(e) if e.is_timeout() => {}
                Err(_) => ended = true,
            },
            1 => match conn.receive_vec(Mode::All, Duration::ZERO) {
                Ok(b) => got.extend(b),
                Err(e) if e.is_timeout() => {}
                Err(_) => ended = true,
            },
            _ => {
                for e in server.poll(Duration::from_millis(2)).unwrap() {
                    match e {
                        Event::Message { data, .. } => got.extend(data),
                        Event::Closed(_) => ended = true,
                        Event::Error(e) => panic!("{e}"),
                        _ => {}
                    }
                }
            }
        }
    }
    writer.join().unwrap();
    assert_eq!(got.len(), sent.len());
    assert!(got == sent, "data reordered or corrupted");
}

#[test]
fn end_of_stream_delivers_remaining_data_then_closed() {
    let mut server = Server::bind(Some("127.0.0.1"), 0, Protocol::Tcp).unwrap();
    let sent: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let mut peer = stream(&server);
    peer.write_all(&sent).unwrap();
    drop(peer);
    let events = poll_until(&mut server, |ev| count_closed(ev) == 1);
    let msgs = messages(&events);
    let got: Vec<u8> = msgs.iter().flat_map(|(_, d)| d.clone()).collect();
    assert!(got == sent, "got {} of {} bytes", got.len(), sent.len());
    // Each message is at most the all-chunk size (64 KiB by default).
    assert!(msgs
        .iter()
        .all(|(_, d)| !d.is_empty() && d.len() <= 64 << 10));
    // Closed comes last, and the connection is closed.
    let Some(Event::Closed(conn)) = events.last() else {
        panic!("Closed is not last: {events:?}");
    };
    assert!(!conn.is_open());
    assert!(conn
        .receive_vec(Mode::All, Duration::ZERO)
        .unwrap_err()
        .to_string()
        .contains("closed"));
    assert!(errors(&events).is_empty());
    assert!(server.connections().is_empty());
    let later = server.poll(Duration::from_millis(50)).unwrap();
    assert!(later.is_empty(), "{later:?}");
}

#[test]
fn a_connection_reset_before_it_was_accepted_still_delivers_what_it_sent() {
    let mut server = Server::bind(Some("127.0.0.1"), 0, Protocol::Tcp).unwrap();
    let mut peer = stream(&server);
    let addr = peer.local_addr().unwrap();
    peer.write_all(b"before reset").unwrap();
    thread::sleep(Duration::from_millis(50));
    socket2::SockRef::from(&peer)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(peer); // a reset, while the server has not accepted it yet
    thread::sleep(Duration::from_millis(50));
    let events = poll_until(&mut server, |ev| count_closed(ev) == 1);
    assert!(
        matches!(&events[0], Event::Accepted(c) if c.peer_addr() == addr),
        "{events:?}"
    );
    assert_eq!(data_by_peer(&events)[&addr], b"before reset");
    assert!(
        matches!(events.last(), Some(Event::Closed(_))),
        "{events:?}"
    );
}

#[test]
fn a_connection_the_program_closes_is_reported_closed_once() {
    let (mut server, mut peer, conn) = server_with_peer();
    conn.close();
    let events = poll_until(&mut server, |ev| count_closed(ev) == 1);
    assert_eq!(events.len(), 1);
    assert_eq!(read_n(&mut peer, 1), b"");
    assert!(server.poll(Duration::from_millis(30)).unwrap().is_empty());
}

/// A send that finds the peer gone, through `Connection::send` or through
/// the client itself (`lock()`): the server reports the connection closed
/// once, either way.
#[test]
fn a_connection_whose_send_found_the_peer_gone_is_reported_closed() {
    for via_lock in [false, true] {
        let (mut server, peer, conn) = server_with_peer();
        drop(peer);
        thread::sleep(Duration::from_millis(50));
        let mut err = None;
        for _ in 0..20 {
            let sent = if via_lock {
                conn.lock().send(b"x")
            } else {
                conn.send(b"x")
            };
            if let Err(e) = sent {
                err = Some(e);
                break;
            }
            thread::sleep(Duration::from_millis(20));
        }
        assert!(
            err.as_ref().is_some_and(|e| e.is_disconnected()),
            "via_lock {via_lock}: {err:?}"
        );
        poll_until(&mut server, |ev| count_closed(ev) == 1);
        assert_eq!(server.connections().len(), 0, "via_lock {via_lock}");
    }
}

#[test]
fn a_peer_that_half_closes_can_still_be_answered_with_poll() {
    let mut server = Server::bind(Some("127.0.0.1"), 0, Protocol::Tcp).unwrap();
    let mut peer = stream(&server);
    peer.write_all(b"request\n").unwrap();
    peer.shutdown(Shutdown::Write).unwrap();
    let mut answered = 0;
    let events = poll_until(&mut server, |ev| {
        // Answer each message as soon as the batch is there (a callback).
        for (from, data) in messages(ev).into_iter().skip(answered) {
            answered += 1;
            assert_eq!(data, b"request\n");
            from.send(b"response\n").unwrap();
        }
        count_closed(ev) == 1
    });
    assert_eq!(answered, 1);
    assert!(errors(&events).is_empty());
    let mut reply = Vec::new();
    peer.read_to_end(&mut reply).unwrap();
    assert_eq!(reply, b"response\n");
}

#[test]
fn a_connection_the_program_half_closes_still_delivers_until_the_peer_ends() {
    let (mut server, mut peer, conn) = server_with_peer();
    conn.send(b"all of it\n").unwrap();
    conn.shutdown_send().unwrap();
    assert!(!conn.is_open());
    // The peer reads everything, then the end of the stream.
    let mut got = Vec::new();
    peer.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"all of it\n");
    // What it sends after that still comes as messages, then its end.
    peer.write_all(b"thanks\n").unwrap();
    peer.shutdown(Shutdown::Write).unwrap();
    let events = poll_until(&mut server, |ev| count_closed(ev) == 1);
    assert_eq!(
        data_by_peer(&events).into_values().collect::<Vec<_>>(),
        [b"thanks\n".to_vec()]
    );
    assert!(errors(&events).is_empty(), "{:?}", errors(&events));
    assert_eq!(server.connections().len(), 0);
}

#[test]
fn a_connection_read_to_its_end_and_half_closed_by_the_program_is_closed() {
    // The std sequence: read the request to the end, answer, shut down
    // writing. Both directions are over: the server closes it and says so,
    // whichever of the two the program did first.
    for shut_first in [false, true] {
        let mut server = Server::bind(Some("127.0.0.1"), 0, Protocol::Tcp).unwrap();
        let mut peer = stream(&server);
        peer.write_all(b"request").unwrap();
        peer.shutdown(Shutdown::Write).unwrap();
        let events = poll_until(&mut server, |ev| count_accepted(ev) == 1);
        let conn = accepted(&events).remove(0);
        {
            let mut c = conn.lock();
            c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            if shut_first {
                c.write_all(b"early reply").unwrap();
                c.shutdown_send().unwrap();
            }
            let mut got = Vec::new();
            c.read_to_end(&mut got).unwrap();
            assert_eq!(got, b"request");
            if !shut_first {
                c.write_all(b"reply").unwrap();
                c.shutdown_send().unwrap();
            }
        }
        let mut reply = Vec::new();
        peer.read_to_end(&mut reply).unwrap();
        assert_eq!(
            reply,
            if shut_first {
                &b"early reply"[..]
            } else {
                b"reply"
            }
        );
        let events = poll_until(&mut server, |ev| count_closed(ev) == 1);
        assert!(errors(&events).is_empty(), "{:?}", errors(&events));
        assert_eq!(server.connections().len(), 0, "shut_first {shut_first}");
    }
}

#[test]
fn ipv6_loopback_connections() {
    if !has_ipv6() {
        eprintln!("no IPv6 loopback here; skipped");
        return;
    }
    let mut server = Server::bind(Some("::1"), 0, Protocol::Tcp).unwrap();
    assert_eq!(server.local_address(), "::1");
    let mut c = Client::connect("::1", server.local_port()).unwrap();
    c.send(b"over v6").unwrap();
    let events = poll_until(&mut server, |ev| !messages(ev).is_empty());
    let (from, data) = messages(&events).remove(0);
    assert_eq!(data, b"over v6");
    assert_eq!(from.peer_address(), "::1");
    assert_eq!(from.peer_port(), c.local_port());
    from.send(b"back\n").unwrap();
    assert_eq!(c.receive_line(BOUND).unwrap(), b"back");
}

#[test]
fn closing_the_server_closes_its_connections() {
    let (mut server, mut peer, conn) = server_with_peer();
    server.close();
    assert!(!conn.is_open());
    assert_eq!(read_n(&mut peer, 1), b"");
}

#[test]
fn framed_server_delivers_whole_packets() {
    let mut server = Server::builder()
        .framing(Framing::SizePrefix)
        .bind(Some("127.0.0.1"), 0)
        .unwrap();
    let mut peer = stream(&server);
    let frame = |p: &[u8]| {
        let mut f = (p.len() as u32).to_be_bytes().to_vec();
        f.extend(p);
        f
    };
    // Two packets and half of a third in one write, the rest later.
    let mut first = frame(b"/one\0\0\0\0,\0\0\0");
    first.extend(frame(b"/two\0\0\0\0,\0\0\0"));
    let third = frame(b"/three\0\0,\0\0\0");
    first.extend(&third[..6]);
    peer.write_all(&first).unwrap();
    let events = poll_until(&mut server, |ev| messages(ev).len() == 2);
    thread::sleep(Duration::from_millis(30));
    assert!(messages(&server.poll(Duration::ZERO).unwrap()).is_empty());
    peer.write_all(&third[6..]).unwrap();
    let more = poll_until(&mut server, |ev| messages(ev).len() == 1);
    let all: Vec<Vec<u8>> = messages(&events)
        .into_iter()
        .chain(messages(&more))
        .map(|(_, d)| d)
        .collect();
    assert_eq!(
        all,
        vec![
            b"/one\0\0\0\0,\0\0\0".to_vec(),
            b"/two\0\0\0\0,\0\0\0".to_vec(),
            b"/three\0\0,\0\0\0".to_vec()
        ]
    );
    // Replies are framed too.
    messages(&more)[0].0.send(b"ok").unwrap();
    assert_eq!(read_n(&mut peer, 6), b"\0\0\0\x02ok");
}

#[test]
fn messages_given_back_come_first_in_their_order() {
    // Framed: whole packets come back whole, before the ones still in the
    // buffer; unframed: the bytes, before the rest of the stream.
    for framing in [Framing::Slip, Framing::SizePrefix, Framing::None] {
        let (mut server, mut peer) = framed_server_with_peer(framing);
        peer.write_all(&framed(framing, &[b"one", b"two"])).unwrap();
        let events = poll_until(&mut server, |ev| {
            messages(ev).iter().map(|(_, d)| d.len()).sum::<usize>() == 6
        });
        let got = messages(&events);
        let Peer::Tcp(conn) = &got[0].0 else {
            panic!("a TCP peer")
        };
        server.read_connections(false);
        peer.write_all(&framed(framing, &[b"three"])).unwrap();
        let data: Vec<&[u8]> = got.iter().map(|(_, d)| d.as_slice()).collect();
        conn.unread(&data);
        let mut all = Vec::new();
        while all.len() < 11 {
            all.extend(conn.receive_vec(Mode::All, BOUND).unwrap());
            if framing != Framing::None {
                all.push(b'|');
            }
        }
        let want: &[u8] = if framing == Framing::None {
            b"onetwothree"
        } else {
            b"one|two|three|"
        };
        assert_eq!(all, want, "{framing:?}");
    }
}

/// A server with `framing`, and a peer whose connection it has accepted.
fn framed_server_with_peer(framing: Framing) -> (Server, TcpStream) {
    let mut server = Server::builder()
        .framing(framing)
        .bind(Some("127.0.0.1"), 0)
        .unwrap();
    let peer = stream(&server);
    poll_until(&mut server, |ev| count_accepted(ev) == 1);
    (server, peer)
}

#[test]
fn wait_zero_delivers_every_whole_packet_a_framed_read_brought_in() {
    // The second packet holds SLIP's END byte, escaped on the wire.
    let packets: [&[u8]; 3] = [
        b"/one\0\0\0\0,\0\0\0",
        b"/t\xc0o\0,\0\0\0",
        b"/three\0\0,\0\0\0",
    ];
    for framing in [Framing::Slip, Framing::SizePrefix] {
        let (mut server, mut peer) = framed_server_with_peer(framing);
        // Three whole packets and the start of a fourth in one write.
        let mut data = framed(framing, &packets);
        data.extend(&framed(framing, &[b"/four\0\0\0,\0\0\0"])[..3]);
        peer.write_all(&data).unwrap();
        thread::sleep(Duration::from_millis(100));
        let events = server.wait(Duration::ZERO).unwrap();
        let got: Vec<Vec<u8>> = messages(&events).into_iter().map(|(_, d)| d).collect();
        assert_eq!(got, packets.map(<[u8]>::to_vec), "{framing:?}: {events:?}");
    }
}

#[test]
fn a_framed_peer_that_half_closes_after_several_packets_can_still_be_answered() {
    // Every packet of a read comes in one round; the end of the stream
    // is read in a later one, after the program answered.
    let mut server = Server::builder()
        .framing(Framing::Slip)
        .bind(Some("127.0.0.1"), 0)
        .unwrap();
    let mut peer = stream(&server);
    peer.write_all(&framed(Framing::Slip, &[b"a", b"b", b"c"]))
        .unwrap();
    peer.shutdown(Shutdown::Write).unwrap();
    let mut answered = 0;
    let events = poll_until(&mut server, |ev| {
        for (from, data) in messages(ev).into_iter().skip(answered) {
            answered += 1;
            from.send(&data).unwrap();
        }
        count_closed(ev) == 1
    });
    assert_eq!(answered, 3, "{events:?}");
    assert!(errors(&events).is_empty(), "{events:?}");
    let mut reply = Vec::new();
    peer.read_to_end(&mut reply).unwrap();
    assert_eq!(reply, framed(Framing::Slip, &[b"a", b"b", b"c"]));
}

#[test]
fn a_broken_frame_is_an_error_naming_the_peer_then_closed() {
    let mut server = Server::builder()
        .framing(Framing::SizePrefix)
        .max_receive_size(1024)
        .bind(Some("127.0.0.1"), 0)
        .unwrap();
    let mut peer = stream(&server);
    let mut data = 4u32.to_be_bytes().to_vec();
    data.extend(b"good");
    data.extend(1_000_000u32.to_be_bytes());
    data.extend(b"too long");
    peer.write_all(&data).unwrap();
    let events = poll_until(&mut server, |ev| count_closed(ev) == 1);
    assert_eq!(messages(&events)[0].1, b"good");
    let errs = errors(&events);
    assert_eq!(errs.len(), 1, "{errs:?}");
    let who = peer.local_addr().unwrap().to_string();
    assert!(errs[0].contains(&who), "{}", errs[0]);
    assert_eq!(read_n(&mut peer, 1), b"");
}

#[test]
fn packets_before_a_broken_frame_in_the_same_read_can_be_answered() {
    // Whether the broken frame came in the same TCP segment as the
    // packets before it or in a later one must not change what the
    // program can do with them: it answers on an open connection, then
    // the error and the close come.
    let broken: [(Framing, &[u8]); 2] = [
        (Framing::Slip, b"\xdbA\xc0"),              // an escape that is none
        (Framing::SizePrefix, b"\x7f\xff\xff\xff"), // larger than any packet
    ];
    for (framing, bad) in broken {
        let (mut server, mut peer) = framed_server_with_peer(framing);
        let mut data = framed(framing, &[b"/ok\0,\0\0\0", b"/ok2,\0\0\0"]);
        data.extend(bad);
        peer.write_all(&data).unwrap();
        let mut answered = Vec::new();
        let events = poll_until(&mut server, |ev| {
            for (from, data) in messages(ev).into_iter().skip(answered.len()) {
                answered.push(from.is_open());
                from.send(&data)
                    .unwrap_or_else(|e| panic!("{framing:?}: {e}"));
            }
            count_closed(ev) == 1
        });
        assert_eq!(answered, [true, true], "{framing:?}: {events:?}");
        assert_eq!(errors(&events).len(), 1, "{framing:?}: {events:?}");
        let mut reply = Vec::new();
        peer.read_to_end(&mut reply).unwrap();
        assert_eq!(
            reply,
            framed(framing, &[b"/ok\0,\0\0\0", b"/ok2,\0\0\0"]),
            "{framing:?}"
        );
    }
}

#[test]
fn a_framed_connection_that_fell_behind_gives_back_its_grown_buffer_once_drained() {
    let mut server = Server::builder()
        .connection_options(
            ClientBuilder::new()
                .all_chunk_size(16 << 10)
                .read_ahead(1 << 20),
        )
        .framing(Framing::SizePrefix)
        .bind(Some("127.0.0.1"), 0)
        .unwrap();
    let mut peer = stream(&server);
    const PACKETS: usize = 40_000;
    let packet = |i: usize| format!("/p\0\0,i\0\0{i:08}").into_bytes();
    let mut data = Vec::new();
    for i in 0..PACKETS {
        let p = packet(i);
        data.extend((p.len() as u32).to_be_bytes());
        data.extend(p);
    }
    let writer = {
        let mut peer = peer.try_clone().unwrap();
        thread::spawn(move || peer.write_all(&data).unwrap())
    };
    // Let the kernel's queue fill up before the server reads.
    thread::sleep(Duration::from_millis(50));
    let (mut got, mut conn, mut biggest) = (0, None, 0);
    let start = std::time::Instant::now();
    while got < PACKETS {
        assert!(start.elapsed() < Duration::from_secs(10), "{got} packets");
        for e in server.poll(Duration::from_millis(100)).unwrap() {
            match e {
                Event::Accepted(c) => conn = Some(c),
                Event::Message { data, .. } => {
                    assert_eq!(data, packet(got), "packet {got}");
                    got += 1;
                }
                other => panic!("{other:?}"),
            }
        }
        if let Some(c) = &conn {
            biggest = biggest.max(c.lock().buffer_capacity());
        }
    }
    writer.join().unwrap();
    assert!(biggest > 16 << 10, "the buffer stayed at {biggest} bytes");
    let conn = conn.unwrap();
    assert!(messages(&server.poll(Duration::ZERO).unwrap()).is_empty());
    assert_eq!(conn.lock().buffer_capacity(), 0);
    // The connection reads on as before.
    let last = packet(PACKETS);
    let mut f = (last.len() as u32).to_be_bytes().to_vec();
    f.extend(&last);
    peer.write_all(&f).unwrap();
    let more = poll_until(&mut server, |ev| messages(ev).len() == 1);
    assert_eq!(messages(&more)[0].1, last);
}

/// `io::Read` on an accepted connection reads the peer's end as `Ok(0)`
/// and leaves the connection open for the reply; the server, which reads
/// its connections too, leaves that end to the program (no `Closed`, no
/// close) until the program closes it.
#[test]
fn a_connection_whose_end_the_program_read_stays_open_for_its_reply() {
    use std::io::{Read, Write};
    let mut server = Server::bind(Some("127.0.0.1"), 0, Protocol::Tcp).unwrap();
    let mut peer = std::net::TcpStream::connect(server.local_addr()).unwrap();
    peer.set_read_timeout(Some(BOUND)).unwrap();
    peer.write_all(b"request").unwrap();
    peer.shutdown(std::net::Shutdown::Write).unwrap();
    let events = poll_until(&mut server, |ev| count_accepted(ev) == 1);
    let conn = accepted(&events).remove(0);
    let mut request = Vec::new();
    {
        let mut client = conn.lock();
        client.set_read_timeout(Some(BOUND)).unwrap();
        client.read_to_end(&mut request).unwrap();
    }
    assert_eq!(request, b"request");
    // The server polls meanwhile: nothing to report, and it closes nothing.
    for _ in 0..5 {
        let events = server.poll(Duration::from_millis(20)).unwrap();
        assert_eq!(count_closed(&events), 0, "{events:?}");
    }
    assert!(conn.is_open());
    conn.lock().write_all(b"reply").unwrap();
    conn.close();
    let events = poll_until(&mut server, |ev| count_closed(ev) == 1);
    assert_eq!(count_closed(&events), 1);
    let mut reply = Vec::new();
    peer.read_to_end(&mut reply).unwrap();
    assert_eq!(reply, b"reply");
}

/// `io::Read` / `io::Write` on a connection handle (and on `&Connection`)
/// read and write the connection as the client's own do.
#[test]
fn read_and_write_work_on_a_connection_handle() {
    use std::io::{BufRead, BufReader, Read, Write};
    let (_server, mut peer, conn) = server_with_peer();
    conn.lock().set_read_timeout(Some(BOUND)).unwrap();
    peer.write_all(b"one\r\ntwo\n").unwrap();
    let mut lines = BufReader::new(&conn).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "one");
    assert_eq!(lines.next().unwrap().unwrap(), "two");
    drop(lines);
    writeln!(&conn, "{}", 3).unwrap();
    let mut owned = conn.clone();
    owned.write_all(b"four").unwrap();
    assert_eq!(read_n(&mut peer, 6), b"3\nfour");
    peer.write_all(b"rest").unwrap();
    peer.shutdown(std::net::Shutdown::Write).unwrap();
    let mut rest = Vec::new();
    owned.read_to_end(&mut rest).unwrap();
    assert_eq!(rest, b"rest");
    conn.close();
    let err = (&conn).read(&mut [0; 4]).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::NotConnected);
}

/// `write!` and `write_all` on a shared connection are one locked send
/// each: lines written from several threads at once arrive whole.
#[test]
fn lines_written_from_several_threads_arrive_whole() {
    use std::io::{BufRead, BufReader, Write};
    let (_server, peer, conn) = server_with_peer();
    let writers: Vec<_> = (0..3)
        .map(|t| {
            let conn = conn.clone();
            std::thread::spawn(move || {
                let end = "end";
                for i in 0..500 {
                    if i % 2 == 0 {
                        writeln!(&conn, "{t}-{i}-{end}").unwrap();
                    } else {
                        (&conn)
                            .write_all(format!("{t}-{i}-end\n").as_bytes())
                            .unwrap();
                    }
                }
            })
        })
        .collect();
    let mut lines = BufReader::new(peer).lines();
    let mut seen = std::collections::HashSet::new();
    for _ in 0..1500 {
        let line = lines.next().unwrap().unwrap();
        let parts: Vec<&str> = line.split('-').collect();
        assert_eq!(parts.len(), 3, "{line:?}");
        assert_eq!(parts[2], "end", "{line:?}");
        assert!(seen.insert(line.clone()), "{line:?} twice");
    }
    for w in writers {
        w.join().unwrap();
    }
}

/// With reading off, a connection's bytes wait for the program's own
/// receive calls; the end it reads makes the server report it closed;
/// back on, what came meanwhile is handed out.
#[test]
fn a_server_that_does_not_read_leaves_the_bytes_to_the_program() {
    use renoise_socket::Mode;
    use std::io::Write;
    let (mut server, mut peer, conn) = server_with_peer();
    server.read_connections(false);
    peer.write_all(b"one\ntwo\n").unwrap();
    for _ in 0..5 {
        let events = server.poll(Duration::from_millis(20)).unwrap();
        assert!(messages(&events).is_empty(), "{events:?}");
    }
    assert_eq!(conn.receive_vec(Mode::Line, BOUND).unwrap(), b"one");
    // On again: the rest, buffered and in the kernel, comes as messages.
    peer.write_all(b"three\n").unwrap();
    std::thread::sleep(Duration::from_millis(50));
    server.read_connections(true);
    let events = poll_until(&mut server, |ev| {
        messages(ev).iter().map(|(_, d)| d.len()).sum::<usize>() == 10
    });
    let got: Vec<u8> = messages(&events).into_iter().flat_map(|(_, d)| d).collect();
    assert_eq!(got, b"two\nthree\n");
    // Off again: the program reads the end, and the server reports it.
    server.read_connections(false);
    peer.write_all(b"last").unwrap();
    drop(peer);
    std::thread::sleep(Duration::from_millis(50));
    assert!(messages(&server.poll(Duration::from_millis(20)).unwrap()).is_empty());
    assert_eq!(conn.receive_vec(Mode::All, BOUND).unwrap(), b"last");
    assert!(matches!(
        conn.receive_vec(Mode::All, BOUND),
        Err(renoise_socket::Error::Disconnected)
    ));
    let events = poll_until(&mut server, |ev| count_closed(ev) == 1);
    assert_eq!(count_closed(&events), 1);
    // A peer that ends with nothing unread: the server sees it by itself.
    let (mut server, peer, conn) = server_with_peer();
    server.read_connections(false);
    // Read once (nothing there) before the peer goes, so that its end
    // comes as a readiness report of its own.
    for _ in 0..3 {
        server.poll(Duration::from_millis(20)).unwrap();
    }
    drop(peer);
    let events = poll_until(&mut server, |ev| count_closed(ev) == 1);
    assert_eq!(count_closed(&events), 1);
    assert!(!conn.is_open());
}

#[test]
fn a_server_that_does_not_read_sees_a_peer_leave_while_its_connection_is_locked() {
    // The end's readiness comes once: a connection locked at that moment
    // (by a thread, or by the caller across its own poll) is looked at
    // again once free, as when the server reads.
    let (mut server, peer, conn) = server_with_peer();
    server.read_connections(false);
    for _ in 0..3 {
        server.poll(Duration::from_millis(20)).unwrap();
    }
    let guard = conn.lock();
    drop(peer);
    for _ in 0..10 {
        assert_eq!(
            count_closed(&server.poll(Duration::from_millis(20)).unwrap()),
            0
        );
    }
    drop(guard);
    let events = poll_until(&mut server, |ev| count_closed(ev) == 1);
    assert_eq!(count_closed(&events), 1);
    assert!(!conn.is_open());
}

#[test]
fn a_quiet_connection_holds_no_receive_buffer() {
    // Thousands of mostly quiet peers would otherwise cost 64 KiB each
    // once they had sent anything; a connection that talks keeps its
    // buffer from one message to the next.
    let (mut server, mut peer, conn) = server_with_peer();
    for round in 0..2 {
        peer.write_all(format!("message {round}\n").as_bytes())
            .unwrap();
        let events = poll_until(&mut server, |ev| !messages(ev).is_empty());
        assert_eq!(
            messages(&events)[0].1,
            format!("message {round}\n").as_bytes()
        );
        assert!(messages(&server.poll(Duration::from_millis(20)).unwrap()).is_empty());
        assert!(conn.lock().buffer_capacity() > 0, "round {round}");
        // Quiet for a while: the next poll gives the buffer back.
        thread::sleep(Duration::from_millis(1100));
        assert!(messages(&server.poll(Duration::ZERO).unwrap()).is_empty());
        assert_eq!(conn.lock().buffer_capacity(), 0, "round {round}");
    }
}

#[test]
fn a_quiet_buffer_the_program_empties_later_still_goes_back() {
    // Half a frame stays buffered past the quiet second, with reading
    // off, and the program reads the packet itself: once empty, the
    // buffer still goes back at a later poll.
    use renoise_socket::Mode;
    let (mut server, mut peer) = framed_server_with_peer(Framing::SizePrefix);
    let conn = server.connections().remove(0);
    let packet: &[u8] = b"/x\0\0,\0\0\0";
    let frame = framed(Framing::SizePrefix, &[packet]);
    peer.write_all(&frame[..6]).unwrap();
    let start = std::time::Instant::now();
    while conn.lock().buffered() < 6 {
        assert!(
            start.elapsed() < BOUND,
            "the server never read the half frame"
        );
        server.poll(Duration::from_millis(20)).unwrap();
    }
    server.read_connections(false);
    thread::sleep(Duration::from_millis(1100));
    assert!(messages(&server.poll(Duration::ZERO).unwrap()).is_empty());
    assert!(conn.lock().buffer_capacity() > 0, "freed with data in it");
    peer.write_all(&frame[6..]).unwrap();
    assert_eq!(conn.receive_vec(Mode::All, BOUND).unwrap(), packet);
    server.poll(Duration::ZERO).unwrap();
    assert_eq!(conn.lock().buffer_capacity(), 0);
}
