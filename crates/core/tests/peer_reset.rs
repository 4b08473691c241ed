//! A peer that resets the connection (SO_LINGER 0, then close): whatever
//! the client already holds is still delivered, then `Error::Disconnected`
//! (never a raw "connection reset" error), and the client is closed.

mod common;

use common::*;
use renoise_socket::{Client, Error};
use socket2::SockRef;
use std::io::Write;
use std::net::TcpStream;
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Aborts the connection: the kernel sends RST instead of FIN.
fn reset(s: TcpStream) {
    SockRef::from(&s).set_linger(Some(Duration::ZERO)).unwrap();
    drop(s);
}

/// A peer that writes `data` in one write, waits for the test's go, then
/// resets. Returns the client, the go signal and the peer.
fn write_then_reset_on_go(
    host: &str,
    data: &'static [u8],
) -> (Client, mpsc::Sender<()>, JoinHandle<()>) {
    let (listener, port) = listen(host);
    let (tx, rx) = mpsc::channel::<()>();
    let peer = serve_one(listener, move |mut s| {
        s.write_all(data).unwrap();
        rx.recv_timeout(BOUND).expect("no go from the test");
        reset(s);
    });
    (Client::connect(host, port).unwrap(), tx, peer)
}

/// Gives the RST time to reach the client's kernel (loopback delivers it
/// within microseconds; this is generous for a loaded machine).
fn let_rst_land() {
    thread::sleep(ms(100));
}

#[test]
fn buffered_lines_survive_a_reset_then_disconnected() {
    for host in LOOPBACKS {
        let (mut c, go, peer) = write_then_reset_on_go(host, b"hello\nworld\npartial");
        assert_eq!(c.receive_line(LONG).unwrap(), b"hello");
        // One write of 19 bytes is one segment, read by one recv.
        assert_eq!(c.buffered(), 13, "{host}: the rest should be buffered");
        go.send(()).unwrap();
        join(peer);
        let_rst_land();
        assert_eq!(c.receive_line(LONG).unwrap(), b"world");
        assert!(c.is_open());
        // The unterminated tail is held by the client, and the reset is the
        // end of the stream: it comes out as the last line.
        let start = Instant::now();
        assert_eq!(c.receive_line(LONG).unwrap(), b"partial");
        let err = c.receive_line(LONG).unwrap_err();
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "the reset should end the wait"
        );
        assert!(matches!(err, Error::Disconnected), "{host}: {err:?}");
        assert_eq!(err.to_string(), "disconnected");
        assert!(!c.is_open());
        assert!(matches!(c.receive_all(ms(0)), Err(Error::Closed)));
    }
}

#[test]
fn reset_with_nothing_buffered_is_disconnected_for_every_mode() {
    for host in LOOPBACKS {
        for (i, mode) in ["line", "all", "n", "all-zero-timeout"]
            .into_iter()
            .enumerate()
        {
            let (mut c, go, peer) = write_then_reset_on_go(host, b"x");
            assert_eq!(c.receive_exact(1, LONG).unwrap(), b"x");
            go.send(()).unwrap();
            join(peer);
            let_rst_land();
            let start = Instant::now();
            let res = match i {
                0 => c.receive_line(LONG).map(|b| b.to_vec()),
                1 => c.receive_all(LONG).map(|b| b.to_vec()),
                2 => c.receive_exact(4, LONG).map(|b| b.to_vec()),
                _ => c.receive_all(Duration::ZERO).map(|b| b.to_vec()),
            };
            assert!(
                matches!(res, Err(Error::Disconnected)),
                "{host} {mode}: {res:?}"
            );
            assert!(start.elapsed() < Duration::from_secs(2));
            assert!(!c.is_open(), "{host} {mode}");
        }
    }
}

#[test]
fn reset_while_waiting_ends_the_wait() {
    // The client is blocked in a long receive when the RST arrives: the
    // call returns promptly with what it had, then Disconnected.
    for host in LOOPBACKS {
        let (listener, port) = listen(host);
        let peer = serve_one(listener, |mut s| {
            s.write_all(b"abc").unwrap();
            thread::sleep(ms(150));
            reset(s);
        });
        let mut c = Client::connect(host, port).unwrap();
        let start = Instant::now();
        // 10 bytes never come; the reset ends the stream after 3.
        let got = c.receive_exact(10, LONG).unwrap().to_vec();
        let took = start.elapsed();
        assert_eq!(got, b"abc", "{host}");
        assert!(
            took >= ms(100),
            "{host}: returned before the reset ({took:?})"
        );
        assert!(took < Duration::from_secs(3), "{host}: waited {took:?}");
        assert!(matches!(
            c.receive_exact(10, LONG),
            Err(Error::Disconnected)
        ));
        assert!(!c.is_open());
        join(peer);
    }
}

