//! A peer that sends nothing but empty frames (keepalives), faster than
//! they are read, holds neither a framed receive nor a server's `wait`
//! past its timeout; the packet it sends afterwards still arrives whole.

mod common;
mod server_util;

use common::{framed, until_acknowledged, BOUND};
use renoise_socket::framing::Framing;
use renoise_socket::{Client, ClientBuilder, Error, Event, Server};
use server_util::{count_accepted, messages, poll_until, stream};
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

const PACKET: &[u8] = b"/a\0\0,i\0\0\0\0\0\x01";

/// Writes empty frames to `s` until `stop` is set (or, in a broken test,
/// until `BOUND` has passed), then `PACKET`, and holds the connection
/// open. `flooding` is cleared when the flood ends, whatever ended it.
fn flood(
    mut s: TcpStream,
    framing: Framing,
    stop: Arc<AtomicBool>,
    flooding: Arc<AtomicBool>,
) -> thread::JoinHandle<()> {
    let chunk = keepalives(framing, 64 << 10);
    thread::spawn(move || {
        let start = Instant::now();
        while !stop.load(Ordering::SeqCst) && start.elapsed() < BOUND {
            s.write_all(&chunk).unwrap();
        }
        flooding.store(false, Ordering::SeqCst);
        s.write_all(&framed(framing, &[PACKET])).unwrap();
        // Held open until the reader has the packet and closes.
        let _ = std::io::Read::read(&mut s, &mut [0]);
    })
}

fn flags() -> (Arc<AtomicBool>, Arc<AtomicBool>) {
    (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(true)),
    )
}

#[test]
fn a_framed_receive_times_out_under_a_flood_of_empty_frames() {
    for framing in [Framing::Slip, Framing::SizePrefix] {
        let (mut c, s) = client_and_peer(ClientBuilder::new().framing(framing));
        let (stop, flooding) = flags();
        let peer = flood(s, framing, stop.clone(), flooding.clone());
        for timeout in [Duration::from_millis(100), Duration::ZERO] {
            let got = c.receive_all(timeout).map(<[u8]>::to_vec);
            assert!(matches!(got, Err(Error::Timeout)), "{framing}: {got:?}");
            // It gave up while the empty frames were still coming.
            assert!(flooding.load(Ordering::SeqCst), "{framing} {timeout:?}");
            assert!(c.is_open(), "{framing}");
        }
        stop.store(true, Ordering::SeqCst);
        assert_eq!(c.receive_all(BOUND).unwrap(), PACKET, "{framing}");
        c.close();
        peer.join().unwrap();
    }
}

#[test]
fn a_server_wait_ends_on_time_under_a_flood_of_empty_frames() {
    for framing in [Framing::Slip, Framing::SizePrefix] {
        let mut server = Server::builder()
            .framing(framing)
            .bind(Some("127.0.0.1"), 0)
            .unwrap();
        let (stop, flooding) = flags();
        let peer = flood(stream(&server), framing, stop.clone(), flooding.clone());
        poll_until(&mut server, |ev| count_accepted(ev) == 1);
        for timeout in [Duration::from_millis(100), Duration::ZERO] {
            let events = server.wait(timeout).unwrap();
            assert!(messages(&events).is_empty(), "{framing}: {events:?}");
            assert!(flooding.load(Ordering::SeqCst), "{framing} {timeout:?}");
        }
        stop.store(true, Ordering::SeqCst);
        // The packet behind the flood: read in a later round, though no
        // new readiness came for the bytes already queued.
        let events = poll_until(&mut server, |ev| !messages(ev).is_empty());
        assert_eq!(messages(&events)[0].1, PACKET, "{framing}");
        assert!(
            !events.iter().any(|e| matches!(e, Event::Closed(_))),
            "{framing}: {events:?}"
        );
        server.close();
        peer.join().unwrap();
    }
}

/// A client built by `builder`, connected to a loopback listener, and
/// the peer's end of the connection.
fn client_and_peer(builder: ClientBuilder) -> (Client, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let c = builder.connect("127.0.0.1", port).unwrap();
    (c, listener.accept().unwrap().0)
}

/// A client reading 16 KiB at a time, and its peer's stream.
fn small_reads(framing: Framing) -> (Client, TcpStream) {
    client_and_peer(
        ClientBuilder::new()
            .framing(framing)
            .all_chunk_size(16 << 10),
    )
}

/// `bytes` of empty frames.
fn keepalives(framing: Framing, bytes: usize) -> Vec<u8> {
    let empty = framed(framing, &[b""]);
    empty.repeat(bytes / empty.len())
}

#[test]
fn a_packet_pending_behind_many_reads_of_keepalives_is_pending_for_a_zero_timeout() {
    for framing in [Framing::Slip, Framing::SizePrefix] {
        let (mut c, mut s) = small_reads(framing);
        let mut wire = keepalives(framing, 6 << 14);
        wire.extend(framed(framing, &[PACKET]));
        s.write_all(&wire).unwrap();
        until_acknowledged(&s);
        assert_eq!(c.receive_all(Duration::ZERO).unwrap(), PACKET, "{framing}");
    }
}

#[test]
fn the_end_behind_many_reads_of_keepalives_is_pending_for_a_zero_timeout() {
    for framing in [Framing::Slip, Framing::SizePrefix] {
        let (mut c, mut s) = small_reads(framing);
        s.write_all(&framed(framing, &[PACKET])).unwrap();
        assert_eq!(c.receive_all(BOUND).unwrap(), PACKET, "{framing}");
        s.write_all(&keepalives(framing, 6 << 14)).unwrap();
        until_acknowledged(&s);
        drop(s);
        // The end is a moment behind the acknowledged bytes.
        thread::sleep(Duration::from_millis(100));
        let got = c.receive_all(Duration::ZERO).map(<[u8]>::to_vec);
        assert!(
            matches!(got, Err(Error::Disconnected)),
            "{framing}: {got:?}"
        );
    }
}

#[test]
fn a_server_poll_takes_a_packet_pending_behind_many_reads_of_keepalives() {
    for framing in [Framing::Slip, Framing::SizePrefix] {
        let mut server = Server::builder()
            .framing(framing)
            .all_chunk_size(16 << 10)
            .bind(Some("127.0.0.1"), 0)
            .unwrap();
        let mut s = stream(&server);
        poll_until(&mut server, |ev| count_accepted(ev) == 1);
        // A quiet round: the connection has had its first read.
        assert!(server.poll(Duration::from_millis(20)).unwrap().is_empty());
        let mut wire = keepalives(framing, 6 << 14);
        wire.extend(framed(framing, &[PACKET]));
        s.write_all(&wire).unwrap();
        until_acknowledged(&s);
        let events = server.poll(Duration::ZERO).unwrap();
        let first = messages(&events).first().map(|m| m.1.clone());
        assert_eq!(first.as_deref(), Some(PACKET), "{framing}: {events:?}");
    }
}
