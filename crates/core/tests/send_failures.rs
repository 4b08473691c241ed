//! TCP send failures: a peer that closed (`Error::Disconnected`, the client
//! closes for sending, no SIGPIPE, what the peer sent before stays
//! readable, then the end is reported once), a peer that never reads (a big send fails after the
//! send timeout with `Error::SendStalled` and closes; a send that cannot
//! write a single byte fails with `Error::Timeout` and the socket stays
//! open and consistent).
//!
//! SIGPIPE cannot be observed here: the test harness ignores it. The Lua
//! suite runs the "send to a closed peer" case under a real `lua` binary,
//! where SIGPIPE would kill the interpreter.

mod common;

use common::*;
use renoise_socket::{Client, ClientBuilder, Error};
use socket2::SockRef;
use std::io::Read;
use std::net::TcpStream;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// Sends 1 KiB messages (at most `max`, pausing between them) until one
/// fails; returns the error and how many succeeded.
fn send_until_error(c: &mut Client, max: usize) -> (Error, usize) {
    let msg = [b'z'; 1024];
    for i in 0..max {
        match c.send(&msg) {
            Ok(()) => thread::sleep(ms(5)),
            Err(e) => return (e, i),
        }
    }
    panic!("{max} sends to a closed peer all succeeded");
}

#[test]
fn send_to_a_peer_that_closed() {
    for host in LOOPBACKS {
        let (listener, port) = listen(host);
        let peer = serve_one(listener, drop);
        let mut c = Client::connect(host, port).unwrap();
        join(peer);
        let (err, ok) = send_until_error(&mut c, 200);
        assert!(matches!(err, Error::Disconnected), "{host}: {err:?}");
        assert_eq!(err.to_string(), "disconnected");
        // The first send after the FIN is accepted by the kernel (the peer
        // answers it with RST); it must fail within a few sends.
        assert!(ok <= 3, "{host}: {ok} sends succeeded first");
        assert!(!c.is_open());
        assert!(matches!(c.send(b"again"), Err(Error::Closed)));
        // Nothing was unread: the socket went at once, and the next
        // receive reports the end, as it would after unread bytes.
        assert!(c.can_receive(), "{host}");
        assert!(c.receive_buffered(renoise_socket::Mode::Line).is_none());
        assert_end_then_closed(&mut c, host);
    }
}

/// The receive after the peer's last bytes reports the end, once; the
/// client is closed from then on.
fn assert_end_then_closed(c: &mut Client, host: &str) {
    assert!(c.receive_all(LONG).unwrap_err().is_disconnected(), "{host}");
    assert!(!c.can_receive(), "{host}");
    assert!(matches!(c.receive_all(LONG), Err(Error::Closed)), "{host}");
}

#[test]
fn what_a_peer_sent_before_it_closed_is_received_after_a_send_found_it_gone() {
    for host in LOOPBACKS {
        let (listener, port) = listen(host);
        let peer = serve_one(listener, |mut s| {
            std::io::Write::write_all(&mut s, b"HTTP/1.0 413 Too Large\r\n\r\nno").unwrap();
        });
        let mut c = Client::connect(host, port).unwrap();
        join(peer);
        let (err, _) = send_until_error(&mut c, 200);
        assert!(matches!(err, Error::Disconnected), "{host}: {err:?}");
        assert!(!c.is_open(), "{host}: closed for sending");
        assert!(matches!(c.send(b"again"), Err(Error::Closed)), "{host}");
        assert!(c.can_receive(), "{host}");
        assert_eq!(c.receive_line(LONG).unwrap(), b"HTTP/1.0 413 Too Large");
        assert_eq!(c.receive_line(LONG).unwrap(), b"");
        assert_eq!(c.receive_all(LONG).unwrap(), b"no");
        assert_end_then_closed(&mut c, host);
    }
}

#[test]
fn send_to_a_peer_that_reset() {
    for host in LOOPBACKS {
        let (listener, port) = listen(host);
        // The reset waits for the connect to have returned: one landing
        // while connect checks the socket's error makes connect fail.
        let (go, wait) = mpsc::channel::<()>();
        let peer = serve_one(listener, move |s| {
            let _ = wait.recv_timeout(LONG);
            SockRef::from(&s).set_linger(Some(Duration::ZERO)).unwrap();
        });
        let mut c = Client::connect(host, port).unwrap();
        go.send(()).unwrap();
        join(peer);
        thread::sleep(ms(50));
        let (err, ok) = send_until_error(&mut c, 200);
        assert!(matches!(err, Error::Disconnected), "{host}: {err:?}");
        assert_eq!(ok, 0, "{host}: the reset was already known");
        assert!(!c.is_open());
    }
}

#[test]
fn a_send_that_closes_the_client_frees_its_buffer_only_at_the_next_call() {
    // A binding may still be copying the bytes the last receive handed out
    // when a send runs (a Lua finalizer): the send never frees them, the
    // next call on the closed client does.
    let (listener, port) = listen("127.0.0.1");
    let (go, wait) = mpsc::channel::<()>();
    let peer = serve_one(listener, move |mut s| {
        std::io::Write::write_all(&mut s, b"hello\n").unwrap();
        let _ = wait.recv_timeout(LONG);
        SockRef::from(&s).set_linger(Some(Duration::ZERO)).unwrap();
    });
    let mut c = Client::connect("127.0.0.1", port).unwrap();
    assert_eq!(c.receive_line(LONG).unwrap(), b"hello");
    let held = c.buffer_capacity();
    assert!(held > 0);
    go.send(()).unwrap();
    join(peer);
    thread::sleep(ms(50));
    let (err, _) = send_until_error(&mut c, 200);
    assert!(matches!(err, Error::Disconnected), "{err:?}");
    assert!(!c.is_open());
    assert_eq!(c.buffer_capacity(), held, "the send freed the buffer");
    assert!(c.receive_line(LONG).is_err());
    assert_eq!(c.buffer_capacity(), 0);
}