#[test]
fn data_in_the_kernel_queue_when_the_reset_arrives() {
    // Documented Linux behaviour: bytes that reached the client's receive
    // queue before the RST are still readable, so nothing is lost even when
    // the client had not read them yet. (Other systems may discard them.)
    for host in LOOPBACKS {
        let (mut c, go, peer) = write_then_reset_on_go(host, b"queued\nbytes");
        go.send(()).unwrap();
        join(peer);
        let_rst_land();
        assert_eq!(c.buffered(), 0, "the client has not read anything yet");
        let mut got = Vec::new();
        loop {
            match c.receive_all(LONG) {
                Ok(b) => got.extend_from_slice(b),
                Err(Error::Disconnected) => break,
                Err(e) => panic!("{host}: {e:?}"),
            }
        }
        assert_eq!(got, b"queued\nbytes", "{host}");
        assert!(!c.is_open());
    }
}

/// A peer that accepts and resets at once: the reset often lands before
/// `connect` has looked at the socket's error. Either way the program gets
/// a client whose first receive reports the end, never a connect error
/// (the handshake succeeded: nothing refused the connection).
#[test]
fn a_reset_right_after_accept_is_a_connection_that_ended() {
    for host in LOOPBACKS {
        let (listener, port) = listen(host);
        let rounds = 200;
        // A blocking accept (bounded: SO_RCVTIMEO applies to it), so the
        // reset follows the handshake as closely as it can.
        SockRef::from(&listener)
            .set_read_timeout(Some(BOUND))
            .unwrap();
        let peer = thread::spawn(move || {
            for _ in 0..rounds {
                reset(listener.accept().expect("accept within BOUND").0);
            }
        });
        for i in 0..rounds {
            let mut c = Client::connect(host, port)
                .unwrap_or_else(|e| panic!("{host}: connect {i} failed: {e}"));
            assert_eq!(c.peer_port(), port);
            let err = c.receive_all(LONG).unwrap_err();
            assert!(err.is_disconnected(), "{host}: {err:?}");
            assert!(!c.is_open());
        }
        peer.join().unwrap();
    }
}

/// A stream its peer reset before it was handed to `from_tcp_stream` is
/// still a client: what the peer sent, then the end.
#[test]
fn a_stream_reset_before_it_is_wrapped_still_delivers_what_came() {
    use renoise_socket::{ClientBuilder, Mode};
    for host in LOOPBACKS {
        let (listener, _) = listen(host);
        let mut peer = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let stream = accept(&listener);
        peer.write_all(&[b'x'; 10_000]).unwrap();
        reset(peer);
        let_rst_land();
        let mut c = ClientBuilder::new().from_tcp_stream(stream).unwrap();
        assert_eq!(c.peer_port(), 0, "{host}");
        assert!(c.peer_addr().ip().is_unspecified(), "{host}");
        let mut got = 0;
        loop {
            match c.receive(Mode::All, BOUND) {
                Ok(d) => got += d.len(),
                Err(Error::Disconnected) => break,
                Err(e) => panic!("{host}: {e}"),
            }
        }
        assert_eq!(got, 10_000, "{host}");
        assert!(!c.is_open());
    }
}

/// ... but a socket that never connected is refused, as before.
#[test]
fn a_stream_that_never_connected_is_not_wrapped() {
    use renoise_socket::ClientBuilder;
    use std::os::fd::{FromRawFd, IntoRawFd};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    // A listening socket handed over as if it were a connection.
    let stream = unsafe { TcpStream::from_raw_fd(listener.into_raw_fd()) };
    let err = ClientBuilder::new().from_tcp_stream(stream).unwrap_err();
    assert!(err.to_string().contains("not connected"), "{err}");
    let never = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    assert!(ClientBuilder::new().from_tcp_stream(never.into()).is_err());
}
