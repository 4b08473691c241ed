//! A peer that sends nothing but empty frames (keepalives), faster than
//! they are read, holds neither a framed receive nor a server's `wait`
//! past its timeout; the packet it sends afterwards still arrives whole.

mod server_util;

use renoise_socket::framing::{encode_frame, Framing};
use renoise_socket::{ClientBuilder, Error, Event, Server};
use server_util::*;
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
    let empty: &[u8] = if framing == Framing::Slip {
        b"\xC0"
    } else {
        b"\0\0\0\0"
    };
    let chunk = empty.repeat(16 * 1024);
    thread::spawn(move || {
        let start = Instant::now();
        while !stop.load(Ordering::SeqCst) && start.elapsed() < BOUND {
            s.write_all(&chunk).unwrap();
        }
        flooding.store(false, Ordering::SeqCst);
        let mut packet = Vec::new();
        encode_frame(framing, PACKET, &mut packet).unwrap();
        s.write_all(&packet).unwrap();
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
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut c = ClientBuilder::new()
            .framing(framing)
            .connect("127.0.0.1", port)
            .unwrap();
        let (stop, flooding) = flags();
        let peer = flood(
            listener.accept().unwrap().0,
            framing,
            stop.clone(),
            flooding.clone(),
        );
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

#[test]
fn the_end_behind_the_last_keepalives_is_pending_for_a_zero_timeout() {
    for framing in [Framing::Slip, Framing::SizePrefix] {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut c = ClientBuilder::new()
            .framing(framing)
            .connect("127.0.0.1", port)
            .unwrap();
        let (mut s, _) = listener.accept().unwrap();
        let mut packet = Vec::new();
        encode_frame(framing, PACKET, &mut packet).unwrap();
        s.write_all(&packet).unwrap();
        assert_eq!(c.receive_all(BOUND).unwrap(), PACKET, "{framing}");
        let empty: &[u8] = if framing == Framing::Slip {
            b"\xC0"
        } else {
            b"\0\0\0\0"
        };
        s.write_all(&empty.repeat(100)).unwrap();
        drop(s);
        // The keepalives and the end have arrived by then on loopback: one
        // zero-timeout call sees both.
        thread::sleep(Duration::from_millis(200));
        let got = c.receive_all(Duration::ZERO).map(<[u8]>::to_vec);
        assert!(
            matches!(got, Err(Error::Disconnected)),
            "{framing}: {got:?}"
        );
    }
}