#[test]
fn receive_then_send_after_peer_closed() {
    // Seeing the end of stream closes the client; a send after it is a use
    // of a closed client, not a new network error.
    let (listener, port) = listen("127.0.0.1");
    let peer = serve_one(listener, drop);
    let mut c = Client::connect("127.0.0.1", port).unwrap();
    join(peer);
    assert!(matches!(c.receive_all(LONG), Err(Error::Disconnected)));
    assert!(matches!(c.send(b"x"), Err(Error::Closed)));
}

/// A client of `host:port` with a fixed send buffer of `bytes` (no
/// autotuning up to 4 MiB, so the pipe fills when a test needs it to) and
/// the send timeout `timeout`.
fn with_send_buffer(host: &str, port: u16, bytes: usize, timeout: Duration) -> Client {
    let stream = TcpStream::connect((host, port)).unwrap();
    SockRef::from(&stream).set_send_buffer_size(bytes).unwrap();
    ClientBuilder::new()
        .send_timeout(Some(timeout))
        .from_tcp_stream(stream)
        .unwrap()
}

#[test]
fn peer_that_never_reads_stalls_a_big_send() {
    for host in LOOPBACKS {
        let (port, go, peer) = lazy_reader(host);
        let mut c = ClientBuilder::new()
            .send_timeout(Some(ms(300)))
            .connect(host, port)
            .unwrap();
        let big = vec![7u8; 64 << 20];
        let start = Instant::now();
        let err = c.send(&big).expect_err("64 MiB cannot fit in the pipe");
        let took = start.elapsed();
        let written = match err {
            Error::SendStalled { written, total } => {
                assert_eq!(total, big.len());
                assert!(written > 0 && written < total, "{written} of {total}");
                written
            }
            ref other => panic!("{host}: expected SendStalled, got {other:?}"),
        };
        assert!(err.to_string().contains("stalled"), "{err}");
        assert!(took >= ms(280), "{host}: gave up after {took:?}");
        assert!(took < Duration::from_secs(5), "{host}: took {took:?}");
        assert!(!c.is_open(), "a half-sent message closes the socket");
        assert!(matches!(c.send(b"x"), Err(Error::Closed)));
        // What the peer gets is exactly the part reported as written.
        go.send(()).unwrap();
        let got = join(peer);
        assert_eq!(got.len(), written, "{host}");
        assert!(got.iter().all(|&b| b == 7));
    }
}

/// A peer that reads slowly but never stops makes progress, and a send to
/// it does not stall: Linux lets a blocked writer go on only once a third
/// of its send buffer has drained, which this reader (4 KiB every 10 ms
/// against a 512 KiB buffer: about 0.4 s) takes longer than the send
/// timeout to do, but every read lets the peer acknowledge more.
#[test]
fn a_slow_reader_that_keeps_reading_is_progress() {
    thread::scope(|scope| {
        for host in LOOPBACKS {
            scope.spawn(move || {
                let (listener, port) = listen(host);
                SockRef::from(&listener).set_recv_buffer_size(4096).unwrap();
                let peer = serve_one(listener, |mut s: TcpStream| {
                    s.set_read_timeout(Some(BOUND)).unwrap();
                    let mut got = Vec::new();
                    let mut chunk = [0u8; 4096];
                    loop {
                        match s.read(&mut chunk) {
                            Ok(0) => return got,
                            Ok(n) => got.extend_from_slice(&chunk[..n]),
                            Err(e) => panic!("the reader: {e}"),
                        }
                        thread::sleep(ms(10));
                    }
                });
                // The kernel doubles the buffer to 512 KiB.
                let mut c = with_send_buffer(host, port, 256 << 10, ms(150));
                let data: Vec<u8> = (0..768u32 << 10).map(|i| (i % 251) as u8).collect();
                if let Err(e) = c.send(&data) {
                    panic!("{host}: the peer never stopped reading, yet {e}");
                }
                c.close();
                assert!(join(peer) == data, "{host}: the peer got other bytes");
            });
        }
    });
}

#[test]
fn full_pipe_with_nothing_written_is_a_timeout_and_stays_open() {
    for host in LOOPBACKS {
        let (port, go, peer) = lazy_reader(host);
        // A fixed send buffer (no autotuning up to 4 MiB) keeps the pipe to
        // about 100 KiB, so it fills after a fraction of a second of one-byte
        // sends. (Much smaller buffers make each one-byte send wait for an
        // ACK instead, so the pipe never fills.)
        let mut c = with_send_buffer(host, port, 64 << 10, ms(200));
        // One-byte sends either go in whole or not at all, so the send that
        // finds the pipe full has written nothing.
        let mut sent: Vec<u8> = Vec::new();
        let start = Instant::now();
        let err = loop {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "{host}: the pipe never filled ({} bytes)",
                sent.len()
            );
            let b = (sent.len() % 251) as u8;
            match c.send(&[b]) {
                Ok(()) => sent.push(b),
                Err(e) => break e,
            }
        };
        assert!(matches!(err, Error::Timeout), "{host}: {err:?}");
        assert_eq!(err.to_string(), "timeout");
        assert!(c.is_open(), "nothing was written: the stream is intact");
        // The client keeps working once the peer reads again.
        go.send(()).unwrap();
        let tail = b"and the rest";
        c.send(tail).unwrap();
        sent.extend_from_slice(tail);
        c.close();
        let got = join(peer);
        assert_eq!(got.len(), sent.len(), "{host}");
        assert!(got == sent, "{host}: the byte stream differs");
    }
}
